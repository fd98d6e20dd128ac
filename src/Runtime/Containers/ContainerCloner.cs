using System.Runtime.InteropServices;
using Berth.Runtime.Interop;
using Berth.Runtime.Linux;

namespace Berth.Runtime.Containers;

/// <summary>
/// clone3 into new namespaces (and straight into the container's cgroup), with the child running
/// its <see cref="ChildPlan"/>. The parent's signals are blocked around the call so that the child
/// cannot run one of the parent's handlers before it has reset them.
/// </summary>
internal static unsafe class ContainerCloner
{
    private const ulong CLONE_INTO_CGROUP = 0x200000000;
    private const int SIG_SETMASK = 2, SIGCHLD = 17, CLONE_NEWPID = 0x20000000;

    /// <summary>A child trapped at birth (see <see cref="ChildStartWatch"/>) needs a GC under way at the instant of clone3: twice in a row is already rare.</summary>
    private const int MaxAttempts = 8;

    /// <param name="joinPidNamespace">An open pid namespace to create the child in (exec, or linux.namespaces pid with a path).</param>
    /// <param name="report">The parent's end of the report pipe, where the child's Started message arrives.</param>
    /// <returns>The child's pid, once it has said Started (or has died before, which the caller's next read of the report shows).</returns>
    public static int Clone(ChildPlan plan, ulong namespaceFlags, int cgroupFd, int reportFd, int goFd, FileDescriptor? joinPidNamespace,
        FileDescriptor report, IChildWaiter children, Action<string>? warn = null)
    {
        ChildOp* ops = plan.Seal();
        for (int attempt = 1; ; attempt++)
        {
            int pid = CloneOnce(ops, plan.Count, namespaceFlags, cgroupFd, reportFd, goFd, joinPidNamespace);
            if (ChildStartWatch.Await(pid, report) != ChildStartWatch.Outcome.Trapped) return pid;
            LibC.Kill(pid, Consts.SIGKILL);
            children.Wait(pid);
            if (attempt == MaxAttempts)
                throw new RuntimeException($"the container child was trapped in the parent's garbage collection {MaxAttempts} times in a row");
            warn?.Invoke($"container child {pid} was cloned during a garbage collection and could not start; cloning again");
        }
    }

    private static int CloneOnce(ChildOp* ops, int count, ulong namespaceFlags, int cgroupFd, int reportFd, int goFd, FileDescriptor? joinPidNamespace)
    {

        // setns(CLONE_NEWPID) changes only this thread's pid namespace for children, so it is
        // allowed in a multi-threaded process; it is undone right after the clone.
        FileDescriptor? ownPidNamespace = null;
        if (joinPidNamespace is not null)
        {
            ownPidNamespace = FileDescriptor.Open("/proc/thread-self/ns/pid", Consts.O_RDONLY);
            if (LibC.Setns(joinPidNamespace.Fd, CLONE_NEWPID) < 0)
                throw SyscallException.Last("setns", joinPidNamespace.Path);
        }
        try
        {
            var args = new LibC.CloneArgs
            {
                Flags = namespaceFlags | (cgroupFd >= 0 ? CLONE_INTO_CGROUP : 0),
                ExitSignal = SIGCHLD,
                Cgroup = cgroupFd >= 0 ? (ulong)cgroupFd : 0,
            };
            ulong all = ~0UL, old = 0;
            LibC.PthreadSigmask(SIG_SETMASK, &all, &old);
            long pid = LibC.RawSyscall2(LibC.SYS_clone3, (nint)(&args), sizeof(LibC.CloneArgs));
            if (pid == 0) ContainerChild.Run(ops, count, reportFd, goFd);
            int errno = pid < 0 ? *LibC.ErrnoLocation() : 0;
            LibC.PthreadSigmask(SIG_SETMASK, &old, null);
            if (pid < 0)
                throw new SyscallException("clone3", $"flags 0x{args.Flags:x}" + (cgroupFd >= 0 ? " into the container's cgroup" : ""), errno);
            return (int)pid;
        }
        finally
        {
            if (ownPidNamespace is not null)
            {
                LibC.Setns(ownPidNamespace.Fd, CLONE_NEWPID);
                ownPidNamespace.Dispose();
            }
        }
    }

    /// <summary>A pipe whose ends close on exec: the child's report end closing is how the parent learns of a successful execve.</summary>
    public static (FileDescriptor Read, FileDescriptor Write) Pipe(string what) => Pipes.Create(what);

    public static ChildMessage? ReadMessage(FileDescriptor report)
    {
        ChildMessage m = default;
        int got = 0;
        while (got < sizeof(ChildMessage))
        {
            int n = report.Read(new Span<byte>((byte*)&m + got, sizeof(ChildMessage) - got));
            if (n == 0) return got == 0 ? null : throw new RuntimeException("container child sent a truncated report");
            got += n;
        }
        return m;
    }

    public static string Explain(ChildPlan plan, ChildMessage m)
    {
        string step = m.Step >= 0 && m.Step < plan.Count ? plan.Descriptions[m.Step] : $"step {m.Step}";
        return m.Kind switch
        {
            ChildMessageKind.HookFailed when m.Errno == 110 => $"{step}: timed out",
            ChildMessageKind.HookFailed => $"{step}: {ContainerProcess.DescribeStatus(m.Extra)}",
            _ => $"{step}: {Errno.Describe(m.Errno)}",
        };
    }

    public static int LastErrno => Marshal.GetLastPInvokeError();
}
