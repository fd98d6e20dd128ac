using Berth.Runtime.Containers;
using Berth.Runtime.Oci;
using Xunit;

namespace Berth.Tests.Unit.Containers;

/// <summary>
/// The device filter's decisions, found by running the compiled eBPF in a small interpreter of the
/// instructions it uses (the kernel's verifier is exercised by the host tests).
/// </summary>
public class DeviceFilterProgramTests
{
    private const int C = DeviceFilterProgram.DeviceChar, B = DeviceFilterProgram.DeviceBlock;
    private const int M = DeviceFilterProgram.AccessMknod, R = DeviceFilterProgram.AccessRead, W = DeviceFilterProgram.AccessWrite;

    private static bool Allows(DeviceFilterProgram p, int type, int access, uint major, uint minor)
    {
        var reg = new ulong[11];
        uint[] ctx = [(uint)(access << 16 | type), major, minor];
        var code = p.Instructions;
        for (int pc = 0, steps = 0; ; pc++, steps++)
        {
            Assert.True(pc < code.Count && steps < 10_000, "ran off the end of the program");
            ulong insn = code[pc];
            byte op = (byte)insn;
            int dst = (int)(insn >> 8) & 0xf, src = (int)(insn >> 12) & 0xf;
            short off = (short)(insn >> 16);
            int imm = (int)(insn >> 32);
            switch (op)
            {
                case 0x61: Assert.Equal(1, src); reg[dst] = ctx[off / 4]; break;
                case 0x54: reg[dst] = (uint)reg[dst] & (uint)imm; break;
                case 0x74: reg[dst] = (uint)reg[dst] >> imm; break;
                case 0xbc: reg[dst] = (uint)reg[src]; break;
                case 0xb7: reg[dst] = (ulong)(long)imm; break;
                case 0x55: if (reg[dst] != (ulong)(long)imm) pc += off; break;
                case 0x5d: if (reg[dst] != reg[src]) pc += off; break;
                case 0x15: if (reg[dst] == (ulong)(long)imm) pc += off; break;
                case 0x95: Assert.True(reg[0] is 0 or 1); return reg[0] == 1;
                default: Assert.Fail($"unexpected opcode 0x{op:x2} at {pc}"); break;
            }
        }
    }

    private static DeviceFilterProgram Compile(params DeviceCgroupRule[] rules) => DeviceFilterProgram.Compile(rules);

    [Fact]
    public void Deny_all_then_the_defaults_allows_only_the_standard_devices()
    {
        var linux = new LinuxSpec { Resources = new ResourcesSpec { Devices = [new DeviceCgroupRule { Allow = false, Access = "rwm" }] } };
        var p = DeviceFilterProgram.Compile(DeviceFilterProgram.RulesFor(linux));
        Assert.True(Allows(p, C, R | W, 1, 3));   // /dev/null
        Assert.True(Allows(p, C, R, 1, 9));       // /dev/urandom
        Assert.True(Allows(p, C, R | W, 136, 7)); // /dev/pts/7
        Assert.False(Allows(p, C, W, 1, 11));     // /dev/kmsg
        Assert.False(Allows(p, B, R, 8, 0));      // /dev/sda
        Assert.True(Allows(p, B, M, 8, 0));       // mknod alone, as runc allows it
        Assert.False(Allows(p, B, M | R, 8, 0));
    }

    [Fact]
    public void The_nodes_the_spec_creates_are_allowed()
    {
        var linux = new LinuxSpec
        {
            Devices = [new DeviceSpec { Type = "b", Path = "/dev/vdb", Major = 254, Minor = 16 }],
            Resources = new ResourcesSpec { Devices = [new DeviceCgroupRule { Allow = false }] },
        };
        var p = DeviceFilterProgram.Compile(DeviceFilterProgram.RulesFor(linux));
        Assert.True(Allows(p, B, R | W, 254, 16));
        Assert.False(Allows(p, B, R, 254, 17));
    }

    [Fact]
    public void No_rules_means_no_program()
    {
        Assert.Empty(DeviceFilterProgram.RulesFor(new LinuxSpec { Devices = [new DeviceSpec { Type = "c", Path = "/dev/x", Major = 1, Minor = 3 }] }));
    }

    [Fact]
    public void The_last_matching_rule_decides_and_unmatched_devices_are_allowed()
    {
        var p = Compile(
            new DeviceCgroupRule { Allow = false, Type = "c", Major = 10 },
            new DeviceCgroupRule { Allow = true, Type = "c", Major = 10, Minor = 200, Access = "rw" });
        Assert.False(Allows(p, C, R, 10, 229));
        Assert.True(Allows(p, C, R | W, 10, 200));
        Assert.False(Allows(p, C, M, 10, 200)); // mknod is not in the allow rule's access
        Assert.True(Allows(p, B, R, 10, 229));  // a block device of that major: no rule matches
        Assert.True(Allows(p, C, R, 11, 0));
    }

    [Fact]
    public void A_deny_rule_matches_any_access_it_names()
    {
        var p = Compile(new DeviceCgroupRule { Allow = false, Type = "c", Major = 1, Minor = 5, Access = "w" });
        Assert.False(Allows(p, C, R | W, 1, 5));
        Assert.True(Allows(p, C, R, 1, 5));
    }

    [Fact]
    public void Nothing_is_emitted_after_a_rule_that_matches_everything()
    {
        var p = Compile(new DeviceCgroupRule { Allow = true, Type = "c", Major = 1 }, new DeviceCgroupRule { Allow = false });
        Assert.Equal(0x95, (byte)p.Instructions[^1]);
        Assert.Equal(6 + 2, p.Instructions.Count); // prologue, then r0 = 0; exit
        Assert.False(Allows(p, C, R, 1, 3));
    }
}
