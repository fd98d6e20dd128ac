namespace Berth.SystemServices.Time;

/// <summary>The <c>ntpd</c> entry point.</summary>
public static class NtpdEntry
{
    public static int Run(string[] args)
    {
        ServiceLog.Init("ntpd");
        if (args is ["--help" or "-h"])
        {
            System.Console.WriteLine(NtpdOptions.Usage);
            return 0;
        }
        NtpdOptions options;
        try { options = NtpdOptions.FromArguments(args); }
        catch (UsageException e)
        {
            ServiceLog.Error(e.Message);
            System.Console.Error.WriteLine(NtpdOptions.Usage);
            return 2;
        }
        using var shutdown = new ServiceShutdown();
        IClockAdjuster clock = options.DryRun ? new DryRunClockAdjuster() : new KernelClockAdjuster();
        return new NtpDaemon(options, clock).Run(shutdown);
    }
}
