using System.Text;

namespace Berth.Runtime.Images;

public enum TarEntryType { Regular, Directory, Symlink, HardLink, CharDevice, BlockDevice, Fifo }

/// <summary>A seconds + nanoseconds timestamp, as utimensat(2) wants it.</summary>
public readonly record struct UnixTime(long Seconds, long Nanoseconds);

/// <summary>One member of a tar archive, with the PAX and GNU extensions already folded in.</summary>
public sealed class TarEntryHeader
{
    public required string Name { get; init; }
    public required TarEntryType Type { get; init; }
    public string LinkName { get; init; } = "";
    /// <summary>Permission bits with setuid, setgid and sticky (07777).</summary>
    public int Mode { get; init; }
    public long Uid { get; init; }
    public long Gid { get; init; }
    public long Size { get; init; }
    public UnixTime ModificationTime { get; init; }
    public UnixTime? AccessTime { get; init; }
    public uint DeviceMajor { get; init; }
    public uint DeviceMinor { get; init; }
    /// <summary>From PAX <c>SCHILY.xattr.NAME</c> (and libarchive's <c>LIBARCHIVE.xattr.NAME</c>), values as raw bytes.</summary>
    public IReadOnlyDictionary<string, byte[]> Xattrs { get; init; } = Empty;
    /// <summary>Offset of the entry's data in the archive stream (for random access into docker-archive files).</summary>
    public long DataOffset { get; init; }

    internal static readonly IReadOnlyDictionary<string, byte[]> Empty = new Dictionary<string, byte[]>();
}

/// <summary>
/// A streaming tar reader (ustar, POSIX PAX, GNU long names, base-256 numbers).
/// Berth has its own instead of System.Formats.Tar because xattr values are binary
/// (<c>security.capability</c>) and TarReader decodes PAX values as UTF-8 strings, which mangles them;
/// and because errors here name the archive and the byte offset.
/// GNU sparse and multi-volume members are refused: no image tool writes them.
/// </summary>
public sealed class TarArchiveReader
{
    private const int Block = 512;
    private const int MaxMetadataSize = 1 << 20;

    private readonly Stream _stream;
    private readonly string _archive;
    private readonly byte[] _header = new byte[Block];
    private readonly Dictionary<string, byte[]> _global = new(StringComparer.Ordinal);
    private long _position;
    private long _remaining;
    private long _padding;
    private string _current = "";
    private bool _done;

    /// <param name="archive">Names the archive in errors (a layer digest or a file path).</param>
    public TarArchiveReader(Stream stream, string archive)
    {
        _stream = stream;
        _archive = archive;
    }

    /// <summary>The next member, or null at the end of the archive. Skips what is left of the previous member's data.</summary>
    public TarEntryHeader? Next()
    {
        if (_done) return null;
        Skip(_remaining + _padding);
        _remaining = _padding = 0;

        Dictionary<string, byte[]>? pax = null;
        string? longName = null, longLink = null;
        while (true)
        {
            long offset = _position;
            if (!ReadHeaderBlock())
            {
                _done = true;
                return null;
            }
            if (_header.AsSpan().IndexOfAnyExcept((byte)0) < 0)
            {
                // End-of-archive: two zero blocks by the standard; one is enough to stop.
                _done = true;
                return null;
            }
            VerifyChecksum(offset);

            char type = (char)_header[156];
            long size = Number(124, 12, "size", offset);
            if (size < 0) throw Error(offset, $"negative size {size}");
            switch (type)
            {
                case 'x':
                    pax ??= new Dictionary<string, byte[]>(StringComparer.Ordinal);
                    ParsePax(ReadMetadata(size, offset), pax, offset);
                    continue;
                case 'g':
                    ParsePax(ReadMetadata(size, offset), _global, offset);
                    continue;
                case 'L':
                    longName = CString(ReadMetadata(size, offset));
                    continue;
                case 'K':
                    longLink = CString(ReadMetadata(size, offset));
                    continue;
                case 'V': // volume label: not a file
                    Skip(Padded(size));
                    continue;
            }
            return Build(type, size, offset, pax, longName, longLink);
        }
    }

