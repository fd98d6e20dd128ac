namespace Berth.SystemServices.Power;

/// <summary>The <c>acpid</c> entry point.</summary>
public static class AcpidEntry
{
    public static int Run(string[] args)
    {
        ServiceLog.Init("acpid");
        if (args is ["--help" or "-h"])
        {
            System.Console.WriteLine(AcpidOptions.Usage);
            return 0;
        }
        AcpidOptions options;
        try { options = AcpidOptions.FromArguments(args); }
        catch (UsageException e)
        {
            ServiceLog.Error(e.Message);
            System.Console.Error.WriteLine(AcpidOptions.Usage);
            return 2;
        }
        using var shutdown = new ServiceShutdown();
        return new AcpidDaemon(options).Run(shutdown);
    }
}
