using System.Text;
using Berth.Init.Upgrade;
using Berth.Qemu;
using Xunit;

namespace Berth.Tests.Unit.Upgrade;

public sealed class GrubEnvironmentTests
{
    private static byte[] EditenvBlock(params string[] assignments)
    {
        string path = Path.Combine(Path.GetTempPath(), "grubenv-" + Guid.NewGuid().ToString("N"));
        try
        {
            HostTools.Checked("grub-editenv", path, "create");
            if (assignments.Length > 0) HostTools.Checked("grub-editenv", [path, "set", .. assignments]);
            return File.ReadAllBytes(path);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Parses_what_grub_editenv_writes_and_formats_the_same_bytes()
    {
        var block = EditenvBlock("A_OK=1", "B_OK=0", "A_TRIES=0", "B_TRIES=3", "ORDER=B A");
        var env = GrubEnvironment.Parse(block, "test");
        Assert.Equal(["A_OK", "B_OK", "A_TRIES", "B_TRIES", "ORDER"], env.Variables.Select(v => v.Key));
        Assert.Equal("B A", env.Get("ORDER"));
        Assert.Equal("3", env.Get("B_TRIES"));
        Assert.Equal(block, env.Format());
    }

    [Fact]
    public void Setting_an_equal_length_value_changes_only_that_byte()
    {
        var block = EditenvBlock("A_OK=1", "B_OK=0", "A_TRIES=0", "B_TRIES=0", "ORDER=A B");
        var env = GrubEnvironment.Parse(block, "test").Set("B_TRIES", "3");
        var changed = env.Format().Select((b, i) => (b, i)).Where(x => x.b != block[x.i]).Select(x => x.i).ToList();
        Assert.Single(changed);
        Assert.Equal(Encoding.ASCII.GetString(block).IndexOf("B_TRIES=0", StringComparison.Ordinal) + 8, changed[0]);
        // and grub-editenv agrees with the result
        Assert.Equal(EditenvBlock("A_OK=1", "B_OK=0", "A_TRIES=0", "B_TRIES=3", "ORDER=A B"), env.Format());
    }

    [Theory]
    [InlineData("short", "1023 bytes")]
    [InlineData("header", "no '# GRUB Environment Block' header")]
    [InlineData("padding", "padding at byte")]
    [InlineData("noequals", "is not name=value")]
    [InlineData("control", "control byte")]
    public void Refuses_blocks_grub_would_not_read_the_same_way(string damage, string message)
    {
        var block = EditenvBlock("A_OK=1", "ORDER=A B");
        int end = Encoding.ASCII.GetString(block).IndexOf("ORDER=A B\n", StringComparison.Ordinal) + 10;
        switch (damage)
        {
            case "short": block = block[..1023]; break;
            case "header": block[2] = (byte)'g'; break;
            case "padding": block[1000] = (byte)'x'; break;
            case "noequals": "junk\n"u8.ToArray().CopyTo(block, end); break;
            case "control": block[end - 3] = 0; break;
        }
        var e = Assert.Throws<GrubEnvironmentException>(() => GrubEnvironment.Parse(block, "/dev/vda2:grub/grubenv"));
        Assert.Contains(message, e.Message);
        Assert.StartsWith("/dev/vda2:grub/grubenv: ", e.Message);
    }

    [Fact]
    public void Refuses_to_format_more_than_a_block()
    {
        var env = new GrubEnvironment().Set("X", new string('y', 1100));
        Assert.Throws<GrubEnvironmentException>(() => env.Format());
    }

    [Theory]
    [InlineData("A B", 1, 0, 0, 0, 'A')]
    [InlineData("B A", 1, 0, 0, 3, 'B')]   // B on trial
    [InlineData("B A", 1, 0, 0, 0, 'A')]   // B's tries used up: fall back
    [InlineData("B B", 1, 0, 0, 0, 'A')]   // torn ORDER still names A
    [InlineData("", 0, 1, 0, 0, 'B')]      // no ORDER: A B, A bad
    [InlineData("A B", 0, 0, 0, 0, 'A')]   // nothing bootable: A
    public void Next_boot_mirrors_grub_cfg(string order, int aOk, int bOk, int aTries, int bTries, char expected)
    {
        var env = new GrubEnvironment().Set("A_OK", aOk.ToString()).Set("B_OK", bOk.ToString())
            .Set("A_TRIES", aTries.ToString()).Set("B_TRIES", bTries.ToString()).Set("ORDER", order);
        Assert.Equal(expected, AbState.From(env).NextBoot());
    }

    [Theory]
    [InlineData("0.2.0", "0.1.0", 1)]
    [InlineData("0.10.0", "0.9.9", 1)]
    [InlineData("1.0.0-rc1", "1.0.0", -1)]
    [InlineData("1.0", "1.0.0", 0)]
    [InlineData("0.1.0", "0.2.0", -1)]
    public void Versions_order_numerically(string a, string b, int expected) => Assert.Equal(expected, OsVersion.Compare(a, b));
}
