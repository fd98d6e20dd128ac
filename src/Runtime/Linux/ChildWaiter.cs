using Berth.Runtime.Interop;

namespace Berth.Runtime.Linux;

/// <summary>
/// Who collects the exit status of a child the runtime started itself (a container's init, a
/// hook). A runtime command waits with wait4; PID 1, whose <see cref="ChildReaper"/> thread
/// collects every child, hands the status over instead, so the two never race for one child.
/// </summary>
public interface IChildWaiter
{
    /// <summary>Blocks until the child has exited; returns its raw wait status.</summary>
    int Wait(int pid);
}

/// <summary>wait4 on the child, through EINTR: for processes that have no reaper thread.</summary>
public sealed unsafe class DirectChildWaiter : IChildWaiter
{
    public static readonly DirectChildWaiter Instance = new();

    public int Wait(int pid)
    {
        int status;
        while (LibC.Wait4Raw(pid, &status, 0, null) < 0)
        {
            int errno = *LibC.ErrnoLocation();
            if (errno != Consts.EINTR) throw new SyscallException("wait4", pid.ToString(), errno);
        }
        return status;
    }
}
