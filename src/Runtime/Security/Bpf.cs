using System.Runtime.InteropServices;

namespace Berth.Runtime.Security;

/// <summary>One classic BPF instruction, laid out as the kernel's struct sock_filter.</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct SockFilter(ushort Code, byte Jt, byte Jf, uint K)
{
    public override string ToString() => $"{{ 0x{Code:x2}, {Jt}, {Jf}, 0x{K:x8} }}";
}

/// <summary>Classic BPF opcodes (linux/filter.h) that seccomp filters use.</summary>
public static class Bpf
{
    public const ushort LdWAbs = 0x20;   // BPF_LD | BPF_W | BPF_ABS
    public const ushort AluAndK = 0x54;  // BPF_ALU | BPF_AND | BPF_K
    public const ushort Ja = 0x05;       // BPF_JMP | BPF_JA
    public const ushort JeqK = 0x15;     // BPF_JMP | BPF_JEQ | BPF_K
    public const ushort JgtK = 0x25;     // BPF_JMP | BPF_JGT | BPF_K
    public const ushort JgeK = 0x35;     // BPF_JMP | BPF_JGE | BPF_K
    public const ushort JsetK = 0x45;    // BPF_JMP | BPF_JSET | BPF_K
    public const ushort RetK = 0x06;     // BPF_RET | BPF_K

    /// <summary>The kernel refuses longer programs (BPF_MAXINSNS).</summary>
    public const int MaxInstructions = 4096;

    // struct seccomp_data offsets: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6].
    public const uint NrOffset = 0, ArchOffset = 4, IpOffset = 8;
    public static uint ArgLowOffset(int index) => 16 + 8 * (uint)index;   // little endian: low word first
    public static uint ArgHighOffset(int index) => 20 + 8 * (uint)index;
}

/// <summary>A jump target in a program being assembled; bound to the instruction emitted next.</summary>
public sealed class BpfLabel
{
    internal BpfAssembler.Instruction? Target;
}

/// <summary>
/// Builds a classic BPF program with symbolic forward jumps. Conditional jumps in classic BPF
/// reach at most 255 instructions ahead (jt/jf are 8 bits); <see cref="Assemble"/> routes longer
/// ones through "ja" trampolines, whose offset is 32 bits.
/// </summary>
public sealed class BpfAssembler
{
    internal sealed class Instruction(ushort code, uint k)
    {
        public ushort Code = code;
        public uint K = k;
        public BpfLabel? True, False;  // conditional jumps (null: the next instruction)
        public BpfLabel? Always;       // ja
    }

    private readonly List<Instruction> _code = [];
    private readonly List<BpfLabel> _pending = [];

    public int Count => _code.Count;

    public BpfLabel NewLabel() => new();

    /// <summary>Makes <paramref name="label"/> point at the next instruction emitted.</summary>
    public void Bind(BpfLabel label)
    {
        if (label.Target is not null || _pending.Contains(label)) throw new InvalidOperationException("label bound twice");
        _pending.Add(label);
    }

    private Instruction Emit(ushort code, uint k)
    {
        var insn = new Instruction(code, k);
        foreach (var label in _pending) label.Target = insn;
        _pending.Clear();
        _code.Add(insn);
        return insn;
    }

    public void LoadWord(uint offset) => Emit(Bpf.LdWAbs, offset);
    public void And(uint mask) => Emit(Bpf.AluAndK, mask);
    public void Return(uint value) => Emit(Bpf.RetK, value);
    public void Jump(BpfLabel target) => Emit(Bpf.Ja, 0).Always = target;

    /// <summary>A conditional jump on A against <paramref name="k"/>; a null target falls through.</summary>
    public void JumpIf(ushort code, uint k, BpfLabel? onTrue, BpfLabel? onFalse)
    {
        if (code is not (Bpf.JeqK or Bpf.JgtK or Bpf.JgeK or Bpf.JsetK)) throw new ArgumentOutOfRangeException(nameof(code));
        var insn = Emit(code, k);
        insn.True = onTrue;
        insn.False = onFalse;
    }

    public SockFilter[] Assemble()
    {
        if (_pending.Count > 0) throw new InvalidOperationException("a label is bound past the last instruction");
        InsertTrampolines();
        var index = IndexOfEach();
        var program = new SockFilter[_code.Count];
        for (int i = 0; i < _code.Count; i++)
        {
            var insn = _code[i];
            if (insn.Always is not null)
                program[i] = new SockFilter(insn.Code, 0, 0, (uint)Distance(i, insn.Always, index));
            else if (IsConditional(insn))
                program[i] = new SockFilter(insn.Code, (byte)Distance(i, insn.True, index), (byte)Distance(i, insn.False, index), insn.K);
            else
                program[i] = new SockFilter(insn.Code, 0, 0, insn.K);
        }
        return program;
    }

    private static bool IsConditional(Instruction insn) =>
        insn.Code is Bpf.JeqK or Bpf.JgtK or Bpf.JgeK or Bpf.JsetK;

    private Dictionary<Instruction, int> IndexOfEach()
    {
        var index = new Dictionary<Instruction, int>(_code.Count, ReferenceEqualityComparer.Instance);
        for (int i = 0; i < _code.Count; i++) index[_code[i]] = i;
        return index;
    }

    /// <summary>Instructions skipped by a jump from <paramref name="from"/>; classic BPF only jumps forward.</summary>
    private static int Distance(int from, BpfLabel? to, Dictionary<Instruction, int> index)
    {
        if (to is null) return 0;
        if (to.Target is null) throw new InvalidOperationException("jump to a label that was never bound");
        int distance = index[to.Target] - from - 1;
        if (distance < 0) throw new InvalidOperationException("classic BPF cannot jump backwards");
        return distance;
    }

    /// <summary>
    /// Until every conditional target is within 255: put "ja target" right after each jump that
    /// reaches too far and jump to that instead. Inserting only lengthens other jumps, so this
    /// converges; a jump gets at most two trampolines, both directly behind it.
    /// </summary>
    private void InsertTrampolines()
    {
        bool changed = true;
        while (changed)
        {
            changed = false;
            var index = IndexOfEach();
            var far = new List<(Instruction Insn, bool T, bool F)>();
            for (int i = 0; i < _code.Count; i++)
            {
                var insn = _code[i];
                if (!IsConditional(insn)) continue;
                bool t = Distance(i, insn.True, index) > byte.MaxValue, f = Distance(i, insn.False, index) > byte.MaxValue;
                if (t || f) far.Add((insn, t, f));
            }
            foreach (var (insn, t, f) in far)
            {
                int at = _code.IndexOf(insn) + 1;
                // A fall-through branch means "the next instruction", which is about to change:
                // pin it to the instruction that is next now.
                var next = at < _code.Count ? new BpfLabel { Target = _code[at] } : null;
                insn.True ??= next;
                insn.False ??= next;
                if (f) insn.False = Trampoline(at, insn.False!);
                if (t) insn.True = Trampoline(at, insn.True!);
                changed = true;
            }
        }
    }

    private BpfLabel Trampoline(int at, BpfLabel target)
    {
        var ja = new Instruction(Bpf.Ja, 0) { Always = target };
        _code.Insert(at, ja);
        return new BpfLabel { Target = ja };
    }
}
