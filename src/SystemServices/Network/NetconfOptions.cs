namespace Berth.SystemServices.Network;

/// <summary>netconf's settings, all from its command line.</summary>
public sealed record NetconfOptions
{
    public string? Interface { get; init; }
    public string ResolvConf { get; init; } = "/etc/resolv.conf";
    public string StatusPath { get; init; } = "/run/berth/netconf.status";
    public string? Hostname { get; init; }
    public bool Once { get; init; }
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    public const string Usage = """
        usage: netconf [options]

          --interface NAME   the interface (default: the first ethernet, hardware before virtual)
          --resolv-conf PATH where the lease's name servers go (default /etc/resolv.conf; "none" to leave it)
          --status PATH      the lease, JSON (default /run/berth/netconf.status)
          --hostname NAME    sent to the server (option 12; default the kernel's host name)
          --timeout DUR      with --once: give up after this long (default 60s)
          --once             get a lease, configure, exit 0 (1 if none came); no renewal

        Brings the interface up, runs DHCPv4 (broadcast flag, SO_BINDTODEVICE), sets the address
        (with the lease as its lifetime), the default route and resolv.conf through rtnetlink, and
        renews at T1 (unicast), rebinds at T2 (broadcast), starts over when the lease ends.
        SIGTERM/SIGINT: exit 0, the configuration stays.
        """;

    public static NetconfOptions FromArguments(IReadOnlyList<string> args)
    {
        var a = ServiceArguments.Parse(args, ["interface", "resolv-conf", "status", "hostname", "timeout"], ["once"]);
        var d = new NetconfOptions();
        return new NetconfOptions
        {
            Interface = a.Value("interface"),
            ResolvConf = a.Value("resolv-conf", d.ResolvConf),
            StatusPath = a.Value("status", d.StatusPath),
            Hostname = a.Value("hostname") ?? KernelHostname(),
            Once = a.Flag("once"),
            Timeout = a.Duration("timeout", d.Timeout),
        };
    }

    private static string? KernelHostname()
    {
        try { return File.ReadAllText("/proc/sys/kernel/hostname").Trim(); }
        catch (IOException) { return null; }
    }
}
