namespace Berth.SystemServices;

/// <summary>
/// The main every system service shares: --help prints the usage, a bad command line is reported
/// and exits 2, and SIGTERM/SIGINT end the daemon through <see cref="ServiceShutdown"/>.
/// </summary>
public static class ServiceEntry
{
    public static int Run<TOptions>(string name, string[] args, string usage, Func<string[], TOptions> parse,
        Func<TOptions, ServiceShutdown, int> run)
    {
        ServiceLog.Init(name);
        if (args is ["--help" or "-h"])
        {
            System.Console.WriteLine(usage);
            return 0;
        }
        TOptions options;
        try { options = parse(args); }
        catch (UsageException e)
        {
            ServiceLog.Error(e.Message);
            System.Console.Error.WriteLine(usage);
            return 2;
        }
        using var shutdown = new ServiceShutdown();
        return run(options, shutdown);
    }
}
