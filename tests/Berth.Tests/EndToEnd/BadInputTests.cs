using System.Text.RegularExpressions;
using Berth.Qemu;
using Xunit;

namespace Berth.Tests.EndToEnd;

/// <summary>Broken disks and bad arguments give clear errors; PID 1 never dies.</summary>
[Collection("qemu")]
[Trait("Category", "EndToEnd")]
public sealed class BadInputTests
{
    [Fact]
    public void Missing_state_partition_boots_on_tmpfs_with_a_loud_warning()
    {
        using var guest = new QemuGuest(new GuestOptions
        {
            PrepareImage = img => HostTools.Checked("sfdisk", "--quiet", "--delete", img, "5"),
        }).Start();
        guest.WaitForReady();
        Assert.Contains("no partition labelled 'berth-state'", guest.SerialLog);
        Assert.Contains("NOTHING WILL SURVIVE A REBOOT", guest.SerialLog);
        Assert.Matches(@"^state /var/lib/berth tmpfs ", guest.Check("grep ' /var/lib/berth ' /proc/mounts"));
        Assert.Equal("missing", guest.Check("cat /run/berth/state-outcome").Trim());
    }

    [Fact]
    public void Corrupt_state_partition_is_left_untouched_and_boot_goes_on()
    {
        var garbage = new byte[1 << 20];
        new Random(42).NextBytes(garbage);
        using var guest = new QemuGuest(new GuestOptions
        {
            PrepareImage = img => HostTools.WriteAt(img, "berth-state", garbage),
        }).Start();
        guest.WaitForReady();
        Assert.Contains("holds something that is not ext4; it is left untouched", guest.SerialLog);
        Assert.Equal("corrupt", guest.Check("cat /run/berth/state-outcome").Trim());
        guest.Fire("poweroff");
        Assert.True(guest.WaitForExit(TimeSpan.FromSeconds(90)));
        // Not one byte of the user's partition was changed.
        var p = HostTools.Find(guest.ImagePath, "berth-state");
        using var fs = new FileStream(guest.ImagePath, FileMode.Open, FileAccess.Read);
        fs.Seek(p.StartSector * 512, SeekOrigin.Begin);
        var back = new byte[garbage.Length];
        fs.ReadExactly(back);
        Assert.Equal(garbage, back);
    }

    [Fact]
    public void Missing_root_partition_names_it_and_drops_to_the_emergency_shell()
    {
        using var guest = new QemuGuest(new GuestOptions
        {
            // GRUB still loads slot A by partition number; stage 1 looks for the label and must not find it.
            PrepareImage = img => HostTools.Checked("sfdisk", "--quiet", "--part-label", img, "3", "renamed"),
            KernelArguments = { "berth.device_timeout=2" },
        }).Start();
        guest.WaitForSerial(new Regex("no partition labelled 'berth-a' appeared within 2s"), TimeSpan.FromSeconds(180), "missing partition error");
        guest.WaitForSerial(new Regex("dropping to the emergency shell"), TimeSpan.FromSeconds(30), "emergency shell notice");
        // The shell is interactive on the console: its prompt shows up, and PID 1 did not take the kernel down.
        guest.WaitForSerial(new Regex(@"[#$] ", RegexOptions.Multiline), TimeSpan.FromSeconds(30), "emergency shell prompt");
        Assert.DoesNotContain("Kernel panic", guest.SerialLog);
        Assert.False(guest.HasExited);
    }
}
