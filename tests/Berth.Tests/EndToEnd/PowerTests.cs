using System.Text.RegularExpressions;
using Berth.Qemu;
using Xunit;

namespace Berth.Tests.EndToEnd;

/// <summary>Reboot and poweroff by signal are orderly, and STATE survives them clean.</summary>
[Collection("qemu")]
[Trait("Category", "EndToEnd")]
public sealed class PowerTests
{
    [Fact]
    public void State_survives_a_reboot_by_signal_and_poweroff_leaves_it_clean()
    {
        using var guest = new QemuGuest().Start();
        guest.WaitForReady();
        string token = Guid.NewGuid().ToString("N");
        guest.Check($"echo {token} > /var/lib/berth/token && sync");

        guest.Fire("kill -TERM 1");
        guest.WaitForSerial(new Regex("SIGTERM: reboot"), TimeSpan.FromSeconds(60), "reboot notice");
        var second = guest.WaitForReady();
        Assert.True(second.Services >= 1);
        Assert.Equal(token, guest.Check("cat /var/lib/berth/token").Trim());
        Assert.Equal("mounted", guest.Check("cat /run/berth/state-outcome").Trim());
        // The first shutdown unmounted STATE: the journal needed no recovery at this mount.
        Assert.DoesNotContain("recovery complete", guest.Check("dmesg | grep -i 'vda5' || true"));

        guest.Fire("kill -USR2 1");
        Assert.True(guest.WaitForExit(TimeSpan.FromSeconds(90)), "QEMU did not exit after SIGUSR2 (poweroff)");
        Assert.Contains("poweroff now", guest.SerialLog);
        Assert.DoesNotContain("Kernel panic", guest.SerialLog);
        var fsck = HostTools.FsckState(guest.ImagePath, guest.WorkDir);
        Assert.True(fsck.ExitCode == 0, $"e2fsck -fn on STATE: exit {fsck.ExitCode}\n{fsck.Output}");
    }

    [Fact]
    public void Busybox_reboot_command_reboots_cleanly()
    {
        using var guest = new QemuGuest().Start();
        guest.WaitForReady();
        guest.Fire("reboot");
        guest.WaitForSerial(new Regex("reboot now"), TimeSpan.FromSeconds(60), "reboot");
        guest.WaitForReady();
        guest.Fire("poweroff");
        Assert.True(guest.WaitForExit(TimeSpan.FromSeconds(90)), "QEMU did not exit after poweroff");
        Assert.Equal(0, HostTools.FsckState(guest.ImagePath, guest.WorkDir).ExitCode);
    }

    [Fact]
    public void Ctrl_alt_del_reboots_in_order_and_sigusr1_halts()
    {
        using var guest = new QemuGuest().Start();
        guest.WaitForReady();
        var reply = guest.Qmp("""{"execute":"send-key","arguments":{"keys":[{"type":"qcode","data":"ctrl"},{"type":"qcode","data":"alt"},{"type":"qcode","data":"delete"}]}}""");
        Assert.Contains("return", reply);
        guest.WaitForSerial(new Regex(@"Ctrl-Alt-Del \(SIGINT\): reboot"), TimeSpan.FromSeconds(60), "orderly Ctrl-Alt-Del reboot");
        guest.WaitForSerial(new Regex("reboot now"), TimeSpan.FromSeconds(60), "reboot");
        guest.WaitForReady();
        guest.Fire("kill -USR1 1");
        guest.WaitForSerial(new Regex("halt now"), TimeSpan.FromSeconds(60), "halt");
        Assert.DoesNotContain("Kernel panic", guest.SerialLog);
    }

    [Fact]
    public void Uefi_firmware_boots_the_same_image()
    {
        using var guest = new QemuGuest(new GuestOptions { Firmware = "uefi", KernelArguments = { "berth.on_ready=poweroff" } }).Start();
        var ready = guest.WaitForReady();
        Assert.True(ready.Services >= 1);
        Assert.True(guest.WaitForExit(TimeSpan.FromSeconds(60)), "berth.on_ready=poweroff did not power off");
        Assert.Equal(0, HostTools.FsckState(guest.ImagePath, guest.WorkDir).ExitCode);
    }
}
