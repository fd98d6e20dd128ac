using System.Buffers.Binary;
using System.Text;

namespace Berth.SystemServices.Time;

public enum NtpMode { Client = 3, Server = 4, Broadcast = 5 }

/// <summary>The 48-byte NTP header (RFC 5905 §7.3) that SNTP uses; extension fields and MACs are ignored.</summary>
public sealed record NtpPacket
{
    public const int Size = 48;

    /// <summary>0 none, 1 last minute has 61 s, 2 has 59 s, 3 the server's clock is not synchronized.</summary>
    public int Leap { get; init; }
    public int Version { get; init; } = 4;
    public NtpMode Mode { get; init; } = NtpMode.Client;
    /// <summary>0 is a kiss-o'-death (the reason in <see cref="ReferenceId"/>), 1 a primary server, 16 unsynchronized.</summary>
    public int Stratum { get; init; }
    public int Poll { get; init; }
    public int Precision { get; init; }
    /// <summary>Round trip to the primary source, in seconds (NTP short format 16.16).</summary>
    public double RootDelay { get; init; }
    public double RootDispersion { get; init; }
    public uint ReferenceId { get; init; }
    public NtpTimestamp ReferenceTime { get; init; }
    public NtpTimestamp OriginTime { get; init; }
    public NtpTimestamp ReceiveTime { get; init; }
    public NtpTimestamp TransmitTime { get; init; }

    /// <summary>The kiss code of a stratum-0 answer (RATE, DENY, RSTR...), as four ASCII characters.</summary>
    public string KissCode
    {
        get
        {
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(b, ReferenceId);
            return Encoding.ASCII.GetString(b).TrimEnd('\0');
        }
    }

    public static NtpPacket? TryParse(ReadOnlySpan<byte> b)
    {
        if (b.Length < Size) return null;
        return new NtpPacket
        {
            Leap = b[0] >> 6,
            Version = (b[0] >> 3) & 7,
            Mode = (NtpMode)(b[0] & 7),
            Stratum = b[1],
            Poll = (sbyte)b[2],
            Precision = (sbyte)b[3],
            RootDelay = ShortFormat(BinaryPrimitives.ReadUInt32BigEndian(b[4..])),
            RootDispersion = ShortFormat(BinaryPrimitives.ReadUInt32BigEndian(b[8..])),
            ReferenceId = BinaryPrimitives.ReadUInt32BigEndian(b[12..]),
            ReferenceTime = NtpTimestamp.Read(b[16..]),
            OriginTime = NtpTimestamp.Read(b[24..]),
            ReceiveTime = NtpTimestamp.Read(b[32..]),
            TransmitTime = NtpTimestamp.Read(b[40..]),
        };
    }

    public byte[] ToBytes()
    {
        var b = new byte[Size];
        b[0] = (byte)((Leap << 6) | (Version << 3) | (int)Mode);
        b[1] = (byte)Stratum;
        b[2] = (byte)(sbyte)Poll;
        b[3] = (byte)(sbyte)Precision;
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4), ToShortFormat(RootDelay));
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(8), ToShortFormat(RootDispersion));
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(12), ReferenceId);
        ReferenceTime.Write(b.AsSpan(16));
        OriginTime.Write(b.AsSpan(24));
        ReceiveTime.Write(b.AsSpan(32));
        TransmitTime.Write(b.AsSpan(40));
        return b;
    }

    /// <summary>What a client sends: version 4, mode 3, everything zero but the transmit time (RFC 4330 §5).</summary>
    public static NtpPacket ClientRequest(NtpTimestamp transmit) => new() { TransmitTime = transmit };

    private static double ShortFormat(uint v) => v / 65536.0;

    private static uint ToShortFormat(double seconds) => (uint)Math.Clamp(seconds * 65536.0, 0, uint.MaxValue);
}
