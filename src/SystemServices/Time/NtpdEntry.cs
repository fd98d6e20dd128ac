namespace Berth.SystemServices.Time;

/// <summary>The <c>ntpd</c> entry point.</summary>
public static class NtpdEntry
{
    public static int Run(string[] args) =>
        ServiceEntry.Run("ntpd", args, NtpdOptions.Usage, NtpdOptions.FromArguments, (o, shutdown) =>
        {
            IClockAdjuster clock = o.DryRun ? new DryRunClockAdjuster() : new KernelClockAdjuster();
            return new NtpDaemon(o, clock).Run(shutdown);
        });
}
