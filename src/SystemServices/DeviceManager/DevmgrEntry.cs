namespace Berth.SystemServices.DeviceManager;

/// <summary>The <c>devmgr</c> entry point.</summary>
public static class DevmgrEntry
{
    public static int Run(string[] args) =>
        ServiceEntry.Run("devmgr", args, DevmgrOptions.Usage, DevmgrOptions.FromArguments, (o, shutdown) => new DevmgrDaemon(o).Run(shutdown));
}