    /// <summary>The current member's data; reading past it returns 0.</summary>
    public Stream OpenData() => new EntryStream(this);

    private TarEntryHeader Build(char type, long size, long offset, Dictionary<string, byte[]>? pax, string? longName, string? longLink)
    {
        // Globals apply to every following member; a member's own PAX records override them.
        var records = new Dictionary<string, byte[]>(_global, StringComparer.Ordinal);
        if (pax is not null) foreach (var (k, v) in pax) records[k] = v;

        bool ustar = _header.AsSpan(257, 6).SequenceEqual("ustar\0"u8);
        string name = longName ?? Field(0, 100);
        if (longName is null && ustar)
        {
            string prefix = Field(345, 155);
            if (prefix.Length > 0) name = prefix + "/" + name;
        }
        string link = longLink ?? Field(157, 100);
        if (PaxString(records, "path") is { Length: > 0 } paxPath) name = paxPath;
        if (PaxString(records, "linkpath") is { Length: > 0 } paxLink) link = paxLink;
        _current = name;

        foreach (var key in records.Keys)
            if (key.StartsWith("GNU.sparse.", StringComparison.Ordinal))
                throw Error(offset, "GNU sparse files are not supported");

        long uid = PaxNumber(records, "uid", offset) ?? Number(108, 8, "uid", offset);
        long gid = PaxNumber(records, "gid", offset) ?? Number(116, 8, "gid", offset);
        size = PaxNumber(records, "size", offset) ?? size;
        var mtime = PaxTime(records, "mtime", offset) ?? new UnixTime(Number(136, 12, "mtime", offset), 0);
        var atime = PaxTime(records, "atime", offset);

        var entryType = type switch
        {
            '0' or '\0' or '7' => name.EndsWith('/') ? TarEntryType.Directory : TarEntryType.Regular,
            '1' => TarEntryType.HardLink,
            '2' => TarEntryType.Symlink,
            '3' => TarEntryType.CharDevice,
            '4' => TarEntryType.BlockDevice,
            '5' or 'D' => TarEntryType.Directory, // 'D': GNU dump directory, its data is a listing
            '6' => TarEntryType.Fifo,
            'S' => throw Error(offset, "GNU sparse files are not supported"),
            'M' or 'N' => throw Error(offset, $"GNU multi-volume/old long-name member (type '{type}') is not supported"),
            _ => throw Error(offset, $"unknown member type '{Printable(type)}'"),
        };

        uint major = 0, minor = 0;
        if (entryType is TarEntryType.CharDevice or TarEntryType.BlockDevice)
        {
            major = (uint)Number(329, 8, "devmajor", offset);
            minor = (uint)Number(337, 8, "devminor", offset);
        }

        Dictionary<string, byte[]>? xattrs = null;
        foreach (var (key, value) in records)
        {
            if (key.StartsWith("SCHILY.xattr.", StringComparison.Ordinal))
                (xattrs ??= new(StringComparer.Ordinal))[key["SCHILY.xattr.".Length..]] = value;
            else if (key.StartsWith("LIBARCHIVE.xattr.", StringComparison.Ordinal))
            {
                // libarchive: name URL-encoded, value base64.
                string xname = Uri.UnescapeDataString(key["LIBARCHIVE.xattr.".Length..]);
                try { (xattrs ??= new(StringComparer.Ordinal))[xname] = Convert.FromBase64String(Encoding.ASCII.GetString(value)); }
                catch (FormatException) { throw Error(offset, $"xattr {xname}: value is not base64"); }
            }
        }

        _remaining = size;
        _padding = Padded(size) - size;
        return new TarEntryHeader
        {
            Name = name,
            Type = entryType,
            LinkName = link,
            Mode = (int)(Number(100, 8, "mode", offset) & 0xfff),
            Uid = uid,
            Gid = gid,
            Size = size,
            ModificationTime = mtime,
            AccessTime = atime,
            DeviceMajor = major,
            DeviceMinor = minor,
            Xattrs = xattrs ?? TarEntryHeader.Empty,
            DataOffset = _position,
        };
    }

