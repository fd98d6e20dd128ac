using System.Runtime.InteropServices;
using Berth.Runtime.Interop;
using Berth.Runtime.Linux;
using Berth.Runtime.Oci;

namespace Berth.Runtime.Containers;

/// <summary>The container's init process as seen from any runtime command: alive, which state, waiting for it.</summary>
public static unsafe class ContainerProcess
{
    /// <summary>Field 22 (starttime) of /proc/PID/stat, and the state letter; null if there is no such process.</summary>
    public static (ulong StartTime, char State)? Stat(int pid)
    {
        if (pid <= 0) return null;
        var stat = PseudoFile.TryRead($"/proc/{pid}/stat", 2048);
        return stat is null ? null : ParseStat(stat);
    }

    public static (ulong StartTime, char State)? ParseStat(string stat)
    {
        int close = stat.LastIndexOf(')');
        if (close < 0 || close + 2 >= stat.Length) return null;
        var fields = stat[(close + 2)..].Split(' ');
        // fields[0] is field 3 (state); starttime is field 22.
        if (fields.Length < 20 || !ulong.TryParse(fields[19], out ulong start)) return null;
        return (start, fields[0][0]);
    }

    public static ContainerStatus StatusOf(ContainerStore store, ContainerRecord r)
    {
        if (Stat(r.Pid) is not { } s || s.StartTime != r.PidStartTime || s.State is 'Z' or 'X') return ContainerStatus.Stopped;
        return File.Exists(Path.Combine(store.DirectoryOf(r.Id), ContainerStore.FifoName)) ? ContainerStatus.Created : ContainerStatus.Running;
    }

    public static ContainerState StateOf(ContainerStore store, ContainerRecord r)
    {
        var status = StatusOf(store, r);
        var oom = OomReport.Read(r.Cgroup);
        return new ContainerState
        {
            Id = r.Id,
            Status = status,
            Pid = status == ContainerStatus.Stopped ? 0 : r.Pid,
            Bundle = r.Bundle,
            Annotations = r.Annotations,
            OomKills = oom?.OomKills,
            MemoryMax = oom?.MemoryMax,
        };
    }

    /// <summary>A pidfd: signals and waits that cannot hit a recycled pid. Null if the process is gone.</summary>
    public static FileDescriptor? Open(int pid)
    {
        long fd = LibC.Syscall2(LibC.SYS_pidfd_open, pid, 0);
        if (fd >= 0) return new FileDescriptor((int)fd, $"pidfd {pid}");
        int errno = Marshal.GetLastPInvokeError();
        return errno == Consts.ESRCH ? null : throw new SyscallException("pidfd_open", pid.ToString(), errno);
    }

    /// <summary>Waits until the process has exited (it need not be our child). False on timeout.</summary>
    public static bool WaitForExit(FileDescriptor pidfd, TimeSpan timeout)
    {
        var pfd = new LibC.PollFd { Fd = pidfd.Fd, Events = 1 };
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (true)
        {
            int left = (int)Math.Max(0, deadline - Environment.TickCount64);
            int r = LibC.PollRaw(&pfd, 1, left);
            if (r > 0) return true;
            if (r == 0) return false;
            if (*LibC.ErrnoLocation() != Consts.EINTR) throw new SyscallException("poll", pidfd.Path, *LibC.ErrnoLocation());
        }
    }

    public static void Signal(FileDescriptor pidfd, int signal)
    {
        // pidfd_send_signal (424): the pid cannot have been reused since the pidfd was opened.
        if (LibC.Syscall4(424, pidfd.Fd, signal, 0, 0) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno != Consts.ESRCH) throw new SyscallException("pidfd_send_signal", $"{pidfd.Path} signal {signal}", errno);
        }
    }

    /// <summary>wait4 on our own child, through EINTR.</summary>
    public static int WaitChild(int pid) => DirectChildWaiter.Instance.Wait(pid);

    /// <summary>A wait status as a shell exit code: the code, or 128 + the signal.</summary>
    public static int ExitCode(int status) => (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);

    public static string DescribeStatus(int status) =>
        (status & 0x7f) == 0 ? $"exit code {(status >> 8) & 0xff}" : $"killed by signal {status & 0x7f}";
}
