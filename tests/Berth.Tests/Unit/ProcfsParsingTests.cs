using Berth.Runtime.Linux;
using Xunit;

namespace Berth.Tests.Unit;

public class ProcessTableParseTests
{
    // /proc/PID/stat after the name: state ppid pgrp session tty_nr tpgid flags ...
    private const string Tail = " 0 0 0 0 0 0 0 0 20 0 1 0 10 0 0";

    [Fact]
    public void Plain_user_process()
    {
        var p = ProcessTable.Parse(1234, "1234 (sleep) S 1 1234 1234 34816 1234 4194304 117 0 0" + Tail);
        Assert.Equal(new ProcessEntry(1234, "sleep", 'S', 1, false), p);
    }

    [Fact]
    public void Name_with_spaces_and_parentheses_is_taken_up_to_the_last_parenthesis()
    {
        var p = ProcessTable.Parse(77, "77 (my (weird) name) R 42 77 77 0 -1 4194560 0 0" + Tail);
        Assert.Equal(new ProcessEntry(77, "my (weird) name", 'R', 42, false), p);
    }

    [Fact]
    public void Name_containing_close_paren_space_is_not_split()
    {
        var p = ProcessTable.Parse(5, "5 (a) b) Z 3 5 5 0 -1 4194316 0 0" + Tail);
        Assert.Equal(new ProcessEntry(5, "a) b", 'Z', 3, false), p);
    }

    [Fact]
    public void Kernel_thread_flag_PF_KTHREAD_is_detected()
    {
        // kthreadd: flags 2129984 = 0x208040 (PF_KTHREAD 0x200000 set)
        var p = ProcessTable.Parse(2, "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0" + Tail);
        Assert.Equal(new ProcessEntry(2, "kthreadd", 'S', 0, true), p);
        var worker = ProcessTable.Parse(9, "9 (kworker/0:0H-events_highpri) I 2 0 0 0 -1 69238880 0 0" + Tail);
        Assert.Equal(new ProcessEntry(9, "kworker/0:0H-events_highpri", 'I', 2, true), worker);
    }

    [Fact]
    public void Empty_name_parses()
    {
        Assert.Equal(new ProcessEntry(8, "", 'S', 1, false), ProcessTable.Parse(8, "8 () S 1 8 8 0 -1 0 0 0" + Tail));
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("1 (x)")]
    [InlineData("1 (x) S 1 1")]
    [InlineData("1 x) S 1 1 1 0 -1 0 0")]
    public void Malformed_stat_gives_null(string stat)
    {
        Assert.Null(ProcessTable.Parse(1, stat));
    }
}

public class MountInfoParseTests
{
    [Fact]
    public void Line_with_optional_fields()
    {
        var m = MountInfo.Parse("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue");
        Assert.Equal(new MountInfo(36, 35, "/mnt2", "rw,noatime", "ext3", "/dev/root"), m);
    }

    [Fact]
    public void Line_without_optional_fields()
    {
        var m = MountInfo.Parse("22 27 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw");
        Assert.Equal(new MountInfo(22, 27, "/proc", "rw,nosuid,nodev,noexec,relatime", "proc", "proc"), m);
    }

    [Fact]
    public void Octal_escapes_in_mount_point_and_source_are_decoded()
    {
        var m = MountInfo.Parse(@"63 43 0:39 / /tmp/x\040y\011z rw,relatime shared:5 - tmpfs my\040src rw");
        Assert.NotNull(m);
        Assert.Equal("/tmp/x y\tz", m.MountPoint);
        Assert.Equal("my src", m.Source);
    }

    [Fact]
    public void Escaped_backslash_newline_and_escape_at_the_end()
    {
        var m = MountInfo.Parse(@"70 43 0:40 / /mnt/back\134slash\012nl\040 rw - tmpfs none rw");
        Assert.NotNull(m);
        Assert.Equal("/mnt/back\\slash\nnl ", m.MountPoint);
    }

    [Theory]
    [InlineData("")]
    [InlineData("1 2 3")]
    [InlineData("36 35 98:0 /mnt1 /mnt2 rw,noatime ext3 /dev/root rw")] // no separator
    [InlineData("36 35 98:0 /mnt1 /mnt2 rw,noatime - ext3")]          // nothing after the type
    public void Malformed_line_gives_null(string line)
    {
        Assert.Null(MountInfo.Parse(line));
    }
}

public class ExitStatusTests
{
    [Theory]
    [InlineData(0x0000, 0, "exit code 0")]
    [InlineData(0x0300, 3, "exit code 3")]
    [InlineData(0x7f00, 127, "exit code 127")]
    [InlineData(0xff00, 255, "exit code 255")]
    public void Normal_exit(int raw, int code, string text)
    {
        var s = new ExitStatus(raw);
        Assert.True(s.Exited);
        Assert.Equal(code, s.Code);
        Assert.Equal(0, s.Signal);
        Assert.Equal(text, s.ToString());
    }

    [Theory]
    [InlineData(9, 9, "killed by signal 9")]
    [InlineData(15, 15, "killed by signal 15")]
    [InlineData(0x8b, 11, "killed by signal 11")] // SIGSEGV with the core-dump bit
    [InlineData(0x86, 6, "killed by signal 6")]   // SIGABRT with core
    public void Killed_by_signal(int raw, int signal, string text)
    {
        var s = new ExitStatus(raw);
        Assert.False(s.Exited);
        Assert.Equal(signal, s.Signal);
        Assert.Equal(text, s.ToString());
    }
}

public class SyscallExceptionTests
{
    [Fact]
    public void Message_names_operation_subject_and_errno()
    {
        var e = new SyscallException("open", "/dev/vda", 2);
        Assert.Equal("open /dev/vda failed: ENOENT (No such file or directory)", e.Message);
        Assert.Equal((2, "open", "/dev/vda"), (e.Errno, e.Operation, e.Subject));
        Assert.IsAssignableFrom<IOException>(e);
    }

    [Fact]
    public void Message_without_subject()
    {
        Assert.Equal("reboot failed: EPERM (Operation not permitted)", new SyscallException("reboot", null, 1).Message);
    }

    [Fact]
    public void Unknown_errno_is_shown_by_number()
    {
        Assert.StartsWith("errno 133 (", Errno.Describe(133));
        Assert.Equal("EBUSY (Device or resource busy)", Errno.Describe(16));
    }
}
