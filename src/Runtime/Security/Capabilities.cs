namespace Berth.Runtime.Security;

/// <summary>Linux capability names and numbers (linux/capability.h), and Docker's default set.</summary>
public static class Capabilities
{
    /// <summary>The highest capability this table knows (CAP_CHECKPOINT_RESTORE, Linux 5.9).</summary>
    public const int Last = 40;

    private static readonly string[] Names =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
        "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
        "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ];

    private static readonly Dictionary<string, int> Numbers =
        Names.Select((name, number) => (name, number)).ToDictionary(x => x.name, x => x.number, StringComparer.Ordinal);

    /// <summary>What Docker grants a container by default (moby's oci/caps/defaults.go).</summary>
    public static readonly IReadOnlyList<string> DockerDefault =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ];

    public static IReadOnlyList<string> All => Names;

    public static string Name(int number) =>
        (uint)number <= Last ? Names[number] : throw new ArgumentOutOfRangeException(nameof(number), number, "no such capability");

    /// <summary>Looks up a CAP_* name as the spec writes it (upper case, with the prefix).</summary>
    public static bool TryParse(string name, out int number) => Numbers.TryGetValue(name, out number);

    public static int Parse(string name) =>
        TryParse(name, out int n) ? n : throw new UnknownCapabilityException([name]);

    /// <summary>The set of the given names; all unknown names are named in one error.</summary>
    public static CapabilitySet SetOf(IEnumerable<string> names)
    {
        ulong bits = 0;
        List<string>? unknown = null;
        foreach (var name in names)
        {
            if (TryParse(name, out int n)) bits |= 1UL << n;
            else (unknown ??= []).Add(name);
        }
        if (unknown is not null) throw new UnknownCapabilityException(unknown);
        return new CapabilitySet(bits);
    }
}

public sealed class UnknownCapabilityException(IReadOnlyList<string> names)
    : Exception($"unknown {(names.Count == 1 ? "capability" : "capabilities")} {string.Join(", ", names.Select(n => $"\"{n}\""))}")
{
    public IReadOnlyList<string> Names { get; } = names;
}

/// <summary>A set of capabilities as the kernel's 64-bit mask (bit n = capability n).</summary>
public readonly record struct CapabilitySet(ulong Bits)
{
    public static readonly CapabilitySet Empty = new(0);

    /// <summary>Every capability up to <paramref name="last"/> (the kernel's cap_last_cap).</summary>
    public static CapabilitySet UpTo(int last) => new(last >= 63 ? ulong.MaxValue : (1UL << (last + 1)) - 1);

    public bool Contains(int cap) => (Bits & (1UL << cap)) != 0;
    public CapabilitySet Intersect(CapabilitySet other) => new(Bits & other.Bits);
    public CapabilitySet Except(CapabilitySet other) => new(Bits & ~other.Bits);
    public bool IsEmpty => Bits == 0;

    /// <summary>Low and high 32-bit words, as struct __user_cap_data_struct[2] of capset v3 wants them.</summary>
    public uint Low => (uint)Bits;
    public uint High => (uint)(Bits >> 32);

    public IEnumerable<int> Numbers()
    {
        for (int n = 0; n < 64; n++)
            if (Contains(n)) yield return n;
    }

    public IReadOnlyList<string> Names() =>
        Numbers().Select(n => n <= Capabilities.Last ? Capabilities.Name(n) : $"CAP_{n}").ToList();

    public override string ToString() => IsEmpty ? "(none)" : string.Join(", ", Names());
}