    private static long Padded(long size) => (size + Block - 1) / Block * Block;

    private bool ReadHeaderBlock()
    {
        int got = 0;
        while (got < Block)
        {
            int n = _stream.Read(_header, got, Block - got);
            if (n == 0)
            {
                // A stream that simply ends (no zero blocks) is accepted as the end; a torn header is not.
                if (got == 0) return false;
                throw Error(_position, $"archive ends inside a header block ({got} of 512 bytes)");
            }
            got += n;
        }
        _position += Block;
        return true;
    }

    private void VerifyChecksum(long offset)
    {
        long stored = Number(148, 8, "checksum", offset);
        long unsigned = 0, signed = 0;
        for (int i = 0; i < Block; i++)
        {
            byte b = i is >= 148 and < 156 ? (byte)' ' : _header[i];
            unsigned += b;
            signed += (sbyte)b;
        }
        if (stored != unsigned && stored != signed)
            throw Error(offset, "header checksum mismatch (not a tar archive, or a corrupt one)");
    }

    private byte[] ReadMetadata(long size, long offset)
    {
        if (size > MaxMetadataSize) throw Error(offset, $"extended header of {size} bytes is larger than the {MaxMetadataSize} allowed");
        var data = new byte[size];
        ReadExact(data, offset);
        Skip(Padded(size) - size);
        return data;
    }

    private void ReadExact(Span<byte> buffer, long offset)
    {
        while (!buffer.IsEmpty)
        {
            int n = _stream.Read(buffer);
            if (n == 0) throw Error(offset, "archive is truncated");
            _position += n;
            buffer = buffer[n..];
        }
    }

    private void Skip(long count)
    {
        if (count <= 0) return;
        if (_stream.CanSeek)
        {
            if (_stream.Position + count > _stream.Length) throw Error(_position, "archive is truncated");
            _stream.Seek(count, SeekOrigin.Current);
            _position += count;
            return;
        }
        var buffer = new byte[(int)Math.Min(count, 64 * 1024)];
        while (count > 0)
        {
            int n = _stream.Read(buffer, 0, (int)Math.Min(count, buffer.Length));
            if (n == 0) throw Error(_position, $"archive is truncated inside \"{_current}\"");
            _position += n;
            count -= n;
        }
    }

    private void ParsePax(byte[] data, Dictionary<string, byte[]> into, long offset)
    {
        // Records are "<length> <key>=<value>\n", the length counting the whole record.
        int pos = 0;
        while (pos < data.Length)
        {
            if (data[pos] == 0) break; // some writers pad with NULs
            int space = Array.IndexOf(data, (byte)' ', pos);
            if (space < 0 || !int.TryParse(data.AsSpan(pos, space - pos), out int length) || length <= space - pos + 1
                || pos + length > data.Length || data[pos + length - 1] != (byte)'\n')
                throw Error(offset, $"malformed PAX record at byte {pos} of the extended header");
            var record = data.AsSpan(space + 1, pos + length - 1 - (space + 1));
            int eq = record.IndexOf((byte)'=');
            if (eq <= 0) throw Error(offset, $"malformed PAX record at byte {pos} of the extended header (no key=value)");
            string key = Encoding.UTF8.GetString(record[..eq]);
            into[key] = record[(eq + 1)..].ToArray();
            pos += length;
        }
    }

    private string? PaxString(Dictionary<string, byte[]> records, string key) =>
        records.TryGetValue(key, out var v) ? Encoding.UTF8.GetString(v) : null;

