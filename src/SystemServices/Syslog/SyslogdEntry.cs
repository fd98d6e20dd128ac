namespace Berth.SystemServices.Syslog;

/// <summary>The <c>syslogd</c> entry point.</summary>
public static class SyslogdEntry
{
    public static int Run(string[] args)
    {
        ServiceLog.Init("syslogd");
        if (args is ["--help" or "-h"])
        {
            System.Console.WriteLine(SyslogdOptions.Usage);
            return 0;
        }
        SyslogdOptions options;
        try { options = SyslogdOptions.FromArguments(args); }
        catch (UsageException e)
        {
            ServiceLog.Error(e.Message);
            System.Console.Error.WriteLine(SyslogdOptions.Usage);
            return 2;
        }
        using var shutdown = new ServiceShutdown();
        return new SyslogDaemon(options).Run(shutdown);
    }
}
