using System.Diagnostics;
using System.Text.Json;
using Berth.Runtime.Interop;
using Xunit;
using Xunit.Abstractions;

namespace Berth.Tests.Host.SystemServices;

/// <summary>
/// Two network namespaces joined by a veth pair: dnsmasq serves DHCP on one end, netconf runs on the
/// other (eth0). Nothing touches the host's own network; the namespaces go at the end.
/// </summary>
public sealed class DhcpNetwork : IDisposable
{
    private static int _counter;
    private readonly Process _dnsmasq;
    public TempDir Dir { get; } = new();
    public string Server { get; }
    public string Client { get; }

    public DhcpNetwork(int renewSeconds)
    {
        string id = $"{Environment.ProcessId}-{Interlocked.Increment(ref _counter)}";
        Server = $"berth-t-dhcps-{id}";
        Client = $"berth-t-dhcpc-{id}";
        string dnsmasq = HostRun.Which("/usr/sbin/dnsmasq");
        Ip("netns", "add", Server);
        Ip("netns", "add", Client);
        Ip("link", "add", "vs0", "netns", Server, "type", "veth", "peer", "name", "eth0", "netns", Client);
        Ip("-n", Server, "addr", "add", "192.168.77.1/24", "dev", "vs0");
        Ip("-n", Server, "link", "set", "vs0", "up");
        var psi = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[]
        {
            "netns", "exec", Server, dnsmasq, "--no-daemon", "--conf-file=/dev/null", "--port=0", "--interface=vs0", "--bind-interfaces",
            "--dhcp-range=192.168.77.50,192.168.77.60,255.255.255.0,2m", "--dhcp-option=option:router,192.168.77.1",
            "--dhcp-option=option:dns-server,192.168.77.53", "--domain=test.example", $"--dhcp-option=option:T1,{renewSeconds}",
            $"--dhcp-leasefile={Dir["leases"]}", "--pid-file=", "--log-dhcp",
        }) psi.ArgumentList.Add(a);
        _dnsmasq = Process.Start(psi)!;
        _dnsmasq.BeginErrorReadLine();
        _dnsmasq.BeginOutputReadLine();
    }

    public static void Ip(params string[] args)
    {
        var r = HostRun.Tool("ip", args);
        Assert.True(r.Exit == 0, $"ip {string.Join(' ', args)}: {r.Stderr}");
    }

    public string InClient(params string[] args) => HostRun.Tool("ip", ["-n", Client, .. args]).Stdout;

    public void Dispose()
    {
        if (!_dnsmasq.HasExited) _dnsmasq.Kill();
        _dnsmasq.WaitForExit(5000);
        _dnsmasq.Dispose();
        HostRun.Tool("ip", "netns", "del", Server);
        HostRun.Tool("ip", "netns", "del", Client);
        Dir.Dispose();
    }
}

public sealed class NetconfTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static ServiceProcess NetconfIn(DhcpNetwork net, params string[] args) =>
        ServiceProcess.Command("ip", ["netns", "exec", net.Client, ServiceProcess.BinaryPath("netconf"),
            "--resolv-conf", net.Dir["resolv.conf"], "--status", net.Dir["status"], .. args]);

    [Fact]
    public void Once_gets_a_lease_and_configures_address_route_and_resolv_conf()
    {
        using var net = new DhcpNetwork(renewSeconds: 60);
        using var netconf = NetconfIn(net, "--once", "--timeout", "20s");
        Assert.True(0 == netconf.WaitForExit(Timeout), netconf.Stderr);
        output.WriteLine(netconf.Stderr);

        string addr = net.InClient("-4", "addr", "show", "eth0");
        Assert.Matches(@"inet 192\.168\.77\.(5\d|60)/24 brd 192\.168\.77\.255", addr);
        Assert.Contains("valid_lft 1", addr, StringComparison.Ordinal); // the lease (120 s) is the address's lifetime
        Assert.Contains("state UP", net.InClient("link", "show", "eth0"), StringComparison.Ordinal);
        Assert.Matches(@"default via 192\.168\.77\.1 dev eth0 proto dhcp", net.InClient("route"));
        Assert.Equal("# written by berth netconf from the DHCP lease\nsearch test.example\nnameserver 192.168.77.53\n",
            File.ReadAllText(net.Dir["resolv.conf"]));
        var status = JsonDocument.Parse(File.ReadAllText(net.Dir["status"])).RootElement;
        Assert.Equal("eth0", status.GetProperty("interface").GetString());
        Assert.Equal(120, status.GetProperty("lease_seconds").GetDouble());
    }

    [Fact]
    public void The_daemon_picks_the_first_ethernet_and_renews_at_t1()
    {
        using var net = new DhcpNetwork(renewSeconds: 3);
        using var netconf = NetconfIn(net);
        Assert.True(HostRun.Until(() => netconf.Stderr.Contains("renewed", StringComparison.Ordinal), Timeout), netconf.Stderr);
        output.WriteLine(netconf.Stderr);
        Assert.Contains("eth0 is up", netconf.Stderr, StringComparison.Ordinal);
        Assert.Matches(@"inet 192\.168\.77\.(5\d|60)/24", net.InClient("-4", "addr", "show", "eth0"));
        output.WriteLine($"RSS netconf idle: {netconf.RssKiB()} KiB");
        netconf.Signal(Consts.SIGTERM);
        Assert.Equal(0, netconf.WaitForExit(TimeSpan.FromSeconds(10)));
        // The configuration stays after a clean stop.
        Assert.Matches(@"inet 192\.168\.77\.(5\d|60)/24", net.InClient("-4", "addr", "show", "eth0"));
    }
}
