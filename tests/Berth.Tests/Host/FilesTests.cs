using System.Text;
using Berth.Runtime.Linux;
using Xunit;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Tests.Host;

public class FilesTests
{
    [Fact]
    public void WriteAtomically_creates_the_file_with_exactly_the_content_and_no_temp_file()
    {
        using var dir = new TempDir();
        Files.WriteAtomically(dir["hostname"], "berth-1\n"u8);
        Assert.Equal("berth-1\n", File.ReadAllText(dir["hostname"]));
        Assert.Equal(["hostname"], Directory.EnumerateFileSystemEntries(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void WriteAtomically_replaces_longer_content_through_a_new_inode()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["config"], new string('x', 10_000));
        var before = Files.LStat(dir["config"]);
        Files.WriteAtomically(dir["config"], "short"u8);
        Assert.Equal("short", File.ReadAllText(dir["config"]));
        Assert.NotEqual(before.Inode, Files.LStat(dir["config"]).Inode); // renamed over, not rewritten in place
        Assert.Equal(["config"], Directory.EnumerateFileSystemEntries(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void WriteAtomically_overwrites_a_stale_temp_file_left_by_a_crash()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir[".state.tmp"], new string('j', 5000));
        Files.WriteAtomically(dir["state"], "new"u8);
        Assert.Equal("new", File.ReadAllText(dir["state"]));
        Assert.False(File.Exists(dir[".state.tmp"]));
    }

    [Fact]
    public void WriteAtomically_applies_the_requested_mode_and_writes_empty_content()
    {
        using var dir = new TempDir();
        Files.WriteAtomically(dir["secret"], ReadOnlySpan<byte>.Empty, mode: 0x180 /* 0600 */);
        Assert.Equal(0, new FileInfo(dir["secret"]).Length);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(dir["secret"]));
    }

    [Fact]
    public void WriteAtomically_into_a_missing_directory_throws_naming_the_temp_file()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<SyscallException>(() => Files.WriteAtomically(dir["missing/file"], "x"u8));
        Assert.Equal(ENOENT, e.Errno);
        Assert.Equal(dir["missing/.file.tmp"], e.Subject);
    }

    [Fact]
    public void MakeDirectories_creates_every_level_and_tolerates_existing_ones()
    {
        using var dir = new TempDir();
        Files.MakeDirectories(dir["a/b/c"]);
        Files.MakeDirectories(dir["a/b/c"]);
        Files.MakeDirectories(dir["a/b/d"], 0x1c0 /* 0700 */);
        Assert.True(Directory.Exists(dir["a/b/c"]));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(dir["a/b/d"]));
    }

    [Fact]
    public void LStat_TryStat_and_Symlink()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["target"], "12345");
        Files.Symlink("target", dir["link"]);
        var link = Files.LStat(dir["link"]);
        Assert.True(link.IsSymlink);
        Assert.False(link.IsRegular);
        var target = Files.TryStat(dir["link"]);
        Assert.NotNull(target);
        Assert.True(target.Value.IsRegular);
        Assert.Equal(5, target.Value.Size);
        Assert.Equal(Files.LStat(dir["target"]).Inode, target.Value.Inode);
        Assert.True(Files.LStat(dir.Path).IsDirectory);
        Assert.Null(Files.TryStat(dir["nothing"]));
        var e = Assert.Throws<SyscallException>(() => Files.LStat(dir["nothing"]));
        Assert.Equal($"lstat {dir["nothing"]} failed: ENOENT (No such file or directory)", e.Message);
    }

    [Fact]
    public void Unlink_and_RemoveDirectory()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["f"], "");
        Directory.CreateDirectory(dir["d"]);
        Files.Unlink(dir["f"]);
        Files.RemoveDirectory(dir["d"]);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path));
        Assert.Equal(ENOENT, Assert.Throws<SyscallException>(() => Files.Unlink(dir["f"])).Errno);
    }
}

public class PseudoFileTests
{
    [Fact]
    public void Write_then_Read_round_trips_utf8()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["f"], "");
        PseudoFile.Write(dir["f"], "+cpu +memory ü\n");
        Assert.Equal("+cpu +memory ü\n", PseudoFile.Read(dir["f"]));
    }

    [Fact]
    public void Read_stops_at_max_bytes_and_reads_big_files_completely()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["small"], "0123456789abcdef");
        Assert.Equal("0123456789", PseudoFile.Read(dir["small"], 10));
        string big = string.Concat(Enumerable.Range(0, 30_000).Select(i => $"{i}\n"));
        File.WriteAllText(dir["big"], big);
        Assert.Equal(big, PseudoFile.Read(dir["big"], 1 << 20));
    }

    [Fact]
    public void Read_of_a_real_proc_file()
    {
        string text = PseudoFile.Read("/proc/self/stat");
        Assert.StartsWith($"{Environment.ProcessId} (", text);
    }

    [Fact]
    public void Write_to_a_real_proc_file_changes_the_thread_name()
    {
        const string path = "/proc/thread-self/comm";
        string saved = PseudoFile.Read(path).TrimEnd('\n');
        try
        {
            PseudoFile.Write(path, "berth-pf-test");
            Assert.Equal("berth-pf-test\n", PseudoFile.Read(path));
        }
        finally { PseudoFile.Write(path, saved); }
    }

    [Fact]
    public void Missing_file_Read_throws_TryRead_is_null_TryWrite_is_false_with_the_message()
    {
        const string path = "/nonexistent/berth/file";
        var e = Assert.Throws<SyscallException>(() => PseudoFile.Read(path));
        Assert.Equal($"open {path} failed: ENOENT (No such file or directory)", e.Message);
        Assert.Null(PseudoFile.TryRead(path));
        Assert.False(PseudoFile.TryWrite(path, "1", out var error));
        Assert.Equal($"open {path} failed: ENOENT (No such file or directory)", error);
    }

    [Fact]
    public void TryWrite_success_has_no_error()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["f"], "");
        Assert.True(PseudoFile.TryWrite(dir["f"], "1", out var error));
        Assert.Null(error);
        Assert.Equal("1", File.ReadAllText(dir["f"]));
    }

    [Fact]
    public void Kernel_rejection_of_a_write_is_reported()
    {
        // /proc/self/oom_score_adj accepts -1000..1000 only.
        Assert.False(PseudoFile.TryWrite("/proc/self/oom_score_adj", "5000", out var error));
        Assert.Equal("write /proc/self/oom_score_adj failed: EINVAL (Invalid argument)", error);
    }
}
