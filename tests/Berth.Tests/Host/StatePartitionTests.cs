using Berth.Init.Stage1;
using Berth.Runtime.Linux;
using Xunit;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Tests.Host;

public class StatePartitionProbeTests
{
    private const int MagicOffset = 1024 + 0x38;

    private static string Mkfs() => HostRun.Which("/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4");

    [Fact]
    public void All_zeros_is_blank()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir["zeros"], new byte[1 << 20]);
        Assert.Equal(StatePartition.Content.Blank, StatePartition.Probe(dir["zeros"]));
    }

    [Fact]
    public void Short_zero_file_is_blank_and_short_nonzero_file_is_other()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir["short0"], new byte[100]);
        File.WriteAllBytes(dir["short1"], [.. new byte[99], 1]);
        Assert.Equal(StatePartition.Content.Blank, StatePartition.Probe(dir["short0"]));
        Assert.Equal(StatePartition.Content.Other, StatePartition.Probe(dir["short1"]));
    }

    [Theory]
    [InlineData(16)]
    [InlineData(64)]
    public void Real_ext4_is_detected_and_its_size_read_from_the_superblock(int mib)
    {
        using var dir = new TempDir();
        string image = dir["state.img"];
        using (var f = File.Create(image)) f.SetLength((long)mib << 20);
        var (exit, _, stderr) = HostRun.Tool(Mkfs(), "-F", "-q", "-L", StatePartition.Label, image);
        Assert.True(exit == 0, $"mkfs.ext4 failed: {stderr}");
        Assert.Equal(StatePartition.Content.Ext4, StatePartition.Probe(image));
        Assert.Equal((long)mib << 20, StatePartition.FilesystemBytes(image));
    }

    [Fact]
    public void Ext4_made_smaller_than_the_file_reports_the_filesystem_size_not_the_file_size()
    {
        using var dir = new TempDir();
        string image = dir["grow.img"];
        using (var f = File.Create(image)) f.SetLength(64L << 20);
        var (exit, _, stderr) = HostRun.Tool(Mkfs(), "-F", "-q", "-b", "4096", image, "8M");
        Assert.True(exit == 0, $"mkfs.ext4 failed: {stderr}");
        Assert.Equal(StatePartition.Content.Ext4, StatePartition.Probe(image));
        Assert.Equal(8L << 20, StatePartition.FilesystemBytes(image));
    }

    [Fact]
    public void Random_bytes_are_other()
    {
        using var dir = new TempDir();
        var bytes = new byte[256 * 1024];
        new Random(42).NextBytes(bytes);
        bytes[MagicOffset] = 0x12; // make sure the random data does not happen to hold the ext4 magic
        File.WriteAllBytes(dir["random"], bytes);
        Assert.Equal(StatePartition.Content.Other, StatePartition.Probe(dir["random"]));
    }

    [Fact]
    public void Nonzero_byte_beyond_the_first_64KiB_is_still_blank()
    {
        using var dir = new TempDir();
        var bytes = new byte[1 << 20];
        bytes[64 * 1024] = 0xff;
        File.WriteAllBytes(dir["late"], bytes);
        Assert.Equal(StatePartition.Content.Blank, StatePartition.Probe(dir["late"]));
    }

    [Fact]
    public void The_ext4_magic_alone_is_enough()
    {
        using var dir = new TempDir();
        var bytes = new byte[8192];
        bytes[MagicOffset] = 0x53;
        bytes[MagicOffset + 1] = 0xEF;
        File.WriteAllBytes(dir["magic"], bytes);
        Assert.Equal(StatePartition.Content.Ext4, StatePartition.Probe(dir["magic"]));
        bytes[MagicOffset] = 0xEF; // wrong byte order
        bytes[MagicOffset + 1] = 0x53;
        File.WriteAllBytes(dir["swapped"], bytes);
        Assert.Equal(StatePartition.Content.Other, StatePartition.Probe(dir["swapped"]));
    }

    [Fact]
    public void Synthetic_64bit_superblock_uses_the_high_block_count()
    {
        using var dir = new TempDir();
        var sb = new byte[2048];
        BitConverter.GetBytes(5u).CopyTo(sb, 1024 + 0x04);      // s_blocks_count_lo
        BitConverter.GetBytes(2u).CopyTo(sb, 1024 + 0x18);      // s_log_block_size: 4096
        BitConverter.GetBytes(0x80u).CopyTo(sb, 1024 + 0x60);   // INCOMPAT_64BIT
        BitConverter.GetBytes(1u).CopyTo(sb, 1024 + 0x150);     // s_blocks_count_hi
        File.WriteAllBytes(dir["sb64"], sb);
        Assert.Equal(((1L << 32) + 5) * 4096, StatePartition.FilesystemBytes(dir["sb64"]));

        BitConverter.GetBytes(0u).CopyTo(sb, 1024 + 0x60);      // without 64bit the high word is ignored
        File.WriteAllBytes(dir["sb32"], sb);
        Assert.Equal(5L * 4096, StatePartition.FilesystemBytes(dir["sb32"]));
    }

    [Fact]
    public void Probe_of_a_missing_device_throws_naming_it()
    {
        var e = Assert.Throws<SyscallException>(() => StatePartition.Probe("/dev/berth-no-such-disk"));
        Assert.Equal(ENOENT, e.Errno);
        Assert.Equal("/dev/berth-no-such-disk", e.Subject);
    }

    [Fact]
    public void RunFromNewRoot_runs_the_program_through_the_roots_loader_and_returns_its_status()
    {
        // With "/" as the new root this runs the host's own /bin/sh through /lib64/ld-linux-x86-64.so.2.
        var state = new StatePartition("/");
        Assert.Equal(5, state.RunFromNewRoot("/bin/sh", "-c", "exit 5"));
        Assert.Equal(0, state.RunFromNewRoot("/bin/sh", "-c", "test \"$MKE2FS_CONFIG\" = /etc/mke2fs.conf && test \"$PATH\" = /bin"));
        Assert.Equal(128 + SIGTERM, state.RunFromNewRoot("/bin/sh", "-c", "kill -TERM $$; sleep 5"));
    }
}
