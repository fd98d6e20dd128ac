namespace Berth.SystemServices.Network;

/// <summary>The <c>netconf</c> entry point.</summary>
public static class NetconfEntry
{
    public static int Run(string[] args) =>
        ServiceEntry.Run("netconf", args, NetconfOptions.Usage, NetconfOptions.FromArguments, (o, shutdown) => new NetconfDaemon(o).Run(shutdown));
}
