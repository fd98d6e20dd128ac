using Berth.Runtime.Oci;

namespace Berth.Runtime.Security;

/// <summary>
/// Compiles the spec's linux.seccomp into a classic BPF program, as libseccomp would for runc:
/// <list type="bullet">
/// <item>The architecture is checked first; calls from an ABI the profile does not name are killed
/// (KILL_PROCESS: killing only the thread would leave a half-dead process).</item>
/// <item>Per ABI, a binary search over the named call numbers leads to short "jeq" chains.</item>
/// <item>For one call, the rules with argument conditions are tried in document order, then the
/// first unconditional rule, then the default action: a specific rule overrides a general one.</item>
/// <item>Arguments are 64-bit; BPF compares 32-bit words, so each condition is compiled on both
/// halves (i386 arguments are 32-bit and zero-extended by the kernel: only the low half is loaded).</item>
/// <item>As runc does, calls numbered above the highest one the profile names get ENOSYS instead of
/// the default action, so that libc falls back from a syscall newer than the profile instead of
/// failing with EPERM.</item>
/// </list>
/// </summary>
public static class SeccompCompiler
{
    private const uint EPERM = 1, ENOSYS = 38, MaxErrno = 4095;
    private const int LeafSize = 8;

    private readonly record struct Action(SeccompActionKind Kind, uint Return);

    private sealed record Condition(int Index, string Op, ulong Value, ulong ValueTwo);

    private sealed record ConditionalRule(IReadOnlyList<Condition> Conditions, uint Return);

    /// <summary>Everything that applies to one call number of one ABI.</summary>
    private sealed class CallRules(int number)
    {
        public int Number { get; } = number;
        public List<ConditionalRule> Conditional { get; } = [];
        public uint? Unconditional { get; set; }
        public string? UnconditionalPath { get; set; }
    }

    public static SeccompProgram Compile(SeccompSpec spec, string source = "config.json", string path = "$.linux.seccomp")
    {
        var ctx = new SpecReadContext(source);
        var defaultAction = ResolveAction(spec.DefaultAction, spec.DefaultErrnoRet, path + ".defaultAction", path + ".defaultErrnoRet", ctx);
        if (defaultAction.Kind == SeccompActionKind.Notify)
            throw ctx.Error(path + ".defaultAction", "SCMP_ACT_NOTIFY cannot be the default action (the container could not even hand over the notify fd)");

        var abis = SelectAbis(spec.Architectures, path, ctx);
        uint flags = ResolveFlags(spec.Flags, path, ctx);
        var tables = abis.ToDictionary(a => a, _ => new SortedDictionary<int, CallRules>());
        bool notifies = false;

        for (int i = 0; i < spec.Syscalls.Count; i++)
        {
            var rule = spec.Syscalls[i];
            string rulePath = $"{path}.syscalls[{i}]";
            var action = ResolveAction(rule.Action, rule.ErrnoRet, rulePath + ".action", rulePath + ".errnoRet", ctx);
            notifies |= action.Kind == SeccompActionKind.Notify;
            var conditions = ResolveConditions(rule.Args, rulePath, ctx);
            for (int j = 0; j < rule.Names.Count; j++)
                AddRule(tables, rule.Names[j], $"{rulePath}.names[{j}]", conditions, action.Return, ctx);
        }
        if (notifies) flags |= SeccompNames.FlagNewListener;

        var program = Emit(abis, tables, defaultAction.Return);
        if (program.Length > Bpf.MaxInstructions)
            throw ctx.Error(path, $"the filter compiles to {program.Length} instructions, the kernel takes at most {Bpf.MaxInstructions}");
        return new SeccompProgram { Instructions = program, Flags = flags, Abis = abis, Warnings = ctx.Warnings };
    }

    private static Action ResolveAction(string name, uint? errnoRet, string actionPath, string errnoPath, SpecReadContext ctx)
    {
        if (!SeccompNames.TryParseAction(name, out var kind)) throw ctx.Error(actionPath, SeccompNames.CheckAction(name)!);
        uint data = 0;
        if (kind is SeccompActionKind.Errno or SeccompActionKind.Trace)
        {
            // runc and libseccomp default both to EPERM when no errno is given.
            data = errnoRet ?? EPERM;
            uint max = kind == SeccompActionKind.Errno ? MaxErrno : SeccompNames.RetData;
            if (data > max) throw ctx.Error(errnoPath, $"must be at most {max}, got {data}");
        }
        else if (errnoRet is not null)
            throw ctx.Error(errnoPath, $"only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not {name}");
        return new Action(kind, SeccompNames.Return(kind, data));
    }

