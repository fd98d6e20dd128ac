using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace Berth.SystemServices.Network;

public enum DhcpMessageType : byte { Discover = 1, Offer = 2, Request = 3, Decline = 4, Ack = 5, Nak = 6, Release = 7, Inform = 8 }

/// <summary>A BOOTP/DHCP message (RFC 2131 §2) with its options (RFC 2132), the parts a client uses.</summary>
public sealed record DhcpMessage
{
    public const int OptSubnetMask = 1, OptRouter = 3, OptDns = 6, OptHostname = 12, OptDomain = 15, OptBroadcast = 28,
        OptRequestedIp = 50, OptLeaseTime = 51, OptMessageType = 53, OptServerId = 54, OptParameters = 55,
        OptRenewalTime = 58, OptRebindingTime = 59, OptClientId = 61, OptEnd = 255, OptPad = 0;
    private const uint MagicCookie = 0x63825363;
    private const ushort BroadcastFlag = 0x8000;

    public byte Op { get; init; } = 1; // BOOTREQUEST
    public uint TransactionId { get; init; }
    public ushort Seconds { get; init; }
    /// <summary>Asks the server to broadcast its answer: a client without an address cannot take unicast.</summary>
    public bool Broadcast { get; init; } = true;
    public IPAddress ClientAddress { get; init; } = IPAddress.Any;
    public IPAddress YourAddress { get; init; } = IPAddress.Any;
    public IPAddress ServerAddress { get; init; } = IPAddress.Any;
    public byte[] HardwareAddress { get; init; } = new byte[6];
    public Dictionary<int, byte[]> Options { get; init; } = new();

    public DhcpMessageType? Type => Options.TryGetValue(OptMessageType, out var v) && v.Length == 1 ? (DhcpMessageType)v[0] : null;

    public IPAddress? Address(int option) => Options.TryGetValue(option, out var v) && v.Length >= 4 ? new IPAddress(v.AsSpan(0, 4)) : null;

    public IReadOnlyList<IPAddress> Addresses(int option) =>
        Options.TryGetValue(option, out var v) ? Enumerable.Range(0, v.Length / 4).Select(i => new IPAddress(v.AsSpan(i * 4, 4))).ToList() : [];

    public uint? Seconds32(int option) => Options.TryGetValue(option, out var v) && v.Length == 4 ? BinaryPrimitives.ReadUInt32BigEndian(v) : null;

    public string? Text(int option) => Options.TryGetValue(option, out var v) ? Encoding.ASCII.GetString(v).TrimEnd('\0') : null;

    public byte[] ToBytes()
    {
        var b = new List<byte>(300);
        var fixedPart = new byte[240];
        fixedPart[0] = Op;
        fixedPart[1] = 1; // htype ethernet
        fixedPart[2] = 6; // hlen
        BinaryPrimitives.WriteUInt32BigEndian(fixedPart.AsSpan(4), TransactionId);
        BinaryPrimitives.WriteUInt16BigEndian(fixedPart.AsSpan(8), Seconds);
        BinaryPrimitives.WriteUInt16BigEndian(fixedPart.AsSpan(10), Broadcast ? BroadcastFlag : (ushort)0);
        ClientAddress.GetAddressBytes().CopyTo(fixedPart, 12);
        YourAddress.GetAddressBytes().CopyTo(fixedPart, 16);
        ServerAddress.GetAddressBytes().CopyTo(fixedPart, 20);
        HardwareAddress.AsSpan(0, Math.Min(16, HardwareAddress.Length)).CopyTo(fixedPart.AsSpan(28));
        BinaryPrimitives.WriteUInt32BigEndian(fixedPart.AsSpan(236), MagicCookie);
        b.AddRange(fixedPart);
        // Message type first: some servers look for it there.
        foreach (var (code, value) in Options.OrderBy(o => o.Key == OptMessageType ? -1 : o.Key))
        {
            b.Add((byte)code);
            b.Add((byte)value.Length);
            b.AddRange(value);
        }
        b.Add(OptEnd);
        while (b.Count < 300) b.Add(0); // BOOTP's minimum; some relays drop shorter messages
        return b.ToArray();
    }

    public static DhcpMessage? TryParse(ReadOnlySpan<byte> b)
    {
        if (b.Length < 240 || BinaryPrimitives.ReadUInt32BigEndian(b[236..]) != MagicCookie || b[1] != 1 || b[2] != 6) return null;
        var options = new Dictionary<int, byte[]>();
        int i = 240;
        while (i < b.Length)
        {
            byte code = b[i++];
            if (code == OptPad) continue;
            if (code == OptEnd) break;
            if (i >= b.Length) return null;
            int len = b[i++];
            if (i + len > b.Length) return null;
            // RFC 3396: a repeated option continues the first.
            options[code] = options.TryGetValue(code, out var prev) ? [.. prev, .. b.Slice(i, len)] : b.Slice(i, len).ToArray();
            i += len;
        }
        return new DhcpMessage
        {
            Op = b[0],
            TransactionId = BinaryPrimitives.ReadUInt32BigEndian(b[4..]),
            Seconds = BinaryPrimitives.ReadUInt16BigEndian(b[8..]),
            Broadcast = (BinaryPrimitives.ReadUInt16BigEndian(b[10..]) & BroadcastFlag) != 0,
            ClientAddress = new IPAddress(b.Slice(12, 4)),
            YourAddress = new IPAddress(b.Slice(16, 4)),
            ServerAddress = new IPAddress(b.Slice(20, 4)),
            HardwareAddress = b.Slice(28, 6).ToArray(),
            Options = options,
        };
    }
}
