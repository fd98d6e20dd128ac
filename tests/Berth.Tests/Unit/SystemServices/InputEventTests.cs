using Berth.SystemServices;
using Berth.SystemServices.Power;
using Xunit;

namespace Berth.Tests.Unit.SystemServices;

public class InputEventTests
{
    [Fact]
    public void Parses_the_x86_64_layout()
    {
        byte[] b =
        [
            0x10, 0, 0, 0, 0, 0, 0, 0, // tv_sec 16
            0x20, 0, 0, 0, 0, 0, 0, 0, // tv_usec 32
            0x01, 0x00, // EV_KEY
            0x74, 0x00, // 116 KEY_POWER
            0x01, 0, 0, 0, // pressed
        ];
        var e = InputEvent.Parse(b);
        Assert.Equal(new InputEvent(16, 32, InputEvent.EV_KEY, InputEvent.KEY_POWER, 1), e);
        Assert.True(e.IsPowerPress);
        Assert.Equal(b, e.ToBytes());
    }

    [Theory]
    [InlineData(InputEvent.EV_KEY, InputEvent.KEY_POWER, 0)] // release
    [InlineData(InputEvent.EV_KEY, InputEvent.KEY_POWER, 2)] // autorepeat
    [InlineData(InputEvent.EV_KEY, 115, 1)] // KEY_VOLUMEUP
    [InlineData(InputEvent.EV_SYN, InputEvent.KEY_POWER, 1)]
    public void Only_a_power_key_press_counts(ushort type, ushort code, int value) =>
        Assert.False(new InputEvent(0, 0, type, code, value).IsPowerPress);

    [Fact]
    public void Split_keeps_partial_events_for_the_next_read()
    {
        var a = new InputEvent(1, 2, InputEvent.EV_KEY, InputEvent.KEY_POWER, 1).ToBytes();
        var b = new InputEvent(3, 4, InputEvent.EV_SYN, 0, 0).ToBytes();
        byte[] all = [.. a, .. b];
        var pending = new List<byte>();
        Assert.Empty(InputEvent.Split(pending, all.AsSpan(0, 10)));
        var first = InputEvent.Split(pending, all.AsSpan(10, 20));
        Assert.Equal([InputEvent.Parse(a)], first);
        Assert.Equal(6, pending.Count);
        Assert.Equal([InputEvent.Parse(b)], InputEvent.Split(pending, all.AsSpan(30)));
        Assert.Empty(pending);
    }

    [Theory]
    [InlineData("SIGUSR2", 12)]
    [InlineData("pwr", 30)]
    [InlineData("15", 15)]
    public void Signal_names(string name, int number) => Assert.Equal(number, AcpidOptions.ParseSignal(name));

    [Fact]
    public void Unknown_signal_is_a_usage_error() => Assert.Throws<UsageException>(() => AcpidOptions.ParseSignal("SIGFOO"));
}

public class ServiceArgumentsTests
{
    [Fact]
    public void Values_flags_repeats_and_equals_form()
    {
        var a = ServiceArguments.Parse(["--server", "a", "--server=b:1", "--once", "--max-size", "2M", "--timeout", "250ms"],
            ["server", "max-size", "timeout"], ["once", "dry-run"]);
        Assert.Equal(["a", "b:1"], a.Values("server"));
        Assert.Equal("b:1", a.Value("server"));
        Assert.True(a.Flag("once"));
        Assert.False(a.Flag("dry-run"));
        Assert.Equal(2L << 20, a.Size("max-size", 0));
        Assert.Equal(TimeSpan.FromMilliseconds(250), a.Duration("timeout", TimeSpan.Zero));
        Assert.Equal(7, a.Int("missing", 7));
    }

    [Theory]
    [InlineData("--nope")]
    [InlineData("stray")]
    [InlineData("--server")]
    [InlineData("--once=yes")]
    public void Bad_command_lines(string arg) =>
        Assert.Throws<UsageException>(() => ServiceArguments.Parse([arg], ["server"], ["once"]));

    [Theory]
    [InlineData("512", 512L)]
    [InlineData("4K", 4096L)]
    [InlineData("1MiB", 1048576L)]
    [InlineData("1g", 1073741824L)]
    public void Sizes(string s, long bytes) => Assert.Equal(bytes, ServiceArguments.ParseSize(s));

    [Theory]
    [InlineData("1.5", 1.5)]
    [InlineData("2m", 120.0)]
    [InlineData("1h", 3600.0)]
    public void Durations(string s, double seconds) => Assert.Equal(TimeSpan.FromSeconds(seconds), ServiceArguments.ParseDuration(s));
}

public class AcpiNetlinkEventTests
{
    private static byte[] Datagram(ushort familyId, string deviceClass, string busId, uint type, uint data)
    {
        var ev = new byte[44];
        System.Text.Encoding.ASCII.GetBytes(deviceClass).CopyTo(ev, 0);
        System.Text.Encoding.ASCII.GetBytes(busId).CopyTo(ev, 20);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(ev.AsSpan(36), type);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(ev.AsSpan(40), data);
        var msg = new byte[16 + 4 + 4 + 44];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(msg, (uint)msg.Length);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(msg.AsSpan(4), familyId);
        msg[16] = 1; // ACPI_GENL_CMD_EVENT
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(msg.AsSpan(20), 48);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(msg.AsSpan(22), 1); // ACPI_GENL_ATTR_EVENT
        ev.CopyTo(msg, 24);
        return msg;
    }

    [Fact]
    public void Power_button_event_from_the_acpi_family()
    {
        byte[] two = [.. Datagram(0x17, "button/power", "LNXPWRBN:00", 0x80, 1), .. Datagram(0x17, "ac_adapter", "ACPI0003:00", 0x80, 0)];
        var events = AcpiNetlinkEvent.Parse(two, 0x17);
        Assert.Equal([new AcpiNetlinkEvent("button/power", "LNXPWRBN:00", 0x80, 1), new AcpiNetlinkEvent("ac_adapter", "ACPI0003:00", 0x80, 0)], events);
        Assert.True(events[0].IsPowerButton);
        Assert.False(events[1].IsPowerButton);
    }

    [Fact]
    public void Messages_of_other_families_are_ignored() =>
        Assert.Empty(AcpiNetlinkEvent.Parse(Datagram(0x18, "button/power", "PNP0C0C:00", 0x80, 1), 0x17));
}
