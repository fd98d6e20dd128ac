using System.Text;

namespace Berth.Tests.Unit.Images;

/// <summary>Tar bytes written field by field, for members System.Formats.Tar cannot write (binary PAX values, base-256, sparse).</summary>
public sealed class RawTar
{
    private readonly MemoryStream _out = new();

    public RawTar Member(string name, char type, byte[] data, int mode = 0x1a4, string linkName = "", string magic = "ustar\0",
        Action<byte[]>? patch = null)
    {
        var h = new byte[512];
        Put(h, 0, 100, name);
        Put(h, 100, 8, Octal(mode, 7));
        Put(h, 108, 8, Octal(0, 7));
        Put(h, 116, 8, Octal(0, 7));
        Put(h, 124, 12, Octal(data.Length, 11));
        Put(h, 136, 12, Octal(1_600_000_000, 11));
        h[156] = (byte)type;
        Put(h, 157, 100, linkName);
        Put(h, 257, 6, magic);
        Put(h, 263, 2, magic == "ustar\0" ? "00" : " \0");
        patch?.Invoke(h);
        Checksum(h);
        _out.Write(h);
        _out.Write(data);
        _out.Write(new byte[(512 - data.Length % 512) % 512]);
        return this;
    }

    /// <summary>A PAX extended header ('x', or 'g' for global) with raw byte values.</summary>
    public RawTar Pax(char type, params (string Key, byte[] Value)[] records)
    {
        var body = new MemoryStream();
        foreach (var (key, value) in records)
        {
            int fixedPart = 1 + Encoding.UTF8.GetByteCount(key) + 1 + value.Length + 1; // ' ' key '=' value '\n'
            int length = fixedPart + 1;
            while (length.ToString().Length + fixedPart != length) length++;
            body.Write(Encoding.ASCII.GetBytes($"{length} {key}="));
            body.Write(value);
            body.WriteByte((byte)'\n');
        }
        return Member("PaxHeaders/x", type, body.ToArray());
    }

    public byte[] Build(bool endBlocks = true)
    {
        if (endBlocks) _out.Write(new byte[1024]);
        return _out.ToArray();
    }

    public static void Checksum(byte[] h)
    {
        for (int i = 148; i < 156; i++) h[i] = (byte)' ';
        int sum = h.Sum(b => b);
        Put(h, 148, 8, Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ");
    }

    public static void Put(byte[] h, int offset, int length, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        Array.Copy(bytes, 0, h, offset, Math.Min(bytes.Length, length));
    }

    private static string Octal(long value, int digits) => Convert.ToString(value, 8).PadLeft(digits, '0') + "\0";
}
