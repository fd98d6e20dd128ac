using System.Buffers.Binary;

namespace Berth.SystemServices.Time;

/// <summary>
/// The 64-bit NTP timestamp: seconds since 1900 (32 bits) and a binary fraction (32 bits). The
/// seconds wrap in 2036; as RFC 4330 §3 suggests, a value with the top bit clear is taken to be
/// after 2036 (era 1), which keeps the mapping right from 1968 to 2104.
/// </summary>
public readonly record struct NtpTimestamp(ulong Raw)
{
    private static readonly DateTimeOffset Era0 = new(1900, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Era1 = Era0.AddSeconds(4294967296.0);

    public static readonly NtpTimestamp Zero = new(0);

    public uint Seconds => (uint)(Raw >> 32);
    public uint Fraction => (uint)Raw;

    public bool IsZero => Raw == 0;

    public DateTimeOffset ToDateTimeOffset()
    {
        var epoch = (Seconds & 0x8000_0000) != 0 ? Era0 : Era1;
        long ticks = (long)((Fraction * (double)TimeSpan.TicksPerSecond) / 4294967296.0);
        return epoch.AddTicks(Seconds * TimeSpan.TicksPerSecond + ticks);
    }

    public static NtpTimestamp From(DateTimeOffset t)
    {
        var since = t.UtcDateTime - Era0.UtcDateTime;
        if (t >= Era1) since = t.UtcDateTime - Era1.UtcDateTime;
        ulong seconds = (ulong)(since.Ticks / TimeSpan.TicksPerSecond) & 0xFFFF_FFFF;
        ulong fraction = (ulong)((since.Ticks % TimeSpan.TicksPerSecond) * 4294967296.0 / TimeSpan.TicksPerSecond);
        return new NtpTimestamp((seconds << 32) | (fraction & 0xFFFF_FFFF));
    }

    public static NtpTimestamp Read(ReadOnlySpan<byte> b) => new(BinaryPrimitives.ReadUInt64BigEndian(b));

    public void Write(Span<byte> b) => BinaryPrimitives.WriteUInt64BigEndian(b, Raw);
}
