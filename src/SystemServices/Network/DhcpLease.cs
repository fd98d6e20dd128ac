using System.Buffers.Binary;
using System.Net;
using System.Numerics;

namespace Berth.SystemServices.Network;

/// <summary>What an ACK gives: address and network, router, DNS, and the times (RFC 2131 §4.4.5).</summary>
public sealed record DhcpLease
{
    public required IPAddress Address { get; init; }
    public required int PrefixLength { get; init; }
    public IPAddress? Router { get; init; }
    public IReadOnlyList<IPAddress> DnsServers { get; init; } = [];
    public string? Domain { get; init; }
    public required IPAddress ServerId { get; init; }
    public required TimeSpan LeaseTime { get; init; }
    /// <summary>T1: renew with the server that gave the lease (default half the lease).</summary>
    public required TimeSpan RenewAfter { get; init; }
    /// <summary>T2: rebind with any server (default 7/8 of the lease).</summary>
    public required TimeSpan RebindAfter { get; init; }

    public IPAddress Broadcast
    {
        get
        {
            uint a = BinaryPrimitives.ReadUInt32BigEndian(Address.GetAddressBytes());
            uint hostMask = PrefixLength >= 32 ? 0 : uint.MaxValue >> PrefixLength;
            var b = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(b, a | hostMask);
            return new IPAddress(b);
        }
    }

    public static DhcpLease? From(DhcpMessage ack)
    {
        if (ack.Type != DhcpMessageType.Ack || ack.YourAddress.Equals(IPAddress.Any)) return null;
        var serverId = ack.Address(DhcpMessage.OptServerId) ?? ack.ServerAddress;
        // A missing lease time is a server bug; an hour keeps the client asking rather than guessing forever.
        uint lease = ack.Seconds32(DhcpMessage.OptLeaseTime) ?? 3600;
        var leaseTime = lease == uint.MaxValue ? TimeSpan.FromDays(365) : TimeSpan.FromSeconds(lease);
        var t1 = ack.Seconds32(DhcpMessage.OptRenewalTime) is { } r ? TimeSpan.FromSeconds(r) : leaseTime / 2;
        var t2 = ack.Seconds32(DhcpMessage.OptRebindingTime) is { } rb ? TimeSpan.FromSeconds(rb) : leaseTime * 7 / 8;
        if (t2 > leaseTime) t2 = leaseTime * 7 / 8;
        if (t1 > t2) t1 = t2 * 4 / 7;
        return new DhcpLease
        {
            Address = ack.YourAddress,
            PrefixLength = ack.Address(DhcpMessage.OptSubnetMask) is { } mask ? PrefixOf(mask) : DefaultPrefix(ack.YourAddress),
            Router = ack.Addresses(DhcpMessage.OptRouter).FirstOrDefault(),
            DnsServers = ack.Addresses(DhcpMessage.OptDns),
            Domain = ack.Text(DhcpMessage.OptDomain) is { Length: > 0 } d ? d : null,
            ServerId = serverId,
            LeaseTime = leaseTime,
            RenewAfter = t1,
            RebindAfter = t2,
        };
    }

    public static int PrefixOf(IPAddress mask) =>
        BitOperations.PopCount(BinaryPrimitives.ReadUInt32BigEndian(mask.GetAddressBytes()));

    private static int DefaultPrefix(IPAddress a) => a.GetAddressBytes()[0] switch { < 128 => 8, < 192 => 16, _ => 24 };

    /// <summary>resolv.conf for this lease: its name servers and search domain.</summary>
    public string ResolvConf()
    {
        var b = new System.Text.StringBuilder("# written by berth netconf from the DHCP lease\n");
        if (Domain is not null) b.Append("search ").Append(Domain).Append('\n');
        foreach (var dns in DnsServers.Take(3)) b.Append("nameserver ").Append(dns).Append('\n');
        return b.ToString();
    }
}
