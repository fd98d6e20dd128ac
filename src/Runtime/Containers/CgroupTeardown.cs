using System.Runtime.InteropServices;
using Berth.Runtime.Interop;
using Berth.Runtime.Linux;

namespace Berth.Runtime.Containers;

/// <summary>
/// The end of a container's cgroup: whatever is still in it is killed, the kernel is given time to
/// let the processes go, then the cgroup and the parents the runtime made for it are removed.
/// </summary>
public static class CgroupTeardown
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    /// <param name="path">The container's cgroup directory; null if it had none.</param>
    /// <param name="createdFrom">The outermost directory made for it (see <see cref="CgroupPlacement.CreatedFrom"/>); null: the cgroup is emptied but stays.</param>
    /// <param name="joined">Another container's cgroup: left alone.</param>
    public static void Remove(string? path, string? createdFrom, bool joined, Action<string> warn)
    {
        if (path is null || joined || !Directory.Exists(path)) return;
        if (!KillAll(path))
        {
            warn($"cgroup {path}: processes still in it {Bound.TotalSeconds:0} s after SIGKILL; left in place");
            return;
        }
        if (createdFrom is null) return;
        foreach (var sub in CgroupHierarchy.SubCgroups(path)) RemoveTree(sub);
        if (!RemoveWithRetry(path, out int errno))
        {
            warn($"cannot remove cgroup {path}: {Errno.Describe(errno)}");
            return;
        }
        RemoveEmpty(CgroupPath.ParentOf(path), createdFrom);
    }

    /// <summary>rmdir of <paramref name="dir"/> and its parents while they are empty, up to and including <paramref name="outermost"/>.</summary>
    public static void RemoveEmpty(string dir, string outermost)
    {
        while (dir == outermost || dir.StartsWith(outermost + "/", StringComparison.Ordinal))
        {
            if (LibC.Rmdir(dir) < 0 && Marshal.GetLastPInvokeError() != Consts.ENOENT) return; // in use by another container
            if (dir == outermost) return;
            dir = CgroupPath.ParentOf(dir);
        }
    }

    /// <summary>cgroup.kill where the kernel has it (5.14), else SIGKILL to each pid until none is left; true once unpopulated.</summary>
    public static bool KillAll(string path)
    {
        string killFile = Path.Combine(path, "cgroup.kill");
        bool hasKill = File.Exists(killFile);
        long deadline = Environment.TickCount64 + (long)Bound.TotalMilliseconds;
        bool first = true;
        while (true)
        {
            var populated = CgroupHierarchy.Populated(path);
            if (populated == false) return true;
            if (populated is null && CgroupHierarchy.Processes(path).Count == 0) return true;
            if (first || !hasKill)
            {
                if (hasKill) PseudoFile.TryWrite(killFile, "1", out _);
                else foreach (int pid in CgroupHierarchy.Processes(path)) LibC.Kill(pid, Consts.SIGKILL);
                first = false;
            }
            if (Environment.TickCount64 > deadline) return false;
            Thread.Sleep(5);
        }
    }

    private static void RemoveTree(string dir)
    {
        foreach (var sub in CgroupHierarchy.SubCgroups(dir)) RemoveTree(sub);
        RemoveWithRetry(dir, out _);
    }

    /// <summary>rmdir, retrying EBUSY for a moment: the last exiting task can leave the cgroup just after populated turned 0.</summary>
    private static bool RemoveWithRetry(string dir, out int errno)
    {
        long deadline = Environment.TickCount64 + 2000;
        while (true)
        {
            if (LibC.Rmdir(dir) == 0) { errno = 0; return true; }
            errno = Marshal.GetLastPInvokeError();
            if (errno == Consts.ENOENT) return true;
            if (errno != Consts.EBUSY || Environment.TickCount64 > deadline) return false;
            Thread.Sleep(5);
        }
    }
}
