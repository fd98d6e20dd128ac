using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Berth.Runtime.Linux;

namespace Berth.SystemServices.Network;

/// <summary>
/// netconf: the first ethernet up, a DHCPv4 lease on it, and the lease kept: renew from T1, rebind
/// from T2, start over when it runs out (the kernel drops the address then by itself: it carries
/// the lease as its lifetime).
/// </summary>
public sealed class NetconfDaemon
{
    private static readonly TimeSpan MinRetry = TimeSpan.FromSeconds(60);

    private readonly NetconfOptions _options;

    public NetconfDaemon(NetconfOptions options) => _options = options;

    public int Run(ServiceShutdown shutdown)
    {
        // At boot the network driver loads after the services start (coldplug runs off the boot
        // path): wait for the interface rather than fail into the supervisor's crash-loop hold-off.
        string? iface = _options.Interface ?? EthernetInterfaces.First();
        var waited = Stopwatch.StartNew();
        bool said = false;
        while (iface is null || !Directory.Exists($"/sys/class/net/{iface}"))
        {
            if (_options.Once && waited.Elapsed > _options.Timeout) break;
            if (!said && waited.Elapsed > TimeSpan.FromSeconds(2))
            {
                ServiceLog.Info(iface is null ? "waiting for an ethernet interface" : $"waiting for {iface}");
                said = true;
            }
            if (shutdown.Token.WaitHandle.WaitOne(200)) return 0;
            iface = _options.Interface ?? EthernetInterfaces.First();
        }
        if (iface is null)
        {
            ServiceLog.Error("no ethernet interface");
            return 1;
        }
        int ifIndex;
        byte[] mac;
        try
        {
            ifIndex = RouteNetlink.InterfaceIndex(iface);
            mac = EthernetInterfaces.HardwareAddress(iface);
            NetworkInterfaces.SetUp(iface);
        }
        catch (IOException e)
        {
            ServiceLog.Error($"{iface}: {e.Message}");
            return 1;
        }
        ServiceLog.Info($"{iface} is up; asking for a DHCP lease");

        using var socket = new DhcpSocket(iface);
        using var netlink = new RouteNetlink();
        var client = new DhcpClient(socket, mac, _options.Hostname);
        var cancel = shutdown.Token;
        DhcpLease? current = null;
        while (!cancel.IsCancellationRequested)
        {
            var lease = client.Acquire(_options.Once ? _options.Timeout : TimeSpan.FromMinutes(5), cancel);
            if (lease is null)
            {
                if (_options.Once || cancel.IsCancellationRequested) break;
                continue;
            }
            long obtained = Stopwatch.GetTimestamp();
            if (!Apply(netlink, iface, ifIndex, current, lease)) return 1;
            current = lease;
            if (_options.Once) return 0;

            // BOUND → RENEWING → REBINDING; leaving the loop means the lease is gone.
            while (!cancel.IsCancellationRequested)
            {
                var age = Stopwatch.GetElapsedTime(obtained);
                if (age >= current.LeaseTime)
                {
                    ServiceLog.Warn($"lease of {current.Address} ran out; starting over");
                    try { netlink.DeleteAddress(ifIndex, current.Address, current.PrefixLength); } catch (IOException) { }
                    current = null;
                    break;
                }
                bool rebinding = age >= current.RebindAfter;
                var nextStage = age < current.RenewAfter ? current.RenewAfter : rebinding ? current.LeaseTime : current.RebindAfter;
                if (age < current.RenewAfter)
                {
                    if (cancel.WaitHandle.WaitOne(current.RenewAfter - age)) break;
                    continue;
                }
                // RFC 2131 §4.4.5: retry at half the time left to the next stage, not below a minute.
                var wait = TimeSpan.FromSeconds(Math.Max(Math.Min(MinRetry.TotalSeconds, (nextStage - age).TotalSeconds), (nextStage - age).TotalSeconds / 2));
                DhcpLease? renewed;
                long asked = Stopwatch.GetTimestamp();
                try { renewed = client.Renew(current, rebinding, TimeSpan.FromSeconds(4), cancel); }
                catch (DhcpNakException e)
                {
                    ServiceLog.Warn(e.Message + "; starting over");
                    try { netlink.DeleteAddress(ifIndex, current.Address, current.PrefixLength); } catch (IOException) { }
                    current = null;
                    break;
                }
                if (renewed is not null && renewed.Address.Equals(current.Address))
                {
                    ServiceLog.Info($"{(rebinding ? "rebound" : "renewed")} {renewed.Address} for {renewed.LeaseTime.TotalSeconds:0}s");
                    if (!Apply(netlink, iface, ifIndex, current, renewed)) return 1;
                    current = renewed;
                    obtained = asked;
                    continue;
                }
                var left = wait - Stopwatch.GetElapsedTime(asked);
                if (left > TimeSpan.Zero && cancel.WaitHandle.WaitOne(left)) break;
            }
        }
        return _options.Once ? 1 : 0;
    }

    private bool Apply(RouteNetlink netlink, string iface, int ifIndex, DhcpLease? previous, DhcpLease lease)
    {
        try
        {
            if (previous is not null && !previous.Address.Equals(lease.Address))
                netlink.DeleteAddress(ifIndex, previous.Address, previous.PrefixLength);
            netlink.SetAddress(ifIndex, lease.Address, lease.PrefixLength, lease.Broadcast, lease.LeaseTime);
            if (lease.Router is { } router) netlink.SetDefaultRoute(ifIndex, router, lease.Address);
        }
        catch (IOException e)
        {
            ServiceLog.Error($"configuring {iface}: {e.Message}");
            return false;
        }
        if (previous is null || !previous.Address.Equals(lease.Address))
            ServiceLog.Info($"{iface}: {lease.Address}/{lease.PrefixLength} via {lease.Router?.ToString() ?? "(no router)"}, " +
                $"dns {string.Join(' ', lease.DnsServers)}, lease {lease.LeaseTime.TotalSeconds:0}s from {lease.ServerId}");
        try
        {
            if (_options.ResolvConf != "none" && lease.DnsServers.Count > 0)
                Files.WriteAtomically(_options.ResolvConf, Encoding.ASCII.GetBytes(lease.ResolvConf()));
            WriteStatus(iface, lease);
        }
        catch (IOException e) { ServiceLog.Warn(e.Message); }
        return true;
    }

    private void WriteStatus(string iface, DhcpLease lease)
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("interface", iface);
            w.WriteString("address", $"{lease.Address}/{lease.PrefixLength}");
            if (lease.Router is not null) w.WriteString("router", lease.Router.ToString());
            w.WriteStartArray("dns");
            foreach (var d in lease.DnsServers) w.WriteStringValue(d.ToString());
            w.WriteEndArray();
            if (lease.Domain is not null) w.WriteString("domain", lease.Domain);
            w.WriteString("server", lease.ServerId.ToString());
            w.WriteNumber("lease_seconds", lease.LeaseTime.TotalSeconds);
            w.WriteNumber("renew_seconds", lease.RenewAfter.TotalSeconds);
            w.WriteString("obtained", DateTimeOffset.UtcNow.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteEndObject();
        }
        ms.WriteByte((byte)'\n');
        string? dir = Path.GetDirectoryName(Path.GetFullPath(_options.StatusPath));
        if (dir is not null) Files.MakeDirectories(dir);
        Files.WriteAtomically(_options.StatusPath, ms.ToArray());
    }
}
