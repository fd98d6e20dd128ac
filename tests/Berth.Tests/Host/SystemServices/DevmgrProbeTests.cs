using Berth.Runtime.Storage;
using Berth.SystemServices.DeviceManager;
using Xunit;

namespace Berth.Tests.Host.SystemServices;

/// <summary>The volume probe behind /dev/disk/by-label and by-uuid, over images the real tools make (files, nothing mounted).</summary>
public class DevmgrProbeTests
{
    [Fact]
    public void Ext4_gives_its_label_and_uuid()
    {
        using var dir = new TempDir();
        string image = dir["ext4.img"];
        File.WriteAllBytes(image, new byte[4 << 20]);
        var r = HostRun.Tool("mkfs.ext4", "-q", "-F", "-L", "berth-state", "-U", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", image);
        Assert.True(r.Exit == 0, r.Stderr);
        Assert.Equal(new VolumeInfo("ext4", "berth-state", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"), FilesystemProbe.ProbeVolume(image));
    }

    [Theory]
    [InlineData("", "MYSEED", "2048")]          // FAT12
    [InlineData("-F 16", "DATA16", "20000")]
    [InlineData("-F 32", "BIG DISK", "40000")]  // FAT32 keeps label and serial elsewhere
    public void Vfat_gives_its_label_and_serial(string options, string label, string kib)
    {
        using var dir = new TempDir();
        string image = dir["fat.img"];
        var args = new List<string> { "-C", "-n", label, "-i", "1a2b3c4d" };
        if (options.Length > 0) args.AddRange(options.Split(' '));
        args.AddRange([image, kib]);
        var r = HostRun.Tool("mkfs.vfat", [.. args]);
        Assert.True(r.Exit == 0, r.Stderr);
        Assert.Equal(new VolumeInfo("vfat", label, "1A2B-3C4D"), FilesystemProbe.ProbeVolume(image));
        // The seed finder's view of the same disk is unchanged.
        Assert.Equal(new FilesystemInfo("vfat", label), FilesystemProbe.Probe(image));
    }

    [Fact]
    public void Squashfs_has_a_type_and_no_names()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["content"]);
        File.WriteAllText(Path.Combine(dir["content"], "f"), "x");
        var r = HostRun.Tool("mksquashfs", dir["content"], dir["root.sqfs"], "-quiet", "-no-progress");
        Assert.True(r.Exit == 0, r.Stderr);
        Assert.Equal(new VolumeInfo("squashfs", "", null), FilesystemProbe.ProbeVolume(dir["root.sqfs"]));
    }

    [Fact]
    public void Iso9660_gives_its_volume_id_and_creation_time_as_uuid()
    {
        var head = new byte[FilesystemProbe.VolumeProbeBytes];
        var pvd = head.AsSpan(32768);
        pvd[0] = 1;
        "CD001"u8.CopyTo(pvd[1..]);
        System.Text.Encoding.ASCII.GetBytes("cidata".PadRight(32)).CopyTo(pvd[40..]);
        "2026120213051700"u8.CopyTo(pvd[813..]);
        Assert.Equal(new VolumeInfo("iso9660", "cidata", "2026-12-02-13-05-17-00"), FilesystemProbe.IdentifyVolume(head));
    }

    [Fact]
    public void A_partition_table_or_zeros_is_no_volume()
    {
        using var dir = new TempDir();
        string disk = dir["disk.img"];
        File.WriteAllBytes(disk, new byte[4 << 20]);
        Assert.Null(FilesystemProbe.ProbeVolume(disk));
        // An MBR ends in 55 AA as a FAT boot sector does.
        var mbr = new byte[FilesystemProbe.VolumeProbeBytes];
        mbr[510] = 0x55;
        mbr[511] = 0xAA;
        mbr[11] = 0; mbr[12] = 2; mbr[13] = 1; // plausible BPB numbers in boot code
        Assert.Null(FilesystemProbe.IdentifyVolume(mbr));
        Assert.Null(FilesystemProbe.ProbeVolume(dir["missing"]));
    }
}
