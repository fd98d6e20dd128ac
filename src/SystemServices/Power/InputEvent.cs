using System.Buffers.Binary;

namespace Berth.SystemServices.Power;

/// <summary>
/// struct input_event on x86_64 (linux/input.h): a timeval (two 64-bit words), then type and code
/// (u16) and value (s32): 24 bytes, little endian.
/// </summary>
public readonly record struct InputEvent(long Seconds, long Microseconds, ushort Type, ushort Code, int Value)
{
    public const int Size = 24;

    public const ushort EV_SYN = 0, EV_KEY = 1;
    public const ushort KEY_POWER = 116;

    /// <summary>A key-down of the power key: 1 is press, 0 release, 2 autorepeat.</summary>
    public bool IsPowerPress => Type == EV_KEY && Code == KEY_POWER && Value == 1;

    public static InputEvent Parse(ReadOnlySpan<byte> b) => new(
        BinaryPrimitives.ReadInt64LittleEndian(b),
        BinaryPrimitives.ReadInt64LittleEndian(b[8..]),
        BinaryPrimitives.ReadUInt16LittleEndian(b[16..]),
        BinaryPrimitives.ReadUInt16LittleEndian(b[18..]),
        BinaryPrimitives.ReadInt32LittleEndian(b[20..]));

    public byte[] ToBytes()
    {
        var b = new byte[Size];
        BinaryPrimitives.WriteInt64LittleEndian(b, Seconds);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(8), Microseconds);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(16), Type);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(18), Code);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(20), Value);
        return b;
    }

    /// <summary>
    /// Splits a read into events. An evdev read returns whole events, a pipe may not: what is left
    /// over is kept in <paramref name="pending"/> for the next read.
    /// </summary>
    public static List<InputEvent> Split(List<byte> pending, ReadOnlySpan<byte> read)
    {
        foreach (byte x in read) pending.Add(x);
        var events = new List<InputEvent>(pending.Count / Size);
        int whole = pending.Count / Size * Size;
        var bytes = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(pending);
        for (int i = 0; i < whole; i += Size) events.Add(Parse(bytes.Slice(i, Size)));
        pending.RemoveRange(0, whole);
        return events;
    }
}
