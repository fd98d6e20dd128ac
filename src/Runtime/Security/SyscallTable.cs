namespace Berth.Runtime.Security;

/// <summary>The x86 system call ABIs a seccomp filter on this machine can see.</summary>
public enum SyscallAbi { X86_64, X32, I386 }

/// <summary>
/// System call numbers by name for each x86 ABI. The data (SyscallTable.Generated.cs) is generated
/// from the kernel headers by gen-syscall-tables.py and committed.
/// </summary>
public static partial class SyscallTable
{
    /// <summary>Set in nr by x32 processes (__X32_SYSCALL_BIT); they share AUDIT_ARCH_X86_64 with x86_64.</summary>
    public const int X32Bit = 0x40000000;

    // linux/audit.h: EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE, and EM_386 | __AUDIT_ARCH_LE.
    public const uint AuditArchX86_64 = 0xc000003e, AuditArchI386 = 0x40000003;

    /// <summary>
    /// The indexes, in a class of their own: its initializer runs on first use, after the entry
    /// arrays of the other part of this partial class (whose initialization order is not defined).
    /// </summary>
    private static class Lookup
    {
        public static readonly Dictionary<string, int> X86_64 = Index(X86_64Entries);
        public static readonly Dictionary<string, int> X32 = Index(X32Entries);
        public static readonly Dictionary<string, int> I386 = Index(I386Entries);

        private static Dictionary<string, int> Index((string Name, int Number)[] entries) =>
            entries.ToDictionary(e => e.Name, e => e.Number, StringComparer.Ordinal);
    }

    private static Dictionary<string, int> For(SyscallAbi abi) => abi switch
    {
        SyscallAbi.X86_64 => Lookup.X86_64,
        SyscallAbi.X32 => Lookup.X32,
        SyscallAbi.I386 => Lookup.I386,
        _ => throw new ArgumentOutOfRangeException(nameof(abi)),
    };

    /// <summary>The number of <paramref name="name"/> in <paramref name="abi"/> (x32 numbers include the x32 bit).</summary>
    public static bool TryGetNumber(SyscallAbi abi, string name, out int number) => For(abi).TryGetValue(name, out number);

    public static int Number(SyscallAbi abi, string name) =>
        TryGetNumber(abi, name, out int n) ? n : throw new KeyNotFoundException($"no system call \"{name}\" on {abi}");

    /// <summary>Whether any x86 ABI has a call of this name.</summary>
    public static bool IsKnown(string name) =>
        Lookup.X86_64.ContainsKey(name) || Lookup.X32.ContainsKey(name) || Lookup.I386.ContainsKey(name);

    public static IReadOnlyCollection<string> Names(SyscallAbi abi) => For(abi).Keys;

    public static uint AuditArch(SyscallAbi abi) => abi == SyscallAbi.I386 ? AuditArchI386 : AuditArchX86_64;
}