    private long? PaxNumber(Dictionary<string, byte[]> records, string key, long offset)
    {
        if (!records.TryGetValue(key, out var v) || v.Length == 0) return null;
        return long.TryParse(v, System.Globalization.NumberStyles.None, null, out long n)
            ? n : throw Error(offset, $"PAX {key}=\"{Encoding.UTF8.GetString(v)}\" is not a number");
    }

    private UnixTime? PaxTime(Dictionary<string, byte[]> records, string key, long offset)
    {
        if (!records.TryGetValue(key, out var v) || v.Length == 0) return null;
        string text = Encoding.ASCII.GetString(v);
        int dot = text.IndexOf('.');
        string whole = dot < 0 ? text : text[..dot];
        string fraction = dot < 0 ? "" : text[(dot + 1)..];
        if (!long.TryParse(whole, System.Globalization.NumberStyles.AllowLeadingSign, null, out long seconds)
            || (fraction.Length > 0 && !fraction.All(char.IsAsciiDigit)))
            throw Error(offset, $"PAX {key}=\"{text}\" is not a time");
        fraction = fraction.Length > 9 ? fraction[..9] : fraction.PadRight(9, '0');
        long nanos = long.Parse(fraction);
        // "-1.5" means 1.5 s before the epoch: whole seconds round towards zero, the fraction goes back.
        if (text.StartsWith('-') && nanos > 0) { seconds -= 1; nanos = 1_000_000_000 - nanos; }
        return new UnixTime(seconds, nanos);
    }

    /// <summary>An octal field, or GNU base-256 when the top bit of the first byte is set.</summary>
    private long Number(int start, int length, string field, long offset)
    {
        var span = _header.AsSpan(start, length);
        if ((span[0] & 0x80) != 0)
        {
            bool negative = (span[0] & 0x40) != 0;
            long value = span[0] & 0x3f;
            if (negative) value |= ~0x3fL;
            for (int i = 1; i < span.Length; i++)
            {
                if (!negative && value > (long.MaxValue >> 8)) throw Error(offset, $"{field} field overflows");
                value = (value << 8) | span[i];
            }
            return value;
        }
        long result = 0;
        int j = 0;
        while (j < span.Length && (span[j] == ' ' || span[j] == 0)) j++;
        for (; j < span.Length && span[j] != ' ' && span[j] != 0; j++)
        {
            if (span[j] is < (byte)'0' or > (byte)'7')
                throw Error(offset, $"{field} field \"{Encoding.ASCII.GetString(span).TrimEnd('\0')}\" is not octal");
            result = (result << 3) | (long)(span[j] - '0');
        }
        return result;
    }

    private string Field(int start, int length)
    {
        var span = _header.AsSpan(start, length);
        int nul = span.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul < 0 ? span : span[..nul]);
    }

    private static string CString(byte[] data)
    {
        int nul = Array.IndexOf(data, (byte)0);
        return Encoding.UTF8.GetString(data, 0, nul < 0 ? data.Length : nul);
    }

    private static string Printable(char c) => c is >= ' ' and < (char)127 ? c.ToString() : $"\\x{(int)c:x2}";

    private ImageException Error(long offset, string message) =>
        new($"{_archive}: tar member at offset {offset}{(_current.Length > 0 ? $" (after \"{_current}\")" : "")}: {message}");

    private sealed class EntryStream(TarArchiveReader reader) : ReadOnlyForwardStream
    {

        public override int Read(Span<byte> buffer)
        {
            if (reader._remaining == 0 || buffer.IsEmpty) return 0;
            if (buffer.Length > reader._remaining) buffer = buffer[..(int)reader._remaining];
            int n = reader._stream.Read(buffer);
            if (n == 0) throw reader.Error(reader._position, $"archive is truncated inside \"{reader._current}\"");
            reader._position += n;
            reader._remaining -= n;
            return n;
        }

    }
}
