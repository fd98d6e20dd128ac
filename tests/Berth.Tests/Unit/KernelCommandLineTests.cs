using Berth.Init;
using Xunit;

namespace Berth.Tests.Unit;

public class KernelCommandLineTests
{
    [Fact]
    public void Split_keeps_quoted_words_together_and_drops_the_quotes()
    {
        var words = KernelCommandLine.Split("BOOT_IMAGE=/vmlinuz  quiet\tberth.hostname=\"my host\" \"a b\"=c  console=ttyS0\n");
        Assert.Equal(["BOOT_IMAGE=/vmlinuz", "quiet", "berth.hostname=my host", "a b=c", "console=ttyS0"], words);
    }

    [Fact]
    public void Split_of_blank_text_is_empty_and_an_unterminated_quote_runs_to_the_end()
    {
        Assert.Empty(KernelCommandLine.Split(""));
        Assert.Empty(KernelCommandLine.Split("  \n\t "));
        Assert.Equal(["a", "b=c d e"], KernelCommandLine.Split("a b=\"c d e"));
    }

    [Fact]
    public void Quoted_value_is_returned_without_quotes()
    {
        var cmd = new KernelCommandLine("console=ttyS0 berth.hostname=\"my host\" quiet");
        Assert.Equal("my host", cmd.Get("berth.hostname"));
        Assert.Equal("ttyS0", cmd.Get("console"));
    }

    [Fact]
    public void Last_occurrence_of_a_key_wins()
    {
        var cmd = new KernelCommandLine("berth.slot=A root=/dev/vda berth.slot=B");
        Assert.Equal("B", cmd.Get("berth.slot"));
    }

    [Fact]
    public void Get_and_Has_distinguish_absent_keys_from_bare_words()
    {
        var cmd = new KernelCommandLine("quiet berth.debug empty=");
        Assert.Null(cmd.Get("berth.hostname"));
        Assert.False(cmd.Has("berth.hostname"));
        Assert.True(cmd.Has("quiet"));
        Assert.Equal("", cmd.Get("quiet"));
        Assert.Equal("", cmd.Get("empty"));
        Assert.Equal("", cmd.Get("berth.debug"));
    }

    [Fact]
    public void Unknown_flat_berth_key_is_warned_and_the_warning_names_the_key()
    {
        var cmd = new KernelCommandLine("quiet berth.colour=blue berth.slot=A");
        var warning = Assert.Single(cmd.Warnings);
        Assert.StartsWith("unknown kernel argument 'berth.colour' ignored (known: ", warning);
        foreach (var key in KernelCommandLine.KnownKeys.Keys)
            Assert.Contains(key, warning);
    }

    [Fact]
    public void Unknown_bare_berth_flag_is_warned_too()
    {
        var cmd = new KernelCommandLine("berth.verbose");
        Assert.StartsWith("unknown kernel argument 'berth.verbose' ignored", Assert.Single(cmd.Warnings));
    }

    [Theory]
    [InlineData("berth.network.hostname=x")]       // cloud-config style berth.<section>.<path>
    [InlineData("berth.users.root.ssh_keys=\"k1 k2\"")]
    [InlineData("quiet console=ttyS0 root=/dev/vda")]
    [InlineData("berthx=1 xberth.foo=2")]
    public void Known_cloud_config_and_foreign_keys_are_not_warned(string text)
    {
        var all = "berth.slot=A berth.hostname=h berth.on_ready=poweroff berth.emergency=stage1 berth.modules=a,b " +
                  "berth.state=tmpfs berth.device_timeout=3 berth.shutdown_grace=2 berth.debug berth.console=ttyS0 " + text;
        Assert.Empty(new KernelCommandLine(all).Warnings);
    }

    [Fact]
    public void GetInt_parses_valid_numbers_without_warning()
    {
        var cmd = new KernelCommandLine("berth.device_timeout=30 berth.shutdown_grace=0");
        var warnings = new List<string>();
        Assert.Equal(30, cmd.GetInt("berth.device_timeout", 10, warnings));
        Assert.Equal(0, cmd.GetInt("berth.shutdown_grace", 5, warnings));
        Assert.Equal(7, cmd.GetInt("berth.absent", 7, warnings));
        Assert.Empty(warnings);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("-5")]
    [InlineData("1.5")]
    [InlineData("")]
    [InlineData("99999999999")]
    public void GetInt_with_bad_value_warns_and_falls_back(string value)
    {
        var cmd = new KernelCommandLine($"berth.device_timeout={value}");
        var warnings = new List<string>();
        Assert.Equal(10, cmd.GetInt("berth.device_timeout", 10, warnings));
        Assert.Equal(
            $"kernel argument berth.device_timeout={value} is not a non-negative whole number; using 10",
            Assert.Single(warnings));
    }

    [Fact]
    public void GetInt_without_warning_list_still_falls_back()
    {
        Assert.Equal(5, new KernelCommandLine("berth.shutdown_grace=soon").GetInt("berth.shutdown_grace", 5));
    }

    [Fact]
    public void Consoles_are_returned_in_command_line_order_including_options()
    {
        var cmd = new KernelCommandLine("console=tty0 quiet console=ttyS0,115200n8 consoleblank=0 console=hvc0");
        Assert.Equal(["tty0", "ttyS0,115200n8", "hvc0"], cmd.Consoles());
    }

    [Fact]
    public void No_console_argument_gives_no_consoles()
    {
        Assert.Empty(new KernelCommandLine("quiet consoleblank=0").Consoles());
    }

    [Theory]
    [InlineData("berth.debug", true)]
    [InlineData("berth.debug=1", true)]
    [InlineData("berth.debug=yes", true)]
    [InlineData("berth.debug=true", true)]
    [InlineData("berth.debug=0", false)]
    [InlineData("berth.debug=no", false)]
    [InlineData("berth.debug=false", false)]
    [InlineData("quiet", false)]
    [InlineData("berth.debug=1 berth.debug=0", false)]
    public void Flag_is_true_for_bare_key_and_1_yes_true(string text, bool expected)
    {
        Assert.Equal(expected, new KernelCommandLine(text).Flag("berth.debug"));
    }
}
