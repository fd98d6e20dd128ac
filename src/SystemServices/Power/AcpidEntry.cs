namespace Berth.SystemServices.Power;

/// <summary>The <c>acpid</c> entry point.</summary>
public static class AcpidEntry
{
    public static int Run(string[] args) =>
        ServiceEntry.Run("acpid", args, AcpidOptions.Usage, AcpidOptions.FromArguments, (o, shutdown) => new AcpidDaemon(o).Run(shutdown));
}
