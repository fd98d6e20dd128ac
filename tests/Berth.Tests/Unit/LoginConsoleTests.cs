using Berth.SystemServices.Console;
using Xunit;

namespace Berth.Tests.Unit;

public class LoginConsoleTests
{
    [Fact]
    public void Serial_console_with_options_gives_tty_and_baud()
    {
        Assert.Equal(("ttyS0", "115200"), LoginConsole.ChooseTty(["ttyS0,115200n8"], null));
        Assert.Equal(("ttyS1", "9600"), LoginConsole.ChooseTty(["ttyS1,9600"], null));
    }

    [Fact]
    public void The_last_console_argument_is_used()
    {
        Assert.Equal(("ttyS0", "38400"), LoginConsole.ChooseTty(["tty0", "ttyS0,38400n8"], null));
        Assert.Equal(("tty0", "115200"), LoginConsole.ChooseTty(["ttyS0,38400n8", "tty0"], null));
    }

    [Fact]
    public void No_console_argument_falls_back_to_tty1()
    {
        Assert.Equal(("tty1", "115200"), LoginConsole.ChooseTty([], null));
    }

    [Fact]
    public void Dev_prefix_is_stripped()
    {
        Assert.Equal(("ttyS0", "57600"), LoginConsole.ChooseTty(["/dev/ttyS0,57600n8"], null));
        Assert.Equal(("hvc0", "115200"), LoginConsole.ChooseTty(["/dev/hvc0"], null));
    }

    [Fact]
    public void Console_without_baud_defaults_to_115200()
    {
        Assert.Equal(("ttyS0", "115200"), LoginConsole.ChooseTty(["ttyS0"], null));
        Assert.Equal(("ttyS0", "115200"), LoginConsole.ChooseTty(["ttyS0,n8"], null));
    }

    [Fact]
    public void Override_wins_over_console_arguments()
    {
        Assert.Equal(("tty2", "115200"), LoginConsole.ChooseTty(["ttyS0,9600n8"], "tty2"));
        Assert.Equal(("ttyS1", "19200"), LoginConsole.ChooseTty(["ttyS0,9600n8"], "/dev/ttyS1,19200"));
        Assert.Equal(("hvc0", "115200"), LoginConsole.ChooseTty([], "hvc0"));
    }

    [Fact]
    public void Getty_for_a_serial_line_uses_vt100_and_a_new_session()
    {
        var spec = LoginConsole.Getty("ttyS0", "115200");
        Assert.Equal("/sbin/getty", spec.Executable);
        Assert.Equal(["-L", "115200", "ttyS0", "vt100"], spec.Arguments);
        Assert.True(spec.NewSession);
    }

    [Fact]
    public void Getty_for_a_virtual_terminal_uses_linux_terminal_type()
    {
        Assert.Equal(["-L", "38400", "tty1", "linux"], LoginConsole.Getty("tty1", "38400").Arguments);
    }

    [Fact]
    public void A_serial_console_gets_a_second_getty_on_tty1()
    {
        Assert.Equal(["ttyS0", "tty1"], LoginConsole.LoginTtys("ttyS0", _ => true));
        Assert.Equal(["hvc0", "tty1"], LoginConsole.LoginTtys("hvc0", _ => true));
        Assert.Equal("console", LoginConsole.ServiceName("ttyS0", "ttyS0"));
        Assert.Equal("console-tty1", LoginConsole.ServiceName("tty1", "ttyS0"));
    }

    [Fact]
    public void A_virtual_terminal_console_or_a_machine_without_tty1_gets_one_getty()
    {
        Assert.Equal(["tty1"], LoginConsole.LoginTtys("tty1", _ => true));
        Assert.Equal(["tty0"], LoginConsole.LoginTtys("tty0", _ => true));
        Assert.Equal(["tty12"], LoginConsole.LoginTtys("tty12", _ => true));
        Assert.Equal(["ttyS0"], LoginConsole.LoginTtys("ttyS0", p => p != "/dev/tty1"));
    }
}
