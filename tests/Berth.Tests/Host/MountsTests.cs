using Berth.Runtime.Linux;
using Xunit;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Tests.Host;

public class MountsTests
{
    private const long PROC_SUPER_MAGIC = 0x9fa0;

    [Fact]
    public void Table_has_one_entry_per_mountinfo_line_including_root_and_proc()
    {
        var table = Mounts.Table();
        int lines = File.ReadAllLines("/proc/self/mountinfo").Count(l => l.Length > 0);
        Assert.Equal(lines, table.Count);
        Assert.Contains(table, m => m.MountPoint == "/" && m.FsType.Length > 0 && m.Source.Length > 0);
        Assert.Contains(table, m => m.MountPoint == "/proc" && m.FsType == "proc");
        Assert.Equal(table.Count, table.Select(m => m.Id).Distinct().Count());
    }

    [Fact]
    public void FileSystemType_agrees_with_the_table()
    {
        Assert.Equal(PROC_SUPER_MAGIC, Mounts.FileSystemType("/proc"));
        var top = Mounts.Table().Last(m => m.MountPoint == "/");
        if (top.FsType == "ext4") Assert.Equal(EXT4_SUPER_MAGIC, Mounts.FileSystemType("/"));
        if (top.FsType == "tmpfs") Assert.Equal(TMPFS_MAGIC, Mounts.FileSystemType("/"));
        Assert.False(Mounts.IsReadOnly("/proc"));
        Assert.Equal(ENOENT, Assert.Throws<SyscallException>(() => Mounts.FileSystemType("/nonexistent/x")).Errno);
    }

    /// <summary>
    /// A tmpfs with spaces and a backslash in mount point and source, mounted in a private mount
    /// namespace of a child (unshare -m): nothing stays mounted on the host.
    /// </summary>
    [Fact]
    public void Escaped_mount_point_and_source_from_a_real_mountinfo()
    {
        using var dir = new TempDir();
        string target = dir["with space\\and backslash"];
        Directory.CreateDirectory(target);
        var (exit, stdout, stderr) = HostRun.Tool(HostRun.Which("/usr/bin/unshare", "/bin/unshare"),
            "-m", "--propagation", "private", "/bin/sh", "-c",
            "mount -t tmpfs -o size=1m 'berth src' \"$1\" && cat /proc/self/mountinfo", "sh", target);
        Assert.True(exit == 0, $"unshare/mount failed ({exit}): {stderr}");
        var parsed = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(MountInfo.Parse).ToList();
        Assert.All(parsed, Assert.NotNull);
        var m = Assert.Single(parsed, p => p!.MountPoint == target);
        Assert.Equal("tmpfs", m!.FsType);
        Assert.Equal("berth src", m.Source);
        Assert.Contains(@"with\040space\134and\040backslash", stdout); // the kernel really escaped it

        Assert.DoesNotContain(Mounts.Table(), t => t.MountPoint.StartsWith(dir.Path, StringComparison.Ordinal));
    }
}
