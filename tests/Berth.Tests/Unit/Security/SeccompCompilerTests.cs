using Berth.Runtime.Oci;
using Berth.Runtime.Security;
using Xunit;
using static Berth.Tests.Unit.Security.BpfInterpreter;

namespace Berth.Tests.Unit.Security;

public class SeccompCompilerTests
{
    private static SeccompSpec Profile(params SyscallRule[] rules) => new()
    {
        DefaultAction = "SCMP_ACT_ERRNO",
        Syscalls = rules,
    };

    private static SyscallRule Rule(string action, string names, params SyscallArg[] args) =>
        new() { Names = names.Split(' '), Action = action, Args = args };

    private static SyscallArg Arg(uint index, string op, ulong value, ulong? valueTwo = null) =>
        new() { Index = index, Op = "SCMP_CMP_" + op, Value = value, ValueTwo = valueTwo };

    private static bool Reference(string op, ulong arg, ulong value, ulong valueTwo) => op switch
    {
        "EQ" => arg == value,
        "NE" => arg != value,
        "LT" => arg < value,
        "LE" => arg <= value,
        "GT" => arg > value,
        "GE" => arg >= value,
        "MASKED_EQ" => (arg & value) == valueTwo,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    private static readonly ulong[] Interesting =
    [
        0, 1, 2, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x1_00000000, 0x1_00000001, 0x1_fffffffe,
        0x1_ffffffff, 0x2_00000000, 0x2_00000001, 0xdead_beef_0000_0007, 0x8000_0000_0000_0000, ulong.MaxValue - 1, ulong.MaxValue,
    ];

    public static TheoryData<string> Operators => new() { "EQ", "NE", "LT", "LE", "GT", "GE", "MASKED_EQ" };

    [Theory]
    [MemberData(nameof(Operators))]
    public void Every_operator_compares_all_64_bits_as_unsigned(string op)
    {
        foreach (ulong value in Interesting)
        {
            ulong valueTwo = value & 0x0000_0001_ffff_0007; // a want within the mask for MASKED_EQ
            var program = SeccompCompiler.Compile(Profile(Rule("SCMP_ACT_ALLOW", "ioctl", Arg(2, op, value, op == "MASKED_EQ" ? valueTwo : null))));
            foreach (ulong arg in Interesting.Concat([value, value + 1, value - 1, value ^ (1UL << 32), value ^ 1]))
            {
                string expected = Reference(op, arg, value, valueTwo) ? "ALLOW" : "ERRNO(1)";
                string actual = X86_64(program.Instructions, "ioctl", 0, 0, arg);
                Assert.True(expected == actual, $"{op} 0x{value:x}: arg 0x{arg:x} gave {actual}, expected {expected}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Operators))]
    public void I386_arguments_are_32_bit_and_compared_as_zero_extended(string op)
    {
        foreach (ulong value in Interesting)
        {
            ulong valueTwo = value & 0x0000_0001_ffff_0007;
            var spec = Profile(Rule("SCMP_ACT_ALLOW", "ioctl", Arg(1, op, value, op == "MASKED_EQ" ? valueTwo : null))) with
            {
                Architectures = ["SCMP_ARCH_X86"],
            };
            var program = SeccompCompiler.Compile(spec);
            foreach (ulong arg in Interesting.Where(a => a <= uint.MaxValue))
            {
                string expected = Reference(op, arg, value, valueTwo) ? "ALLOW" : "ERRNO(1)";
                string actual = I386(program.Instructions, "ioctl", 0, arg);
                Assert.True(expected == actual, $"{op} 0x{value:x}: arg 0x{arg:x} gave {actual}, expected {expected}");
            }
        }
    }

    [Fact]
    public void Conditions_of_one_rule_all_have_to_hold()
    {
        var p = SeccompCompiler.Compile(Profile(Rule("SCMP_ACT_ALLOW", "mmap", Arg(2, "LE", 3), Arg(3, "MASKED_EQ", 0x20, 0x20)))).Instructions;
        Assert.Equal("ALLOW", X86_64(p, "mmap", 0, 4096, 3, 0x22));
        Assert.Equal("ERRNO(1)", X86_64(p, "mmap", 0, 4096, 4, 0x22));
        Assert.Equal("ERRNO(1)", X86_64(p, "mmap", 0, 4096, 3, 0x02));
    }

    [Fact]
    public void Specific_rules_are_tried_before_the_unconditional_one_of_the_same_call()
    {
        var p = SeccompCompiler.Compile(Profile(
            Rule("SCMP_ACT_ALLOW", "kill"),
            Rule("SCMP_ACT_TRAP", "kill", Arg(1, "EQ", 9)),
            Rule("SCMP_ACT_LOG", "kill", Arg(1, "EQ", 15)))).Instructions;
        Assert.Equal("TRAP", X86_64(p, "kill", 1, 9));
        Assert.Equal("LOG", X86_64(p, "kill", 1, 15));
        Assert.Equal("ALLOW", X86_64(p, "kill", 1, 2));
    }

    [Fact]
    public void Every_action_has_its_kernel_value()
    {
        var spec = Profile(
            Rule("SCMP_ACT_KILL", "read"), Rule("SCMP_ACT_KILL_THREAD", "write"), Rule("SCMP_ACT_KILL_PROCESS", "open"),
            Rule("SCMP_ACT_TRAP", "close"), Rule("SCMP_ACT_ALLOW", "stat"), Rule("SCMP_ACT_LOG", "fstat"),
            Rule("SCMP_ACT_NOTIFY", "lstat"),
            new SyscallRule { Names = ["poll"], Action = "SCMP_ACT_ERRNO", ErrnoRet = 13 },
            new SyscallRule { Names = ["lseek"], Action = "SCMP_ACT_TRACE", ErrnoRet = 1234 },
            new SyscallRule { Names = ["mmap"], Action = "SCMP_ACT_ERRNO" });
        var program = SeccompCompiler.Compile(spec with { ListenerPath = "/run/agent.sock" });
        var p = program.Instructions;
        Assert.Equal("KILL_THREAD", X86_64(p, "read"));
        Assert.Equal("KILL_THREAD", X86_64(p, "write"));
        Assert.Equal("KILL_PROCESS", X86_64(p, "open"));
        Assert.Equal("TRAP", X86_64(p, "close"));
        Assert.Equal("ALLOW", X86_64(p, "stat"));
        Assert.Equal("LOG", X86_64(p, "fstat"));
        Assert.Equal("NOTIFY", X86_64(p, "lstat"));
        Assert.Equal("ERRNO(13)", X86_64(p, "poll"));
        Assert.Equal("TRACE(1234)", X86_64(p, "lseek"));
        Assert.Equal("ERRNO(1)", X86_64(p, "mmap"));
        Assert.True(program.NeedsListener);
        Assert.Equal(SeccompNames.FlagNewListener, program.Flags);
    }

    [Fact]
    public void Default_errno_and_flags_are_honoured()
    {
        var spec = Profile(Rule("SCMP_ACT_ALLOW", "read")) with
        {
            DefaultErrnoRet = 38,
            Flags = ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"],
        };
        var program = SeccompCompiler.Compile(spec);
        Assert.Equal("ERRNO(38)", X86_64(program.Instructions, "write"));
        Assert.Equal(SeccompNames.FlagLog | SeccompNames.FlagSpecAllow, program.Flags);
        Assert.Equal("$.linux.seccomp.flags[2]: ignored: the filter is installed by the single-threaded container init",
            Assert.Single(program.Warnings).ToString());
    }

    [Fact]
    public void A_profile_without_x32_kills_x32_calls_but_lets_a_skipped_call_through()
    {
        var p = SeccompCompiler.Compile(Profile(Rule("SCMP_ACT_ALLOW", "read"))).Instructions;
        Assert.Equal("KILL_PROCESS", Describe(p, new SeccompData(SyscallTable.X32Bit, SyscallTable.AuditArchX86_64, [])));
        Assert.Equal("ERRNO(1)", Describe(p, new SeccompData(-1, SyscallTable.AuditArchX86_64, [])));
        Assert.Equal("KILL_PROCESS", Describe(p, new SeccompData(3, SyscallTable.AuditArchI386, [])));
    }

    [Fact]
    public void A_deny_list_with_default_allow_has_no_ENOSYS_stub()
    {
        var spec = new SeccompSpec { DefaultAction = "SCMP_ACT_ALLOW", Syscalls = [Rule("SCMP_ACT_ERRNO", "mount")] };
        var p = SeccompCompiler.Compile(spec).Instructions;
        Assert.Equal("ERRNO(1)", X86_64(p, "mount"));
        Assert.Equal("ALLOW", X86_64(p, "fchmodat2"));
        Assert.Equal("ALLOW", Describe(p, new SeccompData(999, SyscallTable.AuditArchX86_64, [])));
    }

    [Fact]
    public void Every_x86_64_call_with_its_own_action_is_reached_through_long_jumps()
    {
        // One distinct errno per call: no two rules share a return, and the ENOSYS stub's jump spans
        // the whole table (far beyond 255 instructions).
        var names = SyscallTable.Names(SyscallAbi.X86_64).ToList();
        Assert.True(names.Count > 300);
        var rules = names.Select(n => new SyscallRule
        {
            Names = [n],
            Action = "SCMP_ACT_ERRNO",
            ErrnoRet = (uint)(SyscallTable.Number(SyscallAbi.X86_64, n) % 4000 + 100),
        }).ToArray();
        var program = SeccompCompiler.Compile(new SeccompSpec { DefaultAction = "SCMP_ACT_KILL_PROCESS", Syscalls = rules });
        Assert.True(program.Instructions.Count > 600);
        foreach (var n in names)
            Assert.Equal($"ERRNO({SyscallTable.Number(SyscallAbi.X86_64, n) % 4000 + 100})", X86_64(program.Instructions, n));
        Assert.Equal("ERRNO(38)", Describe(program.Instructions, new SeccompData(5000, SyscallTable.AuditArchX86_64, [])));
        Assert.Equal("KILL_PROCESS", Describe(program.Instructions, new SeccompData(335, SyscallTable.AuditArchX86_64, [])));
    }

    [Fact]
    public void A_call_with_hundreds_of_conditional_rules_still_jumps_correctly()
    {
        // 120 rules of ~7 instructions: the block far exceeds the 255-instruction reach of jt/jf.
        var rules = Enumerable.Range(0, 120)
            .Select(i => new SyscallRule
            {
                Names = ["ioctl"],
                Action = "SCMP_ACT_ERRNO",
                ErrnoRet = (uint)(i + 1),
                Args = [Arg(1, "EQ", 0x1_0000_0000UL * (ulong)i + (ulong)i)],
            })
            .Append(Rule("SCMP_ACT_ALLOW", "read write"))
            .Append(Rule("SCMP_ACT_ALLOW", "fcntl", Arg(1, "EQ", 1)))  // its block comes after ioctl's: a far jump
            .ToArray();
        var p = SeccompCompiler.Compile(Profile(rules) with { DefaultAction = "SCMP_ACT_KILL" }).Instructions;
        Assert.True(p.Count > 2 * 255, $"{p.Count} instructions");
        Assert.Contains(p, i => i.Code == Bpf.Ja);
        for (int i = 0; i < 120; i++)
            Assert.Equal($"ERRNO({i + 1})", X86_64(p, "ioctl", 0, 0x1_0000_0000UL * (ulong)i + (ulong)i));
        Assert.Equal("KILL_THREAD", X86_64(p, "ioctl", 0, 0x1_0000_0000UL * 3 + 4));
        Assert.Equal("ALLOW", X86_64(p, "read"));
        Assert.Equal("ALLOW", X86_64(p, "write"));
        Assert.Equal("ALLOW", X86_64(p, "fcntl", 0, 1));
        Assert.Equal("KILL_THREAD", X86_64(p, "fcntl", 0, 2));
    }

    [Fact]
    public void Unknown_names_are_skipped_with_a_warning_and_foreign_architectures_too()
    {
        var spec = Profile(Rule("SCMP_ACT_ALLOW", "read no_such_call chown32")) with
        {
            Architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"],
        };
        var program = SeccompCompiler.Compile(spec);
        Assert.Equal(
        [
            "$.linux.seccomp.architectures[1]: SCMP_ARCH_AARCH64 calls cannot occur on an x86_64 kernel, skipped",
            "$.linux.seccomp.syscalls[0].names[1]: unknown system call \"no_such_call\", skipped",
        ], program.Warnings.Select(w => w.ToString()));
        Assert.Equal("ALLOW", X86_64(program.Instructions, "read"));
    }

    [Fact]
    public void A_second_unconditional_rule_for_a_call_is_reported_as_dead()
    {
        var program = SeccompCompiler.Compile(Profile(Rule("SCMP_ACT_ALLOW", "read"), Rule("SCMP_ACT_KILL", "write read")));
        Assert.Equal("$.linux.seccomp.syscalls[1].names[1]: \"read\" already has an unconditional rule at $.linux.seccomp.syscalls[0].names[0], which applies first; this one never does",
            Assert.Single(program.Warnings).ToString());
        Assert.Equal("ALLOW", X86_64(program.Instructions, "read"));
    }

    [Theory]
    [InlineData("SCMP_ACT_FOO", null, "config.json: $.linux.seccomp.syscalls[1].action: unknown seccomp action \"SCMP_ACT_FOO\" (expected one of SCMP_ACT_KILL, SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL_PROCESS, SCMP_ACT_TRAP, SCMP_ACT_ERRNO, SCMP_ACT_TRACE, SCMP_ACT_ALLOW, SCMP_ACT_LOG, SCMP_ACT_NOTIFY)")]
    [InlineData("SCMP_ACT_ALLOW", 5u, "config.json: $.linux.seccomp.syscalls[1].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not SCMP_ACT_ALLOW")]
    [InlineData("SCMP_ACT_ERRNO", 5000u, "config.json: $.linux.seccomp.syscalls[1].errnoRet: must be at most 4095, got 5000")]
    public void Bad_actions_are_errors_naming_the_json_path(string action, uint? errno, string message)
    {
        var spec = Profile(Rule("SCMP_ACT_ALLOW", "read"), new SyscallRule { Names = ["write"], Action = action, ErrnoRet = errno });
        Assert.Equal(message, Assert.Throws<SpecException>(() => SeccompCompiler.Compile(spec)).Message);
    }

    [Fact]
    public void A_bad_operator_or_index_is_an_error_naming_the_json_path()
    {
        var op = Profile(Rule("SCMP_ACT_ALLOW", "read", Arg(0, "EQ", 1), new SyscallArg { Index = 1, Op = "SCMP_CMP_ABOUT", Value = 1 }));
        Assert.Equal("config.json: $.linux.seccomp.syscalls[0].args[1].op: unknown seccomp operator \"SCMP_CMP_ABOUT\" (expected one of SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ)",
            Assert.Throws<SpecException>(() => SeccompCompiler.Compile(op)).Message);
        var index = Profile(Rule("SCMP_ACT_ALLOW", "read", Arg(6, "EQ", 1)));
        Assert.Equal("config.json: $.linux.seccomp.syscalls[0].args[0].index: system calls have 6 arguments (0..5), got 6",
            Assert.Throws<SpecException>(() => SeccompCompiler.Compile(index)).Message);
        var notifyDefault = new SeccompSpec { DefaultAction = "SCMP_ACT_NOTIFY" };
        Assert.StartsWith("config.json: $.linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action",
            Assert.Throws<SpecException>(() => SeccompCompiler.Compile(notifyDefault)).Message);
    }
}
