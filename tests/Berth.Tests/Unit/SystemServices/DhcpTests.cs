using System.Net;
using Berth.SystemServices.Network;
using Xunit;

namespace Berth.Tests.Unit.SystemServices;

public class DhcpMessageTests
{
    private static readonly byte[] Mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

    [Fact]
    public void Request_layout_follows_rfc_2131()
    {
        var m = new DhcpMessage { TransactionId = 0xDEADBEEF, HardwareAddress = Mac };
        m.Options[DhcpMessage.OptMessageType] = [(byte)DhcpMessageType.Discover];
        m.Options[DhcpMessage.OptParameters] = [1, 3, 6];
        var b = m.ToBytes();
        Assert.Equal(300, b.Length);
        Assert.Equal(new byte[] { 1, 1, 6, 0, 0xDE, 0xAD, 0xBE, 0xEF, 0, 0, 0x80, 0 }, b[..12]); // op, htype, hlen, hops, xid, secs, broadcast flag
        Assert.Equal(Mac, b[28..34]);
        Assert.Equal(new byte[] { 99, 130, 83, 99 }, b[236..240]);
        Assert.Equal(new byte[] { 53, 1, 1, 55, 3, 1, 3, 6, 255 }, b[240..249]); // message type first, then the rest, then end
    }

    [Fact]
    public void Parses_an_ack_with_split_options_and_padding()
    {
        var ack = new DhcpMessage
        {
            Op = 2,
            TransactionId = 7,
            YourAddress = IPAddress.Parse("10.0.2.15"),
            HardwareAddress = Mac,
        };
        ack.Options[DhcpMessage.OptMessageType] = [(byte)DhcpMessageType.Ack];
        var bytes = ack.ToBytes().ToList();
        int end = bytes.IndexOf(255, 240);
        // DNS in two pieces (RFC 3396) and a pad byte between.
        bytes.InsertRange(end, new byte[] { 6, 4, 10, 0, 2, 3, 0, 6, 4, 8, 8, 8, 8 });
        var parsed = DhcpMessage.TryParse(bytes.ToArray())!;
        Assert.Equal(DhcpMessageType.Ack, parsed.Type);
        Assert.Equal(7u, parsed.TransactionId);
        Assert.Equal(Mac, parsed.HardwareAddress);
        Assert.Equal([IPAddress.Parse("10.0.2.3"), IPAddress.Parse("8.8.8.8")], parsed.Addresses(DhcpMessage.OptDns));
    }

    [Fact]
    public void Rejects_short_messages() => Assert.Null(DhcpMessage.TryParse(new DhcpMessage().ToBytes()[..239]));

    [Fact]
    public void Rejects_messages_without_the_magic_cookie()
    {
        var b = new DhcpMessage().ToBytes();
        b[236] = 0;
        Assert.Null(DhcpMessage.TryParse(b));
    }

    private static DhcpMessage Ack(Action<Dictionary<int, byte[]>> options)
    {
        var m = new DhcpMessage { Op = 2, YourAddress = IPAddress.Parse("192.168.1.20"), ServerAddress = IPAddress.Parse("192.168.1.1") };
        m.Options[DhcpMessage.OptMessageType] = [(byte)DhcpMessageType.Ack];
        options(m.Options);
        return DhcpMessage.TryParse(m.ToBytes())!;
    }

    [Fact]
    public void Lease_from_an_ack_with_every_option()
    {
        var lease = DhcpLease.From(Ack(o =>
        {
            o[DhcpMessage.OptSubnetMask] = [255, 255, 255, 0];
            o[DhcpMessage.OptRouter] = [192, 168, 1, 1, 192, 168, 1, 2];
            o[DhcpMessage.OptDns] = [1, 1, 1, 1];
            o[DhcpMessage.OptDomain] = "lan"u8.ToArray();
            o[DhcpMessage.OptServerId] = [192, 168, 1, 254];
            o[DhcpMessage.OptLeaseTime] = [0, 0, 0x0E, 0x10];
            o[DhcpMessage.OptRenewalTime] = [0, 0, 0, 100];
        }))!;
        Assert.Equal(IPAddress.Parse("192.168.1.20"), lease.Address);
        Assert.Equal(24, lease.PrefixLength);
        Assert.Equal(IPAddress.Parse("192.168.1.255"), lease.Broadcast);
        Assert.Equal(IPAddress.Parse("192.168.1.1"), lease.Router);
        Assert.Equal(IPAddress.Parse("192.168.1.254"), lease.ServerId);
        Assert.Equal(TimeSpan.FromSeconds(3600), lease.LeaseTime);
        Assert.Equal(TimeSpan.FromSeconds(100), lease.RenewAfter);
        Assert.Equal(TimeSpan.FromSeconds(3150), lease.RebindAfter);
        Assert.Equal("# written by berth netconf from the DHCP lease\nsearch lan\nnameserver 1.1.1.1\n", lease.ResolvConf());
    }

    [Fact]
    public void Lease_defaults_t1_half_t2_seven_eighths_and_server_from_siaddr()
    {
        var lease = DhcpLease.From(Ack(o => o[DhcpMessage.OptLeaseTime] = [0, 0, 0, 80]))!;
        Assert.Equal(TimeSpan.FromSeconds(40), lease.RenewAfter);
        Assert.Equal(TimeSpan.FromSeconds(70), lease.RebindAfter);
        Assert.Equal(IPAddress.Parse("192.168.1.1"), lease.ServerId);
        Assert.Equal(24, lease.PrefixLength); // class C without a mask option
        Assert.Null(lease.Router);
    }

    [Fact]
    public void An_offer_is_not_a_lease() =>
        Assert.Null(DhcpLease.From(Ack(o => o[DhcpMessage.OptMessageType] = [(byte)DhcpMessageType.Offer])));

    [Theory]
    [InlineData("255.255.255.0", 24)]
    [InlineData("255.255.240.0", 20)]
    [InlineData("255.255.255.255", 32)]
    public void Prefix_of_mask(string mask, int prefix) => Assert.Equal(prefix, DhcpLease.PrefixOf(IPAddress.Parse(mask)));
}
