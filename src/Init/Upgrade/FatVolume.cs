using System.Buffers.Binary;
using System.Text;
using Berth.Runtime.Linux;

namespace Berth.Init.Upgrade;

/// <summary>A byte range of a file's data, as an offset into the FAT partition.</summary>
public readonly record struct FileExtent(long Offset, int Length);

/// <summary>
/// Finds where a file's data lies in a FAT12/16/32 partition, reading the boot sector, the FAT and
/// the directories straight from the device. PID 1 writes grubenv through these offsets, as GRUB's
/// save_env does through its blocklist: no FAT driver, no mount, no directory entry or FAT sector
/// ever written (a mount would update timestamps and the dirty flag, and leave more to tear on a
/// power cut). Names are matched by their 8.3 short names, case-insensitively.
/// </summary>
public sealed class FatVolume
{
    private readonly FileDescriptor _fd;
    private readonly string _where;
    private readonly int _bytesPerSector, _sectorsPerCluster, _fatBits;
    private readonly long _fatOffset, _rootDirOffset, _dataOffset;
    private readonly int _rootEntries;
    private readonly uint _rootCluster, _clusterCount;

    public int ClusterBytes => _bytesPerSector * _sectorsPerCluster;

    /// <param name="baseOffset">Where the partition starts in <paramref name="fd"/> (0 for a partition device; tests open whole disk images).</param>
    public FatVolume(FileDescriptor fd, string where, long baseOffset = 0)
    {
        _fd = fd;
        _where = where;
        var boot = new byte[512];
        if (fd.PRead(boot, baseOffset) != 512) throw Bad("shorter than a boot sector");
        if (boot[510] != 0x55 || boot[511] != 0xAA) throw Bad("no boot sector signature (0x55AA)");
        _bytesPerSector = BinaryPrimitives.ReadUInt16LittleEndian(boot.AsSpan(11));
        _sectorsPerCluster = boot[13];
        int reserved = BinaryPrimitives.ReadUInt16LittleEndian(boot.AsSpan(14));
        int fats = boot[16];
        _rootEntries = BinaryPrimitives.ReadUInt16LittleEndian(boot.AsSpan(17));
        long totalSectors = BinaryPrimitives.ReadUInt16LittleEndian(boot.AsSpan(19));
        if (totalSectors == 0) totalSectors = BinaryPrimitives.ReadUInt32LittleEndian(boot.AsSpan(32));
        long fatSectors = BinaryPrimitives.ReadUInt16LittleEndian(boot.AsSpan(22));
        if (fatSectors == 0) fatSectors = BinaryPrimitives.ReadUInt32LittleEndian(boot.AsSpan(36));
        if (_bytesPerSector is not (512 or 1024 or 2048 or 4096) || _sectorsPerCluster == 0
            || (_sectorsPerCluster & (_sectorsPerCluster - 1)) != 0 || fats == 0 || reserved == 0 || fatSectors == 0)
            throw Bad("not a FAT boot sector (bad BPB)");
        long rootDirSectors = (_rootEntries * 32L + _bytesPerSector - 1) / _bytesPerSector;
        long dataSectors = totalSectors - reserved - fats * fatSectors - rootDirSectors;
        _clusterCount = (uint)(dataSectors / _sectorsPerCluster);
        _fatBits = _clusterCount < 4085 ? 12 : _clusterCount < 65525 ? 16 : 32;
        _fatOffset = baseOffset + (long)reserved * _bytesPerSector;
        _rootDirOffset = _fatOffset + fats * fatSectors * _bytesPerSector;
        _dataOffset = _rootDirOffset + rootDirSectors * _bytesPerSector;
        _rootCluster = _fatBits == 32 ? BinaryPrimitives.ReadUInt32LittleEndian(boot.AsSpan(44)) : 0;
    }


