using System.Diagnostics;
using Berth.Runtime.Interop;
using Berth.SystemServices.Power;
using Xunit;
using Xunit.Abstractions;

namespace Berth.Tests.Host.SystemServices;

/// <summary>
/// acpid against event "devices" that are FIFOs the test writes struct input_event into, and a fake
/// PID 1: a shell that records the signal it gets.
/// </summary>
public sealed class AcpidTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private sealed class SignalRecorder : IDisposable
    {
        private readonly Process _sh;
        public string Out { get; }

        public SignalRecorder(string outFile)
        {
            Out = outFile;
            var psi = new ProcessStartInfo("/bin/sh");
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add($"trap 'echo USR2 >> {outFile}' USR2; trap 'echo TERM >> {outFile}; exit 0' TERM; echo ready > {outFile}.ready; while :; do sleep 0.05; done");
            _sh = Process.Start(psi)!;
            Assert.True(HostRun.Until(() => File.Exists(outFile + ".ready"), Timeout));
        }

        public int Pid => _sh.Id;

        public string[] Signals => File.Exists(Out) ? File.ReadAllLines(Out) : [];

        public void Dispose()
        {
            if (!_sh.HasExited) _sh.Kill();
            _sh.WaitForExit(5000);
            _sh.Dispose();
        }
    }

    private static void MakeFifo(string path) => Assert.Equal(0, HostRun.Tool("mkfifo", path).Exit);

    private static FileStream OpenWriter(string fifo)
    {
        // Opening a FIFO for writing waits for its reader: acpid.
        var open = Task.Run(() => new FileStream(fifo, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1));
        Assert.True(open.Wait(Timeout), "acpid did not open the device");
        return open.Result;
    }

    private static void Send(FileStream w, params InputEvent[] events)
    {
        foreach (var e in events) w.Write(e.ToBytes());
        w.Flush();
    }

    private static InputEvent Key(ushort code, int value) => new(1, 0, InputEvent.EV_KEY, code, value);

    private static readonly InputEvent Syn = new(1, 0, InputEvent.EV_SYN, 0, 0);

    [Fact]
    public void A_power_key_press_on_the_given_device_signals_the_target_once_per_press()
    {
        using var dir = new TempDir();
        MakeFifo(dir["event0"]);
        using var target = new SignalRecorder(dir["signals"]);
        using var acpid = new ServiceProcess("acpid", ["--device", dir["event0"], "--pid", target.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        using var w = OpenWriter(dir["event0"]);

        Send(w, Key(115, 1), Syn, Key(InputEvent.KEY_POWER, 0), Syn, Key(InputEvent.KEY_POWER, 2), Syn);
        Thread.Sleep(500);
        Assert.Empty(target.Signals); // other keys, a release and autorepeat do not count

        // A press split across writes, as a pipe may deliver it, then a bounce within the hold-off.
        var press = Key(InputEvent.KEY_POWER, 1).ToBytes();
        w.Write(press.AsSpan(0, 7));
        w.Flush();
        Thread.Sleep(50);
        w.Write(press.AsSpan(7));
        Send(w, Syn, Key(InputEvent.KEY_POWER, 0), Syn, Key(InputEvent.KEY_POWER, 1), Syn);
        Assert.True(HostRun.Until(() => target.Signals.Length > 0, Timeout), acpid.Stderr);
        Thread.Sleep(500);
        Assert.Equal(["USR2"], target.Signals);

        Thread.Sleep(2000); // past the hold-off, a new press is a new request
        Send(w, Key(InputEvent.KEY_POWER, 1), Syn);
        Assert.True(HostRun.Until(() => target.Signals.Length == 2, Timeout), acpid.Stderr);

        output.WriteLine($"RSS acpid idle: {acpid.RssKiB()} KiB");
        output.WriteLine(acpid.Stderr);
        acpid.Signal(Consts.SIGTERM);
        Assert.Equal(0, acpid.WaitForExit(Timeout));
        Assert.Contains("power button pressed", acpid.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void The_power_button_is_found_by_name_in_sysfs_even_when_it_appears_later()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["sys/input0/event0"]);
        File.WriteAllText(dir["sys/input0/name"], "AT Translated Set 2 keyboard\n");
        Directory.CreateDirectory(dir["dev"]);
        MakeFifo(dir["dev/event0"]);
        MakeFifo(dir["dev/event3"]);
        using var target = new SignalRecorder(dir["signals"]);
        using var acpid = new ServiceProcess("acpid",
        [
            "--sysfs", dir["sys"], "--proc-devices", dir["none"], "--dev-input", dir["dev"], "--rescan", "200ms",
            "--pid", target.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "--signal", "SIGTERM", "--no-netlink",
        ]);
        Assert.True(HostRun.Until(() => acpid.Stderr.Contains("no \"Power Button\"", StringComparison.Ordinal), Timeout), acpid.Stderr);

        // The button module loads: its input device shows up.
        Directory.CreateDirectory(dir["sys/input3/event3"]);
        File.WriteAllText(dir["sys/input3/name"], "Power Button\n");
        using var w = OpenWriter(dir["dev/event3"]);
        Send(w, Key(InputEvent.KEY_POWER, 1), Syn);
        Assert.True(HostRun.Until(() => target.Signals.Contains("TERM"), Timeout), acpid.Stderr);
        Assert.DoesNotContain("event0", acpid.Stderr, StringComparison.Ordinal); // the keyboard is not watched
        acpid.Signal(Consts.SIGTERM);
        Assert.Equal(0, acpid.WaitForExit(Timeout));
    }

    [Fact]
    public void Finder_uses_proc_bus_input_devices_when_sysfs_has_nothing()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["devices"], """
            I: Bus=0019 Vendor=0000 Product=0001 Version=0000
            N: Name="Power Button"
            P: Phys=LNXPWRBN/button/input0
            H: Handlers=kbd event0
            B: EV=3

            I: Bus=0011 Vendor=0001 Product=0001 Version=ab41
            N: Name="AT Translated Set 2 keyboard"
            H: Handlers=sysrq kbd leds event1

            I: Bus=0019 Vendor=0000 Product=0001 Version=0000
            N: Name="Power Button"
            H: Handlers=kbd event2

            """);
        var finder = new PowerButtonFinder(dir["no-sysfs"], dir["devices"], "/dev/input");
        Assert.Equal(["/dev/input/event0", "/dev/input/event2"], finder.Find());
    }
}

public sealed class GenericNetlinkTests
{
    [Fact]
    public void The_controller_resolves_its_own_family_and_group()
    {
        using var ctrl = Berth.Runtime.Linux.GenericNetlink.Subscribe("nlctrl", "notify");
        Assert.Equal(0x10, ctrl.FamilyId); // GENL_ID_CTRL, fixed in the kernel
    }

    [Fact]
    public void An_unknown_family_is_enoent()
    {
        var e = Assert.Throws<Berth.Runtime.Linux.SyscallException>(() => Berth.Runtime.Linux.GenericNetlink.Subscribe("berthnofamily", "x"));
        Assert.Equal(Berth.Runtime.Interop.Consts.ENOENT, e.Errno);
    }
}
