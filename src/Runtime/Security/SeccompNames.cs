namespace Berth.Runtime.Security;

/// <summary>What a seccomp rule does to a matching call.</summary>
public enum SeccompActionKind { KillThread, KillProcess, Trap, Errno, Trace, Allow, Log, Notify }

/// <summary>
/// The names the spec's linux.seccomp uses (libseccomp's SCMP_* names) and the kernel values they
/// stand for. The config reader and the compiler both check names here, so a name is accepted in
/// exactly one place.
/// </summary>
public static class SeccompNames
{
    // linux/seccomp.h
    public const uint RetKillProcess = 0x80000000, RetKillThread = 0, RetTrap = 0x00030000, RetErrno = 0x00050000,
        RetUserNotif = 0x7fc00000, RetTrace = 0x7ff00000, RetLog = 0x7ffc0000, RetAllow = 0x7fff0000,
        RetActionFull = 0xffff0000, RetData = 0x0000ffff;

    public const uint FlagTsync = 1, FlagLog = 2, FlagSpecAllow = 4, FlagNewListener = 8, FlagTsyncEsrch = 16,
        FlagWaitKillableRecv = 32;

    private static readonly (string Name, SeccompActionKind Kind)[] Actions =
    [
        ("SCMP_ACT_KILL", SeccompActionKind.KillThread), ("SCMP_ACT_KILL_THREAD", SeccompActionKind.KillThread),
        ("SCMP_ACT_KILL_PROCESS", SeccompActionKind.KillProcess), ("SCMP_ACT_TRAP", SeccompActionKind.Trap),
        ("SCMP_ACT_ERRNO", SeccompActionKind.Errno), ("SCMP_ACT_TRACE", SeccompActionKind.Trace),
        ("SCMP_ACT_ALLOW", SeccompActionKind.Allow), ("SCMP_ACT_LOG", SeccompActionKind.Log),
        ("SCMP_ACT_NOTIFY", SeccompActionKind.Notify),
    ];

    /// <summary>Every architecture name the spec lists; only the x86 family can occur on this machine.</summary>
    public static readonly IReadOnlyList<string> Architectures =
    [
        "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
        "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
        "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390",
        "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64",
        "SCMP_ARCH_M68K", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB",
    ];

    private static readonly (string Name, uint Bit)[] Flags =
    [
        ("SECCOMP_FILTER_FLAG_TSYNC", FlagTsync), ("SECCOMP_FILTER_FLAG_LOG", FlagLog),
        ("SECCOMP_FILTER_FLAG_SPEC_ALLOW", FlagSpecAllow), ("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", FlagWaitKillableRecv),
    ];

    public static readonly IReadOnlyList<string> Operators =
        ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"];

    public static bool TryParseAction(string name, out SeccompActionKind kind)
    {
        foreach (var (n, k) in Actions)
            if (n == name) { kind = k; return true; }
        kind = default;
        return false;
    }

    public static bool TryParseFlag(string name, out uint bit)
    {
        foreach (var (n, b) in Flags)
            if (n == name) { bit = b; return true; }
        bit = 0;
        return false;
    }

    /// <summary>Null when the name is a known action, else what is wrong with it.</summary>
    public static string? CheckAction(string name) => TryParseAction(name, out _) ? null :
        $"unknown seccomp action \"{name}\" (expected one of {string.Join(", ", Actions.Select(a => a.Name))})";

    public static string? CheckArchitecture(string name) => Architectures.Contains(name) ? null :
        $"unknown seccomp architecture \"{name}\" (expected one of {string.Join(", ", Architectures)})";

    public static string? CheckFlag(string name) => TryParseFlag(name, out _) ? null :
        $"unknown seccomp flag \"{name}\" (expected one of {string.Join(", ", Flags.Select(f => f.Name))})";

    public static string? CheckOperator(string name) => Operators.Contains(name) ? null :
        $"unknown seccomp operator \"{name}\" (expected one of {string.Join(", ", Operators)})";

    /// <summary>The filter's return value for an action; <paramref name="data"/> is the errno or trace message.</summary>
    public static uint Return(SeccompActionKind kind, uint data) => kind switch
    {
        SeccompActionKind.KillThread => RetKillThread,
        SeccompActionKind.KillProcess => RetKillProcess,
        SeccompActionKind.Trap => RetTrap,
        SeccompActionKind.Errno => RetErrno | (data & RetData),
        SeccompActionKind.Trace => RetTrace | (data & RetData),
        SeccompActionKind.Allow => RetAllow,
        SeccompActionKind.Log => RetLog,
        SeccompActionKind.Notify => RetUserNotif,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>A filter return value in words, for messages and tests: "ERRNO(1)", "ALLOW", ...</summary>
    public static string Describe(uint ret) => (ret & RetActionFull) switch
    {
        RetKillProcess => "KILL_PROCESS",
        RetKillThread => "KILL_THREAD",
        RetTrap => "TRAP",
        RetErrno => $"ERRNO({ret & RetData})",
        RetTrace => $"TRACE({ret & RetData})",
        RetAllow => "ALLOW",
        RetLog => "LOG",
        RetUserNotif => "NOTIFY",
        _ => $"0x{ret:x8}",
    };
}
