using System.Buffers.Binary;
using Berth.Runtime.Security;

namespace Berth.Tests.Unit.Security;

/// <summary>struct seccomp_data, as the kernel hands it to a filter.</summary>
public sealed record SeccompData(int Nr, uint Arch, ulong[] Args, ulong InstructionPointer = 0x401000)
{
    public byte[] ToBytes()
    {
        var bytes = new byte[64];
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(0), Nr);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), Arch);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), InstructionPointer);
        for (int i = 0; i < 6; i++)
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16 + 8 * i), i < Args.Length ? Args[i] : 0);
        return bytes;
    }
}

/// <summary>
/// A classic BPF interpreter for the instructions seccomp filters use, independent of the
/// compiler: it checks what the kernel's checker checks (jumps in range and forward, aligned loads
/// inside seccomp_data, every path ends in ret) while it runs.
/// </summary>
public static class BpfInterpreter
{
    public static uint Run(IReadOnlyList<SockFilter> program, SeccompData data)
    {
        if (program.Count == 0 || program.Count > Bpf.MaxInstructions) throw new InvalidOperationException($"bad program length {program.Count}");
        var input = data.ToBytes();
        uint a = 0;
        int pc = 0;
        int steps = 0;
        while (true)
        {
            if (pc < 0 || pc >= program.Count) throw new InvalidOperationException($"pc {pc} ran off the program");
            if (++steps > program.Count) throw new InvalidOperationException("more steps than instructions: a loop?");
            var insn = program[pc];
            int next = pc + 1;
            switch (insn.Code)
            {
                case Bpf.LdWAbs:
                    if (insn.K % 4 != 0 || insn.K > 60) throw new InvalidOperationException($"bad load offset {insn.K} at {pc}");
                    a = BinaryPrimitives.ReadUInt32LittleEndian(input.AsSpan((int)insn.K));
                    break;
                case Bpf.AluAndK:
                    a &= insn.K;
                    break;
                case Bpf.Ja:
                    next = checked(pc + 1 + (int)insn.K);
                    break;
                case Bpf.JeqK:
                    next = pc + 1 + (a == insn.K ? insn.Jt : insn.Jf);
                    break;
                case Bpf.JgtK:
                    next = pc + 1 + (a > insn.K ? insn.Jt : insn.Jf);
                    break;
                case Bpf.JgeK:
                    next = pc + 1 + (a >= insn.K ? insn.Jt : insn.Jf);
                    break;
                case Bpf.JsetK:
                    next = pc + 1 + ((a & insn.K) != 0 ? insn.Jt : insn.Jf);
                    break;
                case Bpf.RetK:
                    return insn.K;
                default:
                    throw new InvalidOperationException($"unknown opcode 0x{insn.Code:x2} at {pc}");
            }
            pc = next;
        }
    }

    public static string Describe(IReadOnlyList<SockFilter> program, SeccompData data) =>
        SeccompNames.Describe(Run(program, data));

    /// <summary>The action for an x86_64 call by name.</summary>
    public static string X86_64(IReadOnlyList<SockFilter> program, string name, params ulong[] args) =>
        Describe(program, new SeccompData(SyscallTable.Number(SyscallAbi.X86_64, name), SyscallTable.AuditArchX86_64, args));

    public static string I386(IReadOnlyList<SockFilter> program, string name, params ulong[] args) =>
        Describe(program, new SeccompData(SyscallTable.Number(SyscallAbi.I386, name), SyscallTable.AuditArchI386, args));

    public static string X32(IReadOnlyList<SockFilter> program, string name, params ulong[] args) =>
        Describe(program, new SeccompData(SyscallTable.Number(SyscallAbi.X32, name), SyscallTable.AuditArchX86_64, args));
}