    private static IReadOnlyList<SyscallAbi> SelectAbis(IReadOnlyList<string> architectures, string path, SpecReadContext ctx)
    {
        // The native ABI is always in the filter (libseccomp starts every filter with it).
        var abis = new List<SyscallAbi> { SyscallAbi.X86_64 };
        for (int i = 0; i < architectures.Count; i++)
        {
            string arch = architectures[i];
            string archPath = $"{path}.architectures[{i}]";
            switch (arch)
            {
                case "SCMP_ARCH_X86_64": break;
                case "SCMP_ARCH_X86": if (!abis.Contains(SyscallAbi.I386)) abis.Add(SyscallAbi.I386); break;
                case "SCMP_ARCH_X32": if (!abis.Contains(SyscallAbi.X32)) abis.Add(SyscallAbi.X32); break;
                default:
                    if (SeccompNames.CheckArchitecture(arch) is { } problem) throw ctx.Error(archPath, problem);
                    ctx.Warn(archPath, $"{arch} calls cannot occur on an x86_64 kernel, skipped");
                    break;
            }
        }
        return abis;
    }

    private static uint ResolveFlags(IReadOnlyList<string> names, string path, SpecReadContext ctx)
    {
        uint flags = 0;
        for (int i = 0; i < names.Count; i++)
        {
            string flagPath = $"{path}.flags[{i}]";
            if (!SeccompNames.TryParseFlag(names[i], out uint bit)) throw ctx.Error(flagPath, SeccompNames.CheckFlag(names[i])!);
            if (bit == SeccompNames.FlagTsync)
                ctx.Warn(flagPath, "ignored: the filter is installed by the single-threaded container init");
            else
                flags |= bit;
        }
        return flags;
    }

    private static IReadOnlyList<Condition> ResolveConditions(IReadOnlyList<SyscallArg> args, string rulePath, SpecReadContext ctx)
    {
        var conditions = new List<Condition>(args.Count);
        for (int k = 0; k < args.Count; k++)
        {
            var a = args[k];
            string argPath = $"{rulePath}.args[{k}]";
            if (a.Index >= 6) throw ctx.Error(argPath + ".index", $"system calls have 6 arguments (0..5), got {a.Index}");
            if (SeccompNames.CheckOperator(a.Op) is { } problem) throw ctx.Error(argPath + ".op", problem);
            if (a.ValueTwo is not null && a.Op != "SCMP_CMP_MASKED_EQ")
                ctx.Warn(argPath + ".valueTwo", $"only SCMP_CMP_MASKED_EQ uses valueTwo; ignored for {a.Op}");
            conditions.Add(new Condition((int)a.Index, a.Op, a.Value, a.ValueTwo ?? 0));
        }
        return conditions;
    }

    private static void AddRule(Dictionary<SyscallAbi, SortedDictionary<int, CallRules>> tables, string name, string namePath,
        IReadOnlyList<Condition> conditions, uint ret, SpecReadContext ctx)
    {
        bool found = false;
        foreach (var (abi, table) in tables)
        {
            if (!SyscallTable.TryGetNumber(abi, name, out int nr)) continue;
            found = true;
            if (!table.TryGetValue(nr, out var call)) table[nr] = call = new CallRules(nr);
            if (conditions.Count > 0)
                call.Conditional.Add(new ConditionalRule(conditions, ret));
            else if (call.Unconditional is null)
            {
                call.Unconditional = ret;
                call.UnconditionalPath = namePath;
            }
            else if (call.Unconditional != ret)
                ctx.Warn(namePath, $"\"{name}\" already has an unconditional rule at {call.UnconditionalPath}, which applies first; this one never does");
        }
        // As runc: a name no x86 ABI knows is skipped with a warning (it may exist on other architectures).
        if (!found && !SyscallTable.IsKnown(name))
            ctx.Warn(namePath, $"unknown system call \"{name}\", skipped");
    }

