using System.Text;

namespace Berth.Init.Upgrade;

/// <summary>A malformed GRUB environment block (what is wrong, and in which copy).</summary>
public sealed class GrubEnvironmentException(string message) : Exception(message);

/// <summary>
/// GRUB's environment block: exactly 1024 bytes, the header <c># GRUB Environment Block\n</c>, one
/// <c>name=value\n</c> line per variable, then <c>#</c> up to the end. Variables keep their order
/// when set, as GRUB's own <c>save_env</c> does: a block whose values keep their length keeps every
/// byte in place, so an update only changes the bytes of the values that change (see
/// <see cref="GrubEnvStore"/> for why that matters for torn writes).
/// </summary>
public sealed class GrubEnvironment
{
    public const int BlockSize = 1024;
    public const string Header = "# GRUB Environment Block\n";

    // Variables, and comment lines (Key null, Value the whole line): Debian's grub-editenv writes a
    // "# WARNING" line after the header, and dropping it would move every variable.
    private readonly List<KeyValuePair<string?, string>> _lines = new();

    public IReadOnlyList<KeyValuePair<string, string>> Variables =>
        _lines.Where(l => l.Key is not null).Select(l => new KeyValuePair<string, string>(l.Key!, l.Value)).ToList();

    public string? Get(string name)
    {
        foreach (var kv in _lines) if (kv.Key == name) return kv.Value;
        return null;
    }

    public GrubEnvironment Set(string name, string value)
    {
        if (name.Length == 0 || name.Contains('=') || name.Contains('\n') || name.Contains('#'))
            throw new ArgumentException($"'{name}' is not a valid grubenv variable name", nameof(name));
        if (value.Contains('\n')) throw new ArgumentException($"the value of {name} has a newline", nameof(value));
        for (int i = 0; i < _lines.Count; i++)
            if (_lines[i].Key == name) { _lines[i] = new(name, value); return this; }
        _lines.Add(new(name, value));
        return this;
    }

    public GrubEnvironment Clone()
    {
        var copy = new GrubEnvironment();
        copy._lines.AddRange(_lines);
        return copy;
    }

    /// <summary>Parses a block, refusing anything GRUB's load_env would not read the same way.</summary>
    /// <param name="where">Names the block in errors (device and file).</param>
    public static GrubEnvironment Parse(ReadOnlySpan<byte> block, string where)
    {
        if (block.Length != BlockSize)
            throw new GrubEnvironmentException($"{where}: {block.Length} bytes, a GRUB environment block has {BlockSize}");
        var header = Encoding.ASCII.GetBytes(Header);
        if (!block.StartsWith(header))
            throw new GrubEnvironmentException($"{where}: no '# GRUB Environment Block' header");
        var env = new GrubEnvironment();
        int pos = header.Length;
        while (pos < BlockSize)
        {
            if (block[pos] == (byte)'#')
            {
                // a comment line, or the padding that runs to the end of the block
                int nl = block[pos..].IndexOf((byte)'\n');
                if (nl < 0)
                {
                    foreach (var b in block[pos..])
                        if (b != (byte)'#') throw new GrubEnvironmentException($"{where}: padding at byte {pos} is not all '#'");
                    return env;
                }
                env._lines.Add(new(null, Encoding.UTF8.GetString(block.Slice(pos, nl))));
                pos += nl + 1;
                continue;
            }
            int end = block[pos..].IndexOf((byte)'\n');
            if (end < 0) throw new GrubEnvironmentException($"{where}: unterminated line at byte {pos}");
            var line = block.Slice(pos, end);
            int eq = line.IndexOf((byte)'=');
            if (eq <= 0) throw new GrubEnvironmentException($"{where}: line at byte {pos} is not name=value");
            foreach (var b in line)
                if (b < 0x20 && b != (byte)'\t' || b == 0x7f)
                    throw new GrubEnvironmentException($"{where}: control byte 0x{b:x2} in the line at byte {pos}");
            string name = Encoding.UTF8.GetString(line[..eq]);
            if (env.Get(name) is not null) throw new GrubEnvironmentException($"{where}: variable {name} appears twice");
            env._lines.Add(new(name, Unescape(Encoding.UTF8.GetString(line[(eq + 1)..]))));
            pos += end + 1;
        }
        throw new GrubEnvironmentException($"{where}: no '#' padding at the end of the block");
    }

    /// <summary>The 1024-byte block; throws when the variables do not fit (GRUB cannot grow the file).</summary>
    public byte[] Format()
    {
        var sb = new StringBuilder(Header);
        foreach (var (name, value) in _lines)
            (name is null ? sb.Append(value) : sb.Append(name).Append('=').Append(Escape(value))).Append('\n');
        var content = Encoding.UTF8.GetBytes(sb.ToString());
        if (content.Length > BlockSize)
            throw new GrubEnvironmentException($"the variables take {content.Length} bytes; a GRUB environment block holds {BlockSize}");
        var block = new byte[BlockSize];
        content.CopyTo(block, 0);
        block.AsSpan(content.Length).Fill((byte)'#');
        return block;
    }

    // grub-editenv escapes a backslash with a backslash (values with newlines are refused in Set).
    private static string Escape(string v) => v.Replace("\\", "\\\\");

    private static string Unescape(string v) => v.Contains('\\') ? v.Replace("\\\\", "\\") : v;

    public override string ToString() => string.Join(' ', Variables.Select(kv => $"{kv.Key}={kv.Value}"));
}
