namespace Berth.SystemServices.Network;

/// <summary>The <c>netconf</c> entry point.</summary>
public static class NetconfEntry
{
    public static int Run(string[] args)
    {
        ServiceLog.Init("netconf");
        if (args is ["--help" or "-h"])
        {
            System.Console.WriteLine(NetconfOptions.Usage);
            return 0;
        }
        NetconfOptions options;
        try { options = NetconfOptions.FromArguments(args); }
        catch (UsageException e)
        {
            ServiceLog.Error(e.Message);
            System.Console.Error.WriteLine(NetconfOptions.Usage);
            return 2;
        }
        using var shutdown = new ServiceShutdown();
        return new NetconfDaemon(options).Run(shutdown);
    }
}
