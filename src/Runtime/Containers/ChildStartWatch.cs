using Berth.Runtime.Linux;

namespace Berth.Runtime.Containers;

/// <summary>
/// Waits for a freshly cloned container child's Started message and tells a child that will never
/// send it. clone3 copies the parent at one instant; if another thread of the parent was in a GC
/// then, the copy inherits the runtime's "threads must stop" flag and the child, at the GC poll on
/// clone3's return, waits for a GC that nobody in its process will finish. Nothing the child can do
/// prevents that (the poll comes before any code of ours), so the parent recognises it: a child
/// that has not said Started and sits in futex(2) is that child, because before Started it makes no
/// other blocking call. A slow child is never mistaken for one, however loaded the machine is.
/// </summary>
internal static class ChildStartWatch
{
    private const long SYS_futex = 202;
    /// <summary>Where /proc/PID/syscall cannot be read (no ptrace access), how long a silent child is given.</summary>
    private const long BlindLimitMs = 10_000;

    /// <summary>Exited: the child died before it started (killed, or its cgroup's OOM killer); the caller finds that out as it would later.</summary>
    public enum Outcome { Started, Exited, Trapped }

    public static Outcome Await(int pid, FileDescriptor report)
    {
        long blindSince = -1;
        for (int waitMs = 1; ; waitMs = Math.Min(waitMs * 2, 50))
        {
            if (report.WaitReadable(waitMs))
                return ContainerCloner.ReadMessage(report) switch
                {
                    null => Outcome.Exited,
                    { Kind: ChildMessageKind.Started } => Outcome.Started,
                    { } m => throw new RuntimeException($"container child sent message {m.Kind} before it started"),
                };

            // Our copy of the report pipe's write end is still open, so a child that died shows no end of file.
            if (ContainerProcess.Stat(pid) is not { State: not ('Z' or 'X') }) return Outcome.Exited;
            long? call = BlockedSyscall(pid);
            if (call == SYS_futex) return Outcome.Trapped;
            if (call is null)
            {
                long now = Environment.TickCount64;
                if (blindSince < 0) blindSince = now;
                else if (now - blindSince > BlindLimitMs) return Outcome.Trapped;
            }
        }
    }

    /// <summary>The system call the process is blocked in; -1 while it runs; null if that cannot be read.</summary>
    internal static long? BlockedSyscall(int pid)
    {
        string? text = PseudoFile.TryRead($"/proc/{pid}/syscall", 256);
        if (string.IsNullOrEmpty(text)) return null;
        if (text.StartsWith("running", StringComparison.Ordinal)) return -1;
        int end = text.IndexOf(' ');
        return long.TryParse(end < 0 ? text.AsSpan().Trim() : text.AsSpan(0, end), out long n) ? n : null;
    }
}
