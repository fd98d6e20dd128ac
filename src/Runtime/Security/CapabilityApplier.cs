using Berth.Runtime.Interop;
using Berth.Runtime.Linux;

namespace Berth.Runtime.Security;

/// <summary>The three capability masks of a thread, as capget reports them.</summary>
public readonly record struct ThreadCapabilities(CapabilitySet Effective, CapabilitySet Permitted, CapabilitySet Inheritable);

/// <summary>
/// Applies a <see cref="CapabilityPlan"/> to the calling thread. Capabilities are per thread: this
/// is meant for the single-threaded container init, just before execve. Order, as runc does it:
/// <list type="number">
/// <item><see cref="DropBounding"/> (needs CAP_SETPCAP, so first);</item>
/// <item>if the uid changes: <see cref="KeepCapabilities"/>(true), then setgroups/setresgid/setresuid
/// (otherwise the kernel clears permitted on the switch away from uid 0);</item>
/// <item><see cref="ApplySets"/>: capset and the ambient set.</item>
/// </list>
/// <see cref="Apply"/> does 1 and 3 when the uid does not change.
/// </summary>
public static unsafe class CapabilityApplier
{
    private const uint LinuxCapabilityVersion3 = 0x20080522;
    private const int PR_SET_KEEPCAPS = 8, PR_CAPBSET_READ = 23, PR_CAPBSET_DROP = 24, PR_CAP_AMBIENT = 47;
    private const int PR_CAP_AMBIENT_RAISE = 2, PR_CAP_AMBIENT_CLEAR_ALL = 4;

    /// <summary>The highest capability of the running kernel (/proc/sys/kernel/cap_last_cap).</summary>
    public static int ReadLastCap()
    {
        try
        {
            return int.Parse(File.ReadAllText("/proc/sys/kernel/cap_last_cap").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            // No /proc yet: probe the bounding set, which answers EINVAL past the last capability.
            int last = 0;
            while (last < 63 && LibC.Prctl(PR_CAPBSET_READ, (nuint)(last + 1), 0, 0, 0) >= 0) last++;
            return last;
        }
    }

    public static void Apply(CapabilityPlan plan)
    {
        DropBounding(plan);
        ApplySets(plan);
    }

    public static void DropBounding(CapabilityPlan plan)
    {
        foreach (int cap in plan.BoundingDrops)
            if (LibC.Prctl(PR_CAPBSET_DROP, (nuint)cap, 0, 0, 0) < 0)
                throw SyscallException.Last("prctl(PR_CAPBSET_DROP)", Capabilities.Name(cap));
    }

    /// <summary>PR_SET_KEEPCAPS: keep permitted capabilities across a setuid away from 0.</summary>
    public static void KeepCapabilities(bool keep)
    {
        if (LibC.Prctl(PR_SET_KEEPCAPS, keep ? 1u : 0u, 0, 0, 0) < 0)
            throw SyscallException.Last("prctl(PR_SET_KEEPCAPS)");
    }

    /// <summary>Sets effective, permitted and inheritable with capset (v3), then exactly the planned ambient set.</summary>
    public static void ApplySets(CapabilityPlan plan)
    {
        var header = new LibC.CapUserHeader { Version = LinuxCapabilityVersion3, Pid = 0 };
        var data = stackalloc LibC.CapUserData[2];
        data[0] = new LibC.CapUserData { Effective = plan.Effective.Low, Permitted = plan.Permitted.Low, Inheritable = plan.Inheritable.Low };
        data[1] = new LibC.CapUserData { Effective = plan.Effective.High, Permitted = plan.Permitted.High, Inheritable = plan.Inheritable.High };
        if (LibC.CapSet(&header, data) < 0)
            throw SyscallException.Last("capset", $"effective {plan.Effective}; permitted {plan.Permitted}; inheritable {plan.Inheritable}");

        if (LibC.Prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
            throw SyscallException.Last("prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
        foreach (int cap in plan.AmbientRaises)
            if (LibC.Prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (nuint)cap, 0, 0) < 0)
                throw SyscallException.Last("prctl(PR_CAP_AMBIENT_RAISE)", Capabilities.Name(cap));
    }

    /// <summary>The calling thread's capabilities.</summary>
    public static ThreadCapabilities Read()
    {
        var header = new LibC.CapUserHeader { Version = LinuxCapabilityVersion3, Pid = 0 };
        var data = stackalloc LibC.CapUserData[2];
        if (LibC.CapGet(&header, data) < 0) throw SyscallException.Last("capget");
        static CapabilitySet Join(uint low, uint high) => new(low | (ulong)high << 32);
        return new ThreadCapabilities(
            Join(data[0].Effective, data[1].Effective),
            Join(data[0].Permitted, data[1].Permitted),
            Join(data[0].Inheritable, data[1].Inheritable));
    }
}
