using Berth.Runtime.Oci;
using Berth.Runtime.Security;
using Xunit;

namespace Berth.Tests.Unit.Security;

public class CapabilitiesTests
{
    [Fact]
    public void The_table_has_all_41_capabilities_numbered_as_the_kernel()
    {
        Assert.Equal(41, Capabilities.All.Count);
        Assert.Equal(0, Capabilities.Parse("CAP_CHOWN"));
        Assert.Equal(12, Capabilities.Parse("CAP_NET_ADMIN"));
        Assert.Equal(21, Capabilities.Parse("CAP_SYS_ADMIN"));
        Assert.Equal(37, Capabilities.Parse("CAP_AUDIT_READ"));
        Assert.Equal(38, Capabilities.Parse("CAP_PERFMON"));
        Assert.Equal(39, Capabilities.Parse("CAP_BPF"));
        Assert.Equal(40, Capabilities.Parse("CAP_CHECKPOINT_RESTORE"));
        for (int n = 0; n <= Capabilities.Last; n++) Assert.Equal(n, Capabilities.Parse(Capabilities.Name(n)));
    }

    [Fact]
    public void The_table_agrees_with_the_kernel_headers()
    {
        const string header = "/usr/include/linux/capability.h";
        Assert.True(File.Exists(header), $"{header} is missing (linux-libc-dev)");
        var defines = System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(header), @"#define (CAP_[A-Z_]+)\s+(\d+)\s*$",
            System.Text.RegularExpressions.RegexOptions.Multiline);
        var fromHeader = defines.Where(m => m.Groups[1].Value != "CAP_LAST_CAP")
            .ToDictionary(m => m.Groups[1].Value, m => int.Parse(m.Groups[2].Value));
        Assert.True(fromHeader.Count >= 40);
        foreach (var (name, number) in fromHeader) Assert.Equal(number, Capabilities.Parse(name));
    }

    [Fact]
    public void Dockers_default_set_is_the_14_capabilities()
    {
        var set = Capabilities.SetOf(Capabilities.DockerDefault);
        Assert.Equal(14, set.Numbers().Count());
        // CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP
        Assert.Equal(0xa80425fbUL, set.Bits);
        Assert.Equal(0xa80425fbu, set.Low);
        Assert.Equal(0u, set.High);
    }

    [Fact]
    public void Capabilities_above_31_go_to_the_high_word()
    {
        var set = Capabilities.SetOf(["CAP_BPF", "CAP_CHOWN"]);
        Assert.Equal(1u, set.Low);
        Assert.Equal(1u << 7, set.High);
        Assert.Equal("CAP_CHOWN, CAP_BPF", set.ToString());
    }

    [Fact]
    public void Unknown_names_are_all_named_in_one_error()
    {
        var e = Assert.Throws<UnknownCapabilityException>(() => Capabilities.SetOf(["CAP_CHOWN", "CAP_FOO", "chown"]));
        Assert.Equal("unknown capabilities \"CAP_FOO\", \"chown\"", e.Message);
        Assert.Equal(["CAP_FOO", "chown"], e.Names);
    }

    [Fact]
    public void A_plan_drops_from_the_bounding_set_what_is_not_in_it()
    {
        var plan = CapabilityPlan.For(new CapabilitiesSpec
        {
            Bounding = Capabilities.DockerDefault,
            Effective = Capabilities.DockerDefault,
            Permitted = Capabilities.DockerDefault,
            Inheritable = ["CAP_KILL"],
            Ambient = ["CAP_KILL"],
        }, lastCap: 40)!;
        Assert.Equal(41 - 14, plan.BoundingDrops.Count);
        Assert.Contains(Capabilities.Parse("CAP_SYS_ADMIN"), plan.BoundingDrops);
        Assert.DoesNotContain(Capabilities.Parse("CAP_CHOWN"), plan.BoundingDrops);
        Assert.Equal([Capabilities.Parse("CAP_KILL")], plan.AmbientRaises);
        Assert.Empty(plan.Warnings);
    }

    [Fact]
    public void A_plan_respects_an_older_kernels_last_capability()
    {
        var plan = CapabilityPlan.For(new CapabilitiesSpec { Bounding = ["CAP_CHOWN", "CAP_BPF"], Permitted = ["CAP_BPF"] }, lastCap: 37)!;
        Assert.Equal(37, plan.BoundingDrops.Max());
        Assert.True(plan.Permitted.IsEmpty);
        Assert.Equal("$.process.capabilities.bounding: CAP_BPF not known to the running kernel (cap_last_cap 37), ignored",
            plan.Warnings[0].ToString());
    }

    [Fact]
    public void Ambient_capabilities_that_cannot_be_raised_are_left_out_with_a_warning()
    {
        // runc spec's own default: ambient without inheritable.
        var plan = CapabilityPlan.For(DefaultSpec.Create().Process!.Capabilities, lastCap: 40)!;
        Assert.True(plan.Ambient.IsEmpty);
        Assert.Equal("$.process.capabilities.ambient: CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE not both permitted and inheritable: cannot be ambient, not raised",
            Assert.Single(plan.Warnings).ToString());
    }

    [Fact]
    public void Effective_outside_permitted_is_refused_naming_the_json_path()
    {
        var e = Assert.Throws<SpecException>(() => CapabilityPlan.For(new CapabilitiesSpec { Effective = ["CAP_KILL"], Permitted = [] }, 40));
        Assert.Equal("config.json: $.process.capabilities.effective: CAP_KILL not in the permitted set: the kernel refuses that", e.Message);
    }

    [Fact]
    public void No_capabilities_object_means_no_plan()
    {
        Assert.Null(CapabilityPlan.For(null, 40));
        var empty = CapabilityPlan.For(new CapabilitiesSpec(), 40)!;
        Assert.Equal(41, empty.BoundingDrops.Count);
        Assert.True(empty.Permitted.IsEmpty);
    }
}
