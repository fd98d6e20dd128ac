using Berth.Runtime.Storage;
using Xunit;

namespace Berth.Tests.Host;

/// <summary>The superblock probe that finds the NoCloud seed, over filesystems made by the real tools.</summary>
public class FilesystemProbeTests
{
    [Theory]
    [InlineData("", "cidata")]          // FAT12, as boot.sh --cloud-config makes it (2 MiB)
    [InlineData("-F 32", "CIDATA")]     // FAT32 keeps the label at another offset
    public void Vfat_labels_are_read_from_the_boot_sector(string options, string label)
    {
        using var dir = new TempDir();
        string image = dir["seed.img"];
        var args = new List<string> { "-C", "-n", label };
        if (options.Length > 0) args.AddRange(options.Split(' '));
        args.AddRange([image, options.Length > 0 ? "40000" : "2048"]);
        var r = HostRun.Tool("mkfs.vfat", [.. args]);
        Assert.True(r.Exit == 0, r.Stderr);
        Assert.Equal(new FilesystemInfo("vfat", label), FilesystemProbe.Probe(image));
    }

    [Fact]
    public void An_iso9660_primary_volume_descriptor_gives_its_volume_id()
    {
        var iso = new byte[2048];
        iso[0] = 1;
        "CD001"u8.CopyTo(iso.AsSpan(1));
        var id = System.Text.Encoding.ASCII.GetBytes("cidata".PadRight(32));
        id.CopyTo(iso.AsSpan(40));
        Assert.Equal(new FilesystemInfo("iso9660", "cidata"), FilesystemProbe.Identify(new byte[512], iso));
    }

    [Fact]
    public void Other_content_is_not_a_filesystem_we_know()
    {
        using var dir = new TempDir();
        string image = dir["ext4.img"];
        File.WriteAllBytes(image, new byte[1 << 20]);
        Assert.True(HostRun.Tool("mkfs.ext4", "-q", "-F", "-L", "cidata", image).Exit == 0);
        Assert.Null(FilesystemProbe.Probe(image));
        Assert.Null(FilesystemProbe.Probe(dir["missing"]));
        var random = new byte[512];
        new Random(1).NextBytes(random);
        Assert.Null(FilesystemProbe.Identify(random, new byte[2048]));
    }
}
