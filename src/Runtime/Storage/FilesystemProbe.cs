using System.Text;
using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Runtime.Storage;

/// <summary>A filesystem recognised by its superblock: the type mount(2) wants and its volume label.</summary>
public sealed record FilesystemInfo(string Type, string Label);

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
