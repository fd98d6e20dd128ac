using System.Runtime.InteropServices;
using Berth.Runtime.Linux;
using Xunit;
using static Berth.Runtime.Interop.Consts;
using static Berth.Tests.Host.HostRun;

namespace Berth.Tests.Host;

/// <summary>
/// ProcessSpawner.Spawn with the static ChildReaper.WaitFor, as stage 1 uses them. These run in the
/// parallel phase, before any ChildReaper thread (which reaps every child of the process) exists.
/// </summary>
public partial class ProcessSpawnerTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(255)]
    public void Exit_code_is_passed_through(int code)
    {
        var status = SpawnAndWait(Sh($"exit {code}"));
        Assert.True(status.Exited);
        Assert.Equal(code, status.Code);
        Assert.Equal($"exit code {code}", status.ToString());
    }

    [Theory]
    [InlineData(SIGTERM)]
    [InlineData(SIGKILL)]
    [InlineData(SIGINT)]
    [InlineData(SIGUSR1)]
    public void Death_by_signal_is_passed_through(int signal)
    {
        var status = SpawnAndWait(Sh($"kill -{signal} $$; sleep 5"));
        Assert.False(status.Exited);
        Assert.Equal(signal, status.Signal);
    }

    [Fact]
    public void SIGPIPE_kills_the_child_although_this_runtime_ignores_it()
    {
        // Precondition that makes the test meaningful: the .NET runtime ignores SIGPIPE, and an
        // ignored disposition survives exec unless posix_spawn resets it.
        Assert.NotEqual(0UL, SignalMask(File.ReadAllText("/proc/self/status"), "SigIgn") & Bit(SIGPIPE));
        var status = SpawnAndWait(Sh("kill -PIPE $$; sleep 5"));
        Assert.Equal("killed by signal 13", status.ToString());
    }

    /// <summary>Spawns grep on its own /proc/self/status while this thread blocks SIGUSR1, SIGUSR2 and SIGTERM.</summary>
    private static string ChildSignalState()
    {
        using var dir = new TempDir();
        var block = new ulong[16];
        var old = new ulong[16];
        block[0] = Bit(SIGUSR1) | Bit(SIGUSR2) | Bit(SIGTERM);
        Assert.Equal(0, PThreadSigMask(SIG_BLOCK, block, old));
        ExitStatus status;
        try
        {
            status = SpawnAndWait(new SpawnSpec
            {
                Executable = "/bin/grep",
                Arguments = ["-E", "^Sig(Ign|Blk):", "/proc/self/status"],
                OutputPath = dir["status"],
            });
        }
        finally { Assert.Equal(0, PThreadSigMask(SIG_SETMASK, old, null)); }
        Assert.Equal(0, status.Code);
        return File.ReadAllText(dir["status"]);
    }

    [Fact]
    public void Child_has_an_empty_signal_mask_even_if_the_spawning_thread_blocks_some()
    {
        Assert.Equal(0UL, SignalMask(ChildSignalState(), "SigBlk"));
    }

    [Fact]
    public void Child_ignores_none_of_the_standard_signals()
    {
        Assert.Equal(0UL, SignalMask(ChildSignalState(), "SigIgn") & 0x7fffffffUL); // signals 1..31, SIGPIPE among them
    }

    [Fact]
    public void Child_ignores_no_signal_at_all()
    {
        Assert.Equal(0UL, SignalMask(ChildSignalState(), "SigIgn"));
    }

    [Fact]
    public void Argv_zero_is_the_executable_name_and_arguments_pass_unchanged()
    {
        using var dir = new TempDir();
        var status = SpawnAndWait(new SpawnSpec
        {
            Executable = "/bin/cat",
            Arguments = ["/proc/self/cmdline"],
            OutputPath = dir["out"],
        });
        Assert.Equal(0, status.Code);
        Assert.Equal("cat\0/proc/self/cmdline\0", File.ReadAllText(dir["out"]));

        var args = new[] { "a b", "", "ü-€", "--x=\"q\"", "$HOME", "*" };
        Assert.Equal(0, SpawnAndWait(Sh("for a; do printf '<%s>' \"$a\"; done", dir["args"], args)).Code);
        Assert.Equal("<a b><><ü-€><--x=\"q\"><$HOME><*>", File.ReadAllText(dir["args"]));
    }

    [Fact]
    public void Environment_is_exactly_the_given_one()
    {
        using var dir = new TempDir();
        var status = SpawnAndWait(new SpawnSpec
        {
            Executable = "/usr/bin/env",
            Environment = new Dictionary<string, string> { ["FOO"] = "bar baz", ["EMPTY"] = "" },
            OutputPath = dir["env"],
        });
        Assert.Equal(0, status.Code);
        Assert.Equal(["EMPTY=", "FOO=bar baz"], File.ReadAllLines(dir["env"]).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Default_environment_is_used_when_none_is_given()
    {
        using var dir = new TempDir();
        Assert.Equal(0, SpawnAndWait(new SpawnSpec { Executable = "/usr/bin/env", OutputPath = dir["env"] }).Code);
        Assert.Equal(
            ProcessSpawner.DefaultEnvironment.Select(kv => $"{kv.Key}={kv.Value}").Order(StringComparer.Ordinal),
            File.ReadAllLines(dir["env"]).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Working_directory_is_honoured()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["work dir"]);
        Assert.Equal(0, SpawnAndWait(new SpawnSpec
        {
            Executable = "/bin/pwd",
            Arguments = ["-P"],
            WorkingDirectory = dir["work dir"],
            OutputPath = dir["pwd"],
        }).Code);
        string expected = new DirectoryInfo(dir["work dir"]).ResolveLinkTarget(true)?.FullName ?? RealPath(dir["work dir"]);
        Assert.Equal(expected + "\n", File.ReadAllText(dir["pwd"]));
    }

    [Fact]
    public void OutputPath_captures_stdout_and_stderr_appending_and_stdin_is_dev_null()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["log"], "earlier\n");
        var status = SpawnAndWait(Sh("echo out; echo err >&2; readlink /proc/self/fd/0; cat; echo out2", dir["log"]));
        Assert.Equal(0, status.Code);
        Assert.Equal("earlier\nout\nerr\n/dev/null\nout2\n", File.ReadAllText(dir["log"]));
    }

    [Fact]
    public void OutputPath_is_created_with_mode_0644()
    {
        using var dir = new TempDir();
        Assert.Equal(0, SpawnAndWait(Sh("echo x", dir["new.log"])).Code);
        int umask = Convert.ToInt32(File.ReadAllLines("/proc/self/status").Single(l => l.StartsWith("Umask:", StringComparison.Ordinal)).Split('\t')[1], 8);
        Assert.Equal((UnixFileMode)(0x1a4 & ~umask), File.GetUnixFileMode(dir["new.log"]));
    }

    [Fact]
    public void StdioPath_becomes_stdin_stdout_and_stderr()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["tty"], "");
        var status = SpawnAndWait(new SpawnSpec
        {
            Executable = "/bin/sh",
            Arguments = ["-c", "echo hi; echo err >&2; readlink /proc/self/fd/0"],
            StdioPath = dir["tty"],
        });
        Assert.Equal(0, status.Code);
        Assert.Equal($"hi\nerr\n{dir["tty"]}\n", File.ReadAllText(dir["tty"]));
    }

    [Fact]
    public void NewSession_makes_the_child_a_session_leader()
    {
        int pid = ProcessSpawner.Spawn(new SpawnSpec { Executable = "/bin/sleep", Arguments = ["5"], NewSession = true });
        int other = ProcessSpawner.Spawn(new SpawnSpec { Executable = "/bin/sleep", Arguments = ["5"] });
        try
        {
            Assert.Equal(pid, Session(pid));
            Assert.Equal(Session(Environment.ProcessId), Session(other));
        }
        finally
        {
            SystemControl.Kill(pid, SIGKILL);
            SystemControl.Kill(other, SIGKILL);
            ChildReaper.WaitFor(pid);
            ChildReaper.WaitFor(other);
        }
    }

    [Fact]
    public void Missing_executable_throws_ENOENT_naming_it()
    {
        var e = Assert.Throws<SyscallException>(() => ProcessSpawner.Spawn(new SpawnSpec { Executable = "/nonexistent/berth-x" }));
        Assert.Equal(ENOENT, e.Errno);
        Assert.Equal("posix_spawn /nonexistent/berth-x failed: ENOENT (No such file or directory)", e.Message);
    }

    [Fact]
    public void Missing_working_directory_fails_the_spawn()
    {
        var e = Assert.Throws<SyscallException>(() =>
            ProcessSpawner.Spawn(new SpawnSpec { Executable = "/bin/true", WorkingDirectory = "/nonexistent/dir" }));
        Assert.Equal(ENOENT, e.Errno);
    }

    [Fact]
    public void WaitFor_a_process_that_is_not_our_child_throws_ECHILD()
    {
        var e = Assert.Throws<SyscallException>(() => ChildReaper.WaitFor(1));
        Assert.Equal(ECHILD, e.Errno);
        Assert.Equal("wait4 1 failed: ECHILD (No child processes)", e.Message);
    }

    [Fact]
    public void Describe_joins_executable_and_arguments()
    {
        Assert.Equal("/sbin/getty -L 115200 ttyS0 vt100",
            ProcessSpawner.Describe(new SpawnSpec { Executable = "/sbin/getty", Arguments = ["-L", "115200", "ttyS0", "vt100"] }));
    }

    private static int Session(int pid)
    {
        // after "(name) ": state ppid pgrp session
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[3]);
    }

    private static string RealPath(string path)
    {
        var p = RealPathNative(path, IntPtr.Zero);
        try { return Marshal.PtrToStringUTF8(p)!; } finally { Marshal.FreeHGlobal(p); }
    }

    private const int SIG_BLOCK = 0, SIG_SETMASK = 2;

    [LibraryImport("libc", EntryPoint = "pthread_sigmask")]
    private static partial int PThreadSigMask(int how, ulong[] set, ulong[]? oldSet);

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr RealPathNative(string path, IntPtr resolved);
}
