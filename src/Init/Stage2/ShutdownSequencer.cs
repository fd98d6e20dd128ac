using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Init.Stage2;

/// <summary>
/// The orderly end: services in reverse order, then SIGTERM to everything left, a grace period,
/// SIGKILL, sync, unmount (or remount read-only what is busy), and reboot(2).
/// </summary>
public sealed class ShutdownSequencer(ServiceSupervisor supervisor, TimeSpan grace)
{
    private int _started;

    /// <summary>Runs once; later requests while shutting down are ignored. Never returns.</summary>
    public void Run(PowerAction action, string reason)
    {
        if (Interlocked.Exchange(ref _started, 1) == 1) { Thread.Sleep(Timeout.Infinite); return; }
        BootLog.Notice($"{reason}: {action.ToString().ToLowerInvariant()} — stopping services");
        Step("stop services", () => supervisor.StopAll(grace));
        Step("terminate processes", () =>
        {
            SystemControl.Kill(-1, SIGTERM);
            SystemControl.Kill(-1, SIGCONT);
            if (!ChildReaper.WaitForNoUserProcesses(grace))
            {
                var left = ProcessTable.UserProcesses();
                BootLog.Warn($"{left.Count} process(es) ignored SIGTERM ({string.Join(", ", left.Take(8).Select(p => $"{p.Pid} {p.Name}"))}); sending SIGKILL");
                SystemControl.Kill(-1, SIGKILL);
                ChildReaper.WaitForNoUserProcesses(TimeSpan.FromSeconds(3));
            }
        });
        Step("close service logs", ServiceLog.CloseAll);
        Step("sync", SystemControl.Sync);
        Step("unmount", UnmountAll);
        SystemControl.Sync();
        BootLog.Notice($"{action.ToString().ToLowerInvariant()} now");
        while (true)
        {
            try { SystemControl.Reboot(action); }
            catch (Exception e) { BootLog.Error(e.Message); }
            Thread.Sleep(1000);
        }
    }

    private static void Step(string name, Action action)
    {
        try { action(); }
        catch (Exception e) { BootLog.Error($"shutdown: {name}: {e.Message}"); }
    }

    /// <summary>Pseudo-filesystems stay; everything else goes, innermost first.</summary>
    private static void UnmountAll()
    {
        string[] keep = ["/", "/proc", "/sys", "/dev"];
        foreach (var m in Mounts.Table().Reverse())
        {
            if (keep.Contains(m.MountPoint) || m.MountPoint.StartsWith("/proc/", StringComparison.Ordinal)
                || m.MountPoint.StartsWith("/sys/", StringComparison.Ordinal)
                || m.MountPoint.StartsWith("/dev/", StringComparison.Ordinal))
                continue;
            try { Mounts.Unmount(m.MountPoint); }
            catch (SyscallException e)
            {
                try
                {
                    Mounts.RemountReadOnly(m.MountPoint);
                    BootLog.Warn($"{e.Message}; remounted read-only instead");
                }
                catch (SyscallException e2) { BootLog.Error($"{e.Message}; remount read-only: {e2.Message}"); }
            }
        }
    }
}