    private static SockFilter[] Emit(IReadOnlyList<SyscallAbi> abis, Dictionary<SyscallAbi, SortedDictionary<int, CallRules>> tables, uint defaultRet)
    {
        var asm = new BpfAssembler();
        var x86_64 = asm.NewLabel();
        var i386 = asm.NewLabel();
        asm.LoadWord(Bpf.ArchOffset);
        asm.JumpIf(Bpf.JeqK, SyscallTable.AuditArchX86_64, x86_64, null);
        if (abis.Contains(SyscallAbi.I386)) asm.JumpIf(Bpf.JeqK, SyscallTable.AuditArchI386, i386, null);
        asm.Return(SeccompNames.RetKillProcess);

        // x86_64 and x32 share AUDIT_ARCH_X86_64 and differ by the x32 bit in nr.
        asm.Bind(x86_64);
        asm.LoadWord(Bpf.NrOffset);
        var x32 = asm.NewLabel();
        asm.JumpIf(Bpf.JgeK, (uint)SyscallTable.X32Bit, x32, null);
        EmitTable(asm, tables[SyscallAbi.X86_64].Values.ToList(), defaultRet, halfWidth: false);
        asm.Bind(x32);
        if (abis.Contains(SyscallAbi.X32))
            EmitTable(asm, tables[SyscallAbi.X32].Values.ToList(), defaultRet, halfWidth: false);
        else
        {
            // nr -1 is what a tracer sets to skip a call: not an x32 call.
            var bad = asm.NewLabel();
            asm.JumpIf(Bpf.JeqK, uint.MaxValue, null, bad);
            asm.Return(defaultRet);
            asm.Bind(bad);
            asm.Return(SeccompNames.RetKillProcess);
        }

        if (abis.Contains(SyscallAbi.I386))
        {
            asm.Bind(i386);
            asm.LoadWord(Bpf.NrOffset);
            EmitTable(asm, tables[SyscallAbi.I386].Values.ToList(), defaultRet, halfWidth: true);
        }
        return asm.Assemble();
    }

    /// <summary>The rules of one ABI, with A holding nr on entry.</summary>
    private static void EmitTable(BpfAssembler asm, List<CallRules> calls, uint defaultRet, bool halfWidth)
    {
        bool stub = (defaultRet & SeccompNames.RetActionFull) is not (SeccompNames.RetAllow or SeccompNames.RetLog);
        var enosys = asm.NewLabel();
        if (stub && calls.Count > 0) asm.JumpIf(Bpf.JgtK, (uint)calls[^1].Number, enosys, null);
        // A call whose rules all end in the default action needs no code.
        var effective = calls.Where(c => c.Conditional.Count > 0 || (c.Unconditional ?? defaultRet) != defaultRet).ToList();
        EmitTree(asm, effective, 0, effective.Count, defaultRet, halfWidth);
        if (stub && calls.Count > 0)
        {
            asm.Bind(enosys);
            asm.Return(SeccompNames.RetErrno | ENOSYS);
        }
    }

    private static void EmitTree(BpfAssembler asm, List<CallRules> calls, int lo, int hi, uint defaultRet, bool halfWidth)
    {
        if (hi - lo <= LeafSize)
        {
            EmitLeaf(asm, calls.GetRange(lo, hi - lo), defaultRet, halfWidth);
            return;
        }
        int mid = (lo + hi) / 2;
        var upper = asm.NewLabel();
        asm.JumpIf(Bpf.JgeK, (uint)calls[mid].Number, upper, null);
        EmitTree(asm, calls, lo, mid, defaultRet, halfWidth);
        asm.Bind(upper);
        EmitTree(asm, calls, mid, hi, defaultRet, halfWidth);
    }

    private static void EmitLeaf(BpfAssembler asm, List<CallRules> calls, uint defaultRet, bool halfWidth)
    {
        var returns = new Dictionary<uint, BpfLabel>();
        var blocks = new List<(BpfLabel Label, CallRules Call)>();
        foreach (var call in calls)
        {
            BpfLabel target;
            if (call.Conditional.Count == 0)
            {
                uint ret = call.Unconditional!.Value;
                if (!returns.TryGetValue(ret, out target!)) returns[ret] = target = asm.NewLabel();
            }
            else
            {
                target = asm.NewLabel();
                blocks.Add((target, call));
            }
            asm.JumpIf(Bpf.JeqK, (uint)call.Number, target, null);
        }
        asm.Return(defaultRet);
        foreach (var (ret, label) in returns)
        {
            asm.Bind(label);
            asm.Return(ret);
        }
        foreach (var (label, call) in blocks)
        {
            asm.Bind(label);
            foreach (var rule in call.Conditional)
            {
                var next = asm.NewLabel();
                foreach (var condition in rule.Conditions) EmitCondition(asm, condition, next, halfWidth);
                asm.Return(rule.Return);
                asm.Bind(next);
            }
            asm.Return(call.Unconditional ?? defaultRet);
        }
    }

