using System.Buffers.Binary;
using System.Text;
using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Runtime.Storage;

/// <summary>A filesystem recognised by its superblock: the type mount(2) wants and its volume label.</summary>
public sealed record FilesystemInfo(string Type, string Label);

/// <summary>
/// What blkid would say of a volume: its type, label ("" when it has none) and UUID as blkid
/// formats it (null when the filesystem has none, as squashfs).
/// </summary>
public sealed record VolumeInfo(string Type, string Label, string? Uuid);

/// <summary>
/// Reads a device's superblock to tell vfat and iso9660 by their label, as blkid does, without
/// udev and without mounting: two small reads per device.
/// </summary>
public static class FilesystemProbe
{
    private const int IsoDescriptorOffset = 16 * 2048;

    public static FilesystemInfo? Probe(string devicePath)
    {
        using var fd = FileDescriptor.TryOpen(devicePath, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd is null) return null;
        var boot = new byte[512];
        var iso = new byte[2048];
        try
        {
            int bootRead = fd.PRead(boot, 0);
            int isoRead = fd.PRead(iso, IsoDescriptorOffset);
            return Identify(boot.AsSpan(0, bootRead), iso.AsSpan(0, isoRead));
        }
        catch (SyscallException) { return null; } // a device without media (an empty CD drive)
    }

    /// <summary>How much of a device <see cref="ProbeVolume"/> reads: up to the end of iso9660's first volume descriptor.</summary>
    public const int VolumeProbeBytes = IsoDescriptorOffset + 2048;

    /// <summary>
    /// ext2/3/4, vfat, squashfs or iso9660, with label and UUID, from one read of the first 34 KiB:
    /// the /dev/disk/by-label and by-uuid links' view of a device. Null for anything else, or a
    /// device that cannot be read (no media).
    /// </summary>
    public static VolumeInfo? ProbeVolume(string devicePath)
    {
        using var fd = FileDescriptor.TryOpen(devicePath, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd is null) return null;
        var head = new byte[VolumeProbeBytes];
        try
        {
            int total = 0;
            while (total < head.Length)
            {
                int n = fd.PRead(head.AsSpan(total), total);
                if (n <= 0) break;
                total += n;
            }
            return IdentifyVolume(head.AsSpan(0, total));
        }
        catch (SyscallException) { return null; }
    }

    /// <summary>From the first bytes of a device (<see cref="VolumeProbeBytes"/> to see them all).</summary>
    public static VolumeInfo? IdentifyVolume(ReadOnlySpan<byte> head)
    {
        if (head.Length >= 4 && head[..4].SequenceEqual("hsqs"u8)) return new VolumeInfo("squashfs", "", null);
        if (head.Length >= 2048 + 0x78 && BinaryPrimitives.ReadUInt16LittleEndian(head[(1024 + 0x38)..]) == 0xEF53)
            return Ext(head.Slice(1024, 1024));
        if (head.Length >= IsoDescriptorOffset + 2048 && head[IsoDescriptorOffset] == 1 && head.Slice(IsoDescriptorOffset + 1, 5).SequenceEqual("CD001"u8))
            return Iso(head.Slice(IsoDescriptorOffset, 2048));
        if (head.Length >= 512) return Fat(head[..512]);
        return null;
    }

    private static VolumeInfo Ext(ReadOnlySpan<byte> sb)
    {
        uint compat = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x5C..]);
        uint incompat = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x60..]);
        // blkid's rule: extents, 64bit or flex_bg make ext4; a journal alone ext3.
        string type = (incompat & (0x40 | 0x80 | 0x200)) != 0 ? "ext4" : (compat & 0x4) != 0 ? "ext3" : "ext2";
        var u = sb.Slice(0x68, 16);
        string? uuid = u.IndexOfAnyExcept((byte)0) < 0 ? null : FormatUuid(u);
        return new VolumeInfo(type, Encoding.UTF8.GetString(sb.Slice(0x78, 16)).TrimEnd('\0'), uuid); // ext labels are UTF-8
    }

    private static VolumeInfo Iso(ReadOnlySpan<byte> pvd)
    {
        // blkid's UUID of an ISO is its creation time, "YYYY-MM-DD-HH-MM-SS-cc".
        var t = pvd.Slice(813, 16);
        string? uuid = null;
        if (t.IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0 && t.IndexOfAnyExcept((byte)'0') >= 0)
        {
            string s = Encoding.ASCII.GetString(t);
            uuid = $"{s[..4]}-{s[4..6]}-{s[6..8]}-{s[8..10]}-{s[10..12]}-{s[12..14]}-{s[14..16]}";
        }
        return new VolumeInfo("iso9660", Text(pvd.Slice(40, 32)), uuid);
    }

    private static VolumeInfo? Fat(ReadOnlySpan<byte> boot)
    {
        if (boot[510] != 0x55 || boot[511] != 0xAA) return null;
        int bytesPerSector = boot[11] | boot[12] << 8;
        if (bytesPerSector is not (512 or 1024 or 2048 or 4096) || boot[13] == 0) return null;
        bool fat32 = (boot[22] | boot[23] << 8) == 0;
        int signature = fat32 ? 66 : 38, serial = fat32 ? 67 : 39, label = fat32 ? 71 : 43, fsType = fat32 ? 82 : 54;
        // An MBR also ends in 55 AA: only a boot sector that names its FAT type is one.
        if (!boot.Slice(fsType, 3).SequenceEqual("FAT"u8)) return null;
        if (boot[signature] != 0x29) return new VolumeInfo("vfat", "", null);
        uint id = BinaryPrimitives.ReadUInt32LittleEndian(boot[serial..]);
        string name = Text(boot.Slice(label, 11));
        if (name == "NO NAME") name = ""; // what mkfs and Windows write for "no label"
        return new VolumeInfo("vfat", name, $"{id >> 16:X4}-{id & 0xFFFF:X4}");
    }

    private static string FormatUuid(ReadOnlySpan<byte> u)
    {
        string h = Convert.ToHexStringLower(u);
        return $"{h[..8]}-{h[8..12]}-{h[12..16]}-{h[16..20]}-{h[20..]}";
    }

    /// <summary>From the first 512 bytes and the 2048 bytes at 32 KiB (iso9660's first volume descriptor).</summary>
    public static FilesystemInfo? Identify(ReadOnlySpan<byte> boot, ReadOnlySpan<byte> isoDescriptor)
    {
        if (isoDescriptor.Length >= 72 && isoDescriptor[0] == 1 && isoDescriptor[1..6].SequenceEqual("CD001"u8))
            return new FilesystemInfo("iso9660", Text(isoDescriptor.Slice(40, 32)));
        if (boot.Length < 512 || boot[510] != 0x55 || boot[511] != 0xAA) return null;
        int bytesPerSector = boot[11] | boot[12] << 8;
        if (bytesPerSector is not (512 or 1024 or 2048 or 4096) || boot[13] == 0) return null;
        int sectorsPerFat16 = boot[22] | boot[23] << 8;
        // FAT32 keeps the extended BPB (signature 0x29, label at 71) after its own fields; FAT12/16 at 38/43.
        int signature = sectorsPerFat16 == 0 ? 66 : 38;
        int label = sectorsPerFat16 == 0 ? 71 : 43;
        if (boot[signature] != 0x29) return new FilesystemInfo("vfat", "");
        return new FilesystemInfo("vfat", Text(boot.Slice(label, 11)));
    }

    private static string Text(ReadOnlySpan<byte> field) => Encoding.ASCII.GetString(field).TrimEnd(' ', '\0');
}