    /// <summary>The extents holding the first <c>size</c> bytes of the file at <paramref name="path"/> ("grub/grubenv").</summary>
    public (IReadOnlyList<FileExtent> Extents, long Size) Locate(string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) throw new ArgumentException("empty path", nameof(path));
        uint dirCluster = _rootCluster; // 0 = the fixed FAT12/16 root directory
        for (int i = 0; i < parts.Length; i++)
        {
            var entry = FindEntry(dirCluster, parts[i])
                ?? throw Bad($"no '{string.Join('/', parts[..(i + 1)])}'");
            bool last = i == parts.Length - 1;
            if (!last)
            {
                if (!entry.IsDirectory) throw Bad($"'{string.Join('/', parts[..(i + 1)])}' is not a directory");
                dirCluster = entry.Cluster;
                continue;
            }
            if (entry.IsDirectory) throw Bad($"'{path}' is a directory");
            var extents = new List<FileExtent>();
            long left = entry.Size;
            foreach (var cluster in Chain(entry.Cluster))
            {
                if (left <= 0) break;
                int n = (int)Math.Min(left, ClusterBytes);
                long off = ClusterOffset(cluster);
                if (extents.Count > 0 && extents[^1].Offset + extents[^1].Length == off)
                    extents[^1] = extents[^1] with { Length = extents[^1].Length + n };
                else extents.Add(new FileExtent(off, n));
                left -= n;
            }
            if (left > 0) throw Bad($"'{path}': its cluster chain ends before its {entry.Size} bytes");
            return (extents, entry.Size);
        }
        throw new InvalidOperationException("unreachable");
    }

    private readonly record struct DirEntry(string ShortName, bool IsDirectory, uint Cluster, long Size);

    private DirEntry? FindEntry(uint dirCluster, string name)
    {
        string wanted = ShortName(name);
        foreach (var e in Entries(dirCluster))
            if (e.ShortName == wanted) return e;
        return null;
    }

    private IEnumerable<DirEntry> Entries(uint dirCluster)
    {
        IEnumerable<(long Offset, int Length)> regions = dirCluster == 0
            ? [(_rootDirOffset, _rootEntries * 32)]
            : Chain(dirCluster).Select(c => (ClusterOffset(c), ClusterBytes));
        foreach (var (offset, length) in regions)
        {
            var buf = new byte[length];
            if (_fd.PRead(buf, offset) != length) throw Bad($"short read of a directory at byte {offset}");
            for (int i = 0; i + 32 <= length; i += 32)
            {
                byte first = buf[i];
                if (first == 0) yield break;
                byte attr = buf[i + 11];
                if (first == 0xE5 || attr == 0x0F || (attr & 0x08) != 0) continue; // deleted, long name, volume label
                var raw = Encoding.ASCII.GetString(buf, i, 11);
                if (first == 0x05) raw = "\u00e5" + raw[1..];
                string shortName = raw[..8].TrimEnd() + (raw[8..].TrimEnd() is { Length: > 0 } ext ? "." + ext : "");
                uint cluster = BinaryPrimitives.ReadUInt16LittleEndian(buf.AsSpan(i + 26));
                if (_fatBits == 32) cluster |= (uint)BinaryPrimitives.ReadUInt16LittleEndian(buf.AsSpan(i + 20)) << 16;
                yield return new DirEntry(shortName, (attr & 0x10) != 0, cluster,
                    BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(i + 28)));
            }
        }
    }

    private static string ShortName(string name)
    {
        string upper = name.ToUpperInvariant();
        int dot = upper.LastIndexOf('.');
        string stem = dot < 0 ? upper : upper[..dot], ext = dot < 0 ? "" : upper[(dot + 1)..];
        if (stem.Length is 0 or > 8 || ext.Length > 3)
            throw new ArgumentException($"'{name}' is not an 8.3 name (only short names are matched)", nameof(name));
        return ext.Length > 0 ? stem + "." + ext : stem;
    }

    private long ClusterOffset(uint cluster)
    {
        if (cluster < 2 || cluster >= _clusterCount + 2) throw Bad($"cluster {cluster} is outside the volume");
        return _dataOffset + (long)(cluster - 2) * ClusterBytes;
    }

    private IEnumerable<uint> Chain(uint first)
    {
        uint cluster = first;
        for (uint steps = 0; steps <= _clusterCount; steps++)
        {
            if (cluster < 2 || cluster >= _clusterCount + 2) throw Bad($"cluster chain reaches invalid cluster {cluster}");
            yield return cluster;
            uint next = NextCluster(cluster);
            uint endMark = _fatBits switch { 12 => 0xFF8, 16 => 0xFFF8, _ => 0x0FFFFFF8 };
            if (next >= endMark) yield break;
            cluster = next;
        }
        throw Bad("cluster chain loops");
    }

    private uint NextCluster(uint cluster)
    {
        var buf = new byte[4];
        switch (_fatBits)
        {
            case 12:
            {
                long off = _fatOffset + cluster + cluster / 2;
                _fd.PRead(buf.AsSpan(0, 2), off);
                uint v = BinaryPrimitives.ReadUInt16LittleEndian(buf);
                return (cluster & 1) != 0 ? v >> 4 : v & 0xFFF;
            }
            case 16:
                _fd.PRead(buf.AsSpan(0, 2), _fatOffset + cluster * 2L);
                return BinaryPrimitives.ReadUInt16LittleEndian(buf);
            default:
                _fd.PRead(buf, _fatOffset + cluster * 4L);
                return BinaryPrimitives.ReadUInt32LittleEndian(buf) & 0x0FFFFFFF;
        }
    }

    private GrubEnvironmentException Bad(string what) => new($"{_where}: FAT: {what}");
}