    /// <summary>Falls through when the condition holds, jumps to <paramref name="fail"/> otherwise.</summary>
    private static void EmitCondition(BpfAssembler asm, Condition c, BpfLabel fail, bool halfWidth)
    {
        ulong value = c.Op == "SCMP_CMP_MASKED_EQ" ? c.ValueTwo : c.Value;
        ulong mask = c.Op == "SCMP_CMP_MASKED_EQ" ? c.Value : ulong.MaxValue;
        uint vHi = (uint)(value >> 32), vLo = (uint)value, mHi = (uint)(mask >> 32), mLo = (uint)mask;
        uint lo = Bpf.ArgLowOffset(c.Index), hi = Bpf.ArgHighOffset(c.Index);
        var pass = asm.NewLabel();

        if (halfWidth)
        {
            // The argument's high word is zero: decide that half now, then compare the low word.
            bool? byHigh = c.Op switch
            {
                "SCMP_CMP_MASKED_EQ" => vHi == 0 ? null : false,
                "SCMP_CMP_EQ" or "SCMP_CMP_GT" or "SCMP_CMP_GE" => vHi == 0 ? null : false,
                "SCMP_CMP_NE" or "SCMP_CMP_LT" or "SCMP_CMP_LE" => vHi == 0 ? null : true,
                _ => throw new ArgumentOutOfRangeException(nameof(c)),
            };
            if (byHigh == false) { asm.Jump(fail); return; }
            if (byHigh == true) return;
            asm.LoadWord(lo);
            EmitLowCompare(asm, c.Op, vLo, mLo, fail, pass);
            asm.Bind(pass);
            return;
        }

        asm.LoadWord(hi);
        switch (c.Op)
        {
            case "SCMP_CMP_EQ":
                asm.JumpIf(Bpf.JeqK, vHi, null, fail);
                break;
            case "SCMP_CMP_NE":
                asm.JumpIf(Bpf.JeqK, vHi, null, pass);
                break;
            case "SCMP_CMP_GT":
            case "SCMP_CMP_GE":
                asm.JumpIf(Bpf.JgtK, vHi, pass, null);
                asm.JumpIf(Bpf.JeqK, vHi, null, fail);
                break;
            case "SCMP_CMP_LT":
            case "SCMP_CMP_LE":
                asm.JumpIf(Bpf.JgtK, vHi, fail, null);
                asm.JumpIf(Bpf.JeqK, vHi, null, pass);
                break;
            case "SCMP_CMP_MASKED_EQ":
                asm.And(mHi);
                asm.JumpIf(Bpf.JeqK, vHi, null, fail);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(c));
        }
        asm.LoadWord(lo);
        EmitLowCompare(asm, c.Op, vLo, mLo, fail, pass);
        asm.Bind(pass);
    }

    /// <summary>With the high words equal (or irrelevant), compares A = the low word.</summary>
    private static void EmitLowCompare(BpfAssembler asm, string op, uint vLo, uint mLo, BpfLabel fail, BpfLabel pass)
    {
        switch (op)
        {
            case "SCMP_CMP_EQ": asm.JumpIf(Bpf.JeqK, vLo, pass, fail); break;
            case "SCMP_CMP_NE": asm.JumpIf(Bpf.JeqK, vLo, fail, pass); break;
            case "SCMP_CMP_GT": asm.JumpIf(Bpf.JgtK, vLo, pass, fail); break;
            case "SCMP_CMP_GE": asm.JumpIf(Bpf.JgeK, vLo, pass, fail); break;
            case "SCMP_CMP_LT": asm.JumpIf(Bpf.JgeK, vLo, fail, pass); break;
            case "SCMP_CMP_LE": asm.JumpIf(Bpf.JgtK, vLo, fail, pass); break;
            case "SCMP_CMP_MASKED_EQ":
                asm.And(mLo);
                asm.JumpIf(Bpf.JeqK, vLo, pass, fail);
                break;
            default: throw new ArgumentOutOfRangeException(nameof(op));
        }
    }
}
