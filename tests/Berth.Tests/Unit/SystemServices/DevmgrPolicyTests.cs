using Berth.SystemServices.DeviceManager;
using Xunit;

namespace Berth.Tests.Unit.SystemServices;

public class DevmgrPolicyTests
{
    [Theory]
    [InlineData("block", "vda", 0x1b0, 6)]          // 0660 root:disk
    [InlineData("block", "vda5", 0x1b0, 6)]
    [InlineData("block", "sr0", 0x1b0, 6)]
    [InlineData("mem", "null", 0x1b6, 0)]           // 0666
    [InlineData("mem", "zero", 0x1b6, 0)]
    [InlineData("mem", "random", 0x1b6, 0)]
    [InlineData("mem", "urandom", 0x1b6, 0)]
    [InlineData("mem", "mem", 0x1a0, 0)]            // 0640: raw memory is not everyone's
    [InlineData("tty", "tty", 0x1b6, 5)]
    [InlineData("tty", "ptmx", 0x1b6, 5)]
    [InlineData("tty", "tty1", 0x190, 5)]           // 0620 root:tty
    [InlineData("tty", "tty63", 0x190, 5)]
    [InlineData("tty", "ttyS0", 0x1b0, 5)]
    [InlineData("tty", "console", 0x180, 0)]
    [InlineData("misc", "kvm", 0x1b0, 36)]          // 0660 root:kvm
    [InlineData("misc", "fuse", 0x1b6, 0)]
    [InlineData("misc", "net/tun", 0x1b6, 0)]
    [InlineData("input", "input/event0", 0x180, 0)] // unknown: root's alone
    [InlineData("misc", "ttyfoo", 0x180, 0)]        // tty rules are for the tty subsystem only
    public void Nodes_get_udevs_default_owner_and_mode(string subsystem, string name, int mode, uint gid)
    {
        Assert.Equal(new NodePermissions(mode, 0, gid), DeviceNodePolicy.For(subsystem, name));
    }

    [Fact]
    public void A_drivers_mode_counts_only_where_no_rule_says_otherwise()
    {
        Assert.Equal(new NodePermissions(0x1b6, 0, 0), DeviceNodePolicy.For("misc", "uhid", driverMode: 0x1b6));
        Assert.Equal(new NodePermissions(0x1b0, 0, 6), DeviceNodePolicy.For("block", "vda", driverMode: 0x1b6));
    }
}
