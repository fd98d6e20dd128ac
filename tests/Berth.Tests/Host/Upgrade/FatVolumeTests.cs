using Berth.Init.Upgrade;
using Berth.Qemu;
using Berth.Runtime.Linux;
using Xunit;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Tests.Host.Upgrade;

/// <summary>FatVolume against FAT images made by mkfs.vfat and mtools, as mkimage.sh makes the ESP.</summary>
public sealed class FatVolumeTests
{
    private static string MakeEsp(TempDir dir, int fatBits, int sizeKiB, params (string Path, byte[] Content)[] files)
    {
        string img = dir["esp.img"];
        HostTools.Checked("mkfs.vfat", "-C", "-F", fatBits.ToString(), "-n", "BERTH-ESP", img, sizeKiB.ToString());
        Environment.SetEnvironmentVariable("MTOOLS_SKIP_CHECK", "1");
        HostTools.Checked("mmd", "-i", img, "::/EFI", "::/grub");
        foreach (var (path, content) in files)
        {
            string local = dir["f-" + Guid.NewGuid().ToString("N")];
            File.WriteAllBytes(local, content);
            HostTools.Checked("mcopy", "-i", img, "-o", local, "::/" + path);
        }
        return img;
    }

    private static byte[] Random(int n, int seed) { var b = new byte[n]; new Random(seed).NextBytes(b); return b; }

    [Theory]
    [InlineData(16, 32 * 1024)]
    [InlineData(32, 64 * 1024)]
    [InlineData(12, 4 * 1024)]
    public void Locates_files_where_mtools_put_them(int fatBits, int sizeKiB)
    {
        using var dir = new TempDir();
        var env = Random(1024, 1);
        var bak = Random(1024, 2);
        var big = Random(20000, 3); // several clusters
        string img = MakeEsp(dir, fatBits, sizeKiB, ("EFI/filler.bin", Random(5000, 4)), ("grub/grubenv", env),
            ("grub/grubenv.bak", bak), ("grub/grub.cfg", big));
        using var fd = FileDescriptor.Open(img, O_RDONLY);
        var fat = new FatVolume(fd, img);
        foreach (var (path, content) in new[] { ("grub/grubenv", env), ("grub/grubenv.bak", bak), ("grub/grub.cfg", big), ("GRUB/GRUB.CFG", big) })
        {
            var (extents, size) = fat.Locate(path);
            Assert.Equal(content.Length, size);
            var read = new List<byte>();
            foreach (var e in extents)
            {
                var buf = new byte[e.Length];
                Assert.Equal(e.Length, fd.PRead(buf, e.Offset));
                read.AddRange(buf);
            }
            Assert.Equal(content, read.ToArray());
        }
        Assert.Contains("no 'grub/nothere'", Assert.Throws<GrubEnvironmentException>(() => fat.Locate("grub/nothere")).Message);
    }

    [Fact]
    public void Writes_through_the_extents_change_only_the_file_and_leave_the_volume_clean()
    {
        using var dir = new TempDir();
        var block = new GrubEnvironment().Set("A_OK", "1").Set("ORDER", "A B").Format();
        string img = MakeEsp(dir, 16, 32 * 1024, ("grub/grubenv", block), ("grub/grubenv.bak", block));
        byte[] before = File.ReadAllBytes(img);
        var changed = GrubEnvironment.Parse(block, "t").Set("ORDER", "B A").Format();
        using (var copies = new EspEnvCopies(img, writable: true))
        {
            copies.Write(0, changed);
            Assert.Equal(changed, copies.Read(0));
            Assert.Equal(block, copies.Read(1));
        }
        string outFile = dir["out"];
        HostTools.Checked("mcopy", "-n", "-i", img, "::/grub/grubenv", outFile);
        Assert.Equal(changed, File.ReadAllBytes(outFile));
        var fsck = HostTools.Run("fsck.vfat", "-n", img);
        Assert.True(fsck.ExitCode == 0, fsck.Output);
        byte[] after = File.ReadAllBytes(img);
        int differing = before.Zip(after).Count(p => p.First != p.Second);
        Assert.Equal(2, differing); // "A B" -> "B A": two bytes, nothing else on the volume
    }

    [Fact]
    public void Not_a_fat_volume_is_a_clear_error()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir["zero.img"], new byte[1 << 20]);
        var e = Assert.Throws<GrubEnvironmentException>(() => new EspEnvCopies(dir["zero.img"], writable: false));
        Assert.Contains("boot sector signature", e.Message);
    }
}
