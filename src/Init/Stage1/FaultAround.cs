using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Init.Stage1;

/// <summary>
/// Sets how many neighbouring page-cache pages the kernel maps on a file-backed page fault
/// (debugfs fault_around_bytes, 64 KiB by default). Every Berth process runs the one berth binary:
/// once PID 1 has paged it in, each fault of a service mapped 15 more pages it never used, so a
/// service showed 9 MiB RSS of which 8 MiB were shared clean file pages (syslogd 9.8 -> 3.4 MiB,
/// acpid 9.1 -> 3.4 MiB at 4 KiB; 20 `berth version` runs took the same time either way under TCG).
/// Memory used is the same; page tables and RSS then hold what a process touches.
/// debugfs is mounted only for the write: nothing in the running system needs it.
/// </summary>
public static class FaultAround
{
    public const int DefaultBytes = 4096;
    private const string Mountpoint = "/sys/kernel/debug";

    /// <summary>Returns null when set, or why not (no debugfs, a kernel without the knob).</summary>
    public static string? Set(int bytes)
    {
        try
        {
            Mounts.Mount("debugfs", Mountpoint, "debugfs", MS_NOSUID | MS_NODEV | MS_NOEXEC);
        }
        catch (SyscallException e) { return e.Message; }
        try
        {
            return PseudoFile.TryWrite(Mountpoint + "/fault_around_bytes", bytes + "\n", out var error) ? null : error;
        }
        finally
        {
            try { Mounts.Unmount(Mountpoint); } catch (SyscallException) { }
        }
    }

    /// <summary>berth.fault_around_bytes=N (a power of two, 4096 up to 65536; 0 leaves the kernel's value).</summary>
    public static int? Parse(string? value, out string? problem)
    {
        problem = null;
        if (value is null) return DefaultBytes;
        if (!int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n)
            || (n != 0 && (n < 4096 || n > 65536 || (n & (n - 1)) != 0)))
        {
            problem = $"berth.fault_around_bytes={value}: want 0 or a power of two from 4096 to 65536; using {DefaultBytes}";
            return DefaultBytes;
        }
        return n == 0 ? null : n;
    }
}
