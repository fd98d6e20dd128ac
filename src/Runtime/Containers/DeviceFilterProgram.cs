using Berth.Runtime.Oci;

namespace Berth.Runtime.Containers;

/// <summary>
/// linux.resources.devices compiled to an eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE, the
/// cgroup v2 replacement of v1's devices.allow/deny. As in v1, the last rule that matches decides,
/// and a device no rule matches is allowed. A deny rule matches a request that asks for any of its
/// accesses; an allow rule only one that asks for nothing beyond them.
/// </summary>
public sealed class DeviceFilterProgram
{
    // bpf_cgroup_dev_ctx: u32 access_type (access << 16 | type), u32 major, u32 minor.
    public const int DeviceBlock = 1, DeviceChar = 2;
    public const int AccessMknod = 1, AccessRead = 2, AccessWrite = 4;

    private const byte LdxMemW = 0x61, And32Imm = 0x54, Rsh32Imm = 0x74, Mov32Reg = 0xbc, Mov64Imm = 0xb7,
        JneImm = 0x55, JneReg = 0x5d, JeqImm = 0x15, Exit = 0x95;

    /// <summary>struct bpf_insn, 8 bytes each as the kernel reads them (little-endian).</summary>
    public IReadOnlyList<ulong> Instructions { get; }

    private DeviceFilterProgram(IReadOnlyList<ulong> instructions) => Instructions = instructions;

    /// <summary>The devices every container may use whatever its rules say, as runc and crun add them (and mknod of any node).</summary>
    public static readonly IReadOnlyList<DeviceCgroupRule> DefaultAllowed =
    [
        new() { Allow = true, Type = "c", Access = "m" },
        new() { Allow = true, Type = "b", Access = "m" },
        Char(1, 3), Char(1, 5), Char(1, 7), Char(1, 8), Char(1, 9), // null zero full random urandom
        Char(5, 0), Char(5, 1), Char(5, 2), Char(136, null),         // tty console ptmx pts/*
    ];

    private static DeviceCgroupRule Char(long major, long? minor) => new() { Allow = true, Type = "c", Major = major, Minor = minor, Access = "rwm" };

    /// <summary>The rules of a spec: linux.resources.devices, then the nodes linux.devices creates, then <see cref="DefaultAllowed"/>.</summary>
    public static IReadOnlyList<DeviceCgroupRule> RulesFor(LinuxSpec linux)
    {
        var rules = new List<DeviceCgroupRule>(linux.Resources?.Devices ?? []);
        if (rules.Count == 0) return rules;
        foreach (var d in linux.Devices)
            if (d.Type is "c" or "u" or "b")
                rules.Add(new DeviceCgroupRule { Allow = true, Type = d.Type == "b" ? "b" : "c", Major = d.Major, Minor = d.Minor, Access = "rwm" });
        rules.AddRange(DefaultAllowed);
        return rules;
    }

    public static DeviceFilterProgram Compile(IReadOnlyList<DeviceCgroupRule> rules)
    {
        var code = new List<ulong>
        {
            Insn(LdxMemW, 2, 1, 0, 0),
            Insn(And32Imm, 2, 0, 0, 0xffff),
            Insn(LdxMemW, 3, 1, 0, 0),
            Insn(Rsh32Imm, 3, 0, 0, 16),
            Insn(LdxMemW, 4, 1, 4, 0),
            Insn(LdxMemW, 5, 1, 8, 0),
        };
        // The last rule decides: test them from the end, and return at the first that matches.
        for (int i = rules.Count - 1; i >= 0; i--)
        {
            var r = rules[i];
            // Conditional jumps to the end of the block, patched once its length is known.
            var block = new List<(byte Code, int Dst, int Src, int Imm, bool JumpsOut)>();
            if (r.Type is "c" or "b") block.Add((JneImm, 2, 0, r.Type == "c" ? DeviceChar : DeviceBlock, true));
            int access = AccessBits(r.Access);
            if (access != (AccessMknod | AccessRead | AccessWrite))
            {
                block.Add((Mov32Reg, 1, 3, 0, false));
                block.Add((And32Imm, 1, 0, access, false));
                block.Add(r.Allow ? (JneReg, 1, 3, 0, true) : (JeqImm, 1, 0, 0, true));
            }
            if (r.Major is >= 0 and var major) block.Add((JneImm, 4, 0, (int)major, true));
            if (r.Minor is >= 0 and var minor) block.Add((JneImm, 5, 0, (int)minor, true));
            bool unconditional = block.Count == 0;
            block.Add((Mov64Imm, 0, 0, r.Allow ? 1 : 0, false));
            block.Add((Exit, 0, 0, 0, false));
            for (int k = 0; k < block.Count; k++)
            {
                var b = block[k];
                code.Add(Insn(b.Code, (byte)b.Dst, (byte)b.Src, b.JumpsOut ? (short)(block.Count - k - 1) : (short)0, b.Imm));
            }
            // Nothing after a rule that matches everything could run, and the verifier refuses dead code.
            if (unconditional) return new DeviceFilterProgram(code);
        }
        code.Add(Insn(Mov64Imm, 0, 0, 0, 1));
        code.Add(Insn(Exit, 0, 0, 0, 0));
        return new DeviceFilterProgram(code);
    }

    public static int AccessBits(string? access)
    {
        if (access is null) return AccessMknod | AccessRead | AccessWrite;
        int bits = 0;
        foreach (char c in access)
            bits |= c switch { 'm' => AccessMknod, 'r' => AccessRead, 'w' => AccessWrite, _ => 0 };
        return bits;
    }

    private static ulong Insn(byte code, byte dst, byte src, short off, int imm) =>
        code | (ulong)(byte)(src << 4 | dst) << 8 | (ulong)(ushort)off << 16 | (ulong)(uint)imm << 32;
}
