using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Init.Stage2;

/// <summary>The mounts stage 2 adds to what stage 1 moved over (/dev, /proc, /sys).</summary>
public static class PseudoFilesystems
{
    public static void MountRest(Action<string> warn)
    {
        Mounts.MountAt("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666");
        Mounts.MountAt("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
        Mounts.MountAt("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC);
        Mounts.MountAt("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, "nsdelegate");
        Optional(warn, () => Mounts.Mount("securityfs", "/sys/kernel/security", "securityfs", MS_NOSUID | MS_NODEV | MS_NOEXEC));
        Optional(warn, () => Mounts.Mount("bpf", "/sys/fs/bpf", "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700"));
        foreach (var (link, target) in new[] { ("/dev/fd", "/proc/self/fd"), ("/dev/stdin", "/proc/self/fd/0"),
                     ("/dev/stdout", "/proc/self/fd/1"), ("/dev/stderr", "/proc/self/fd/2") })
            if (Files.TryStat(link) is null) Optional(warn, () => Files.Symlink(target, link));
    }

    private static void Optional(Action<string> warn, Action mount)
    {
        try { mount(); }
        catch (SyscallException e) { warn(e.Message); }
    }
}
