using System.Text.Json;
using System.Text.RegularExpressions;
using Berth.Qemu;
using Xunit;

namespace Berth.Tests.EndToEnd;

/// <summary>The image boots to the ready line and PID 1 set up the machine as promised.</summary>
[Collection("qemu")]
[Trait("Category", "EndToEnd")]
public sealed class BootTests(SharedGuest shared)
{
    private QemuGuest Guest => shared.Guest;

    [Fact]
    public void Ready_line_appears_exactly_once_with_uptime_and_services()
    {
        var ready = shared.Ready;
        Assert.InRange(ready.UptimeSeconds, 0.5, 120);
        Assert.True(ready.Services >= 1, ready.Line);
        var lines = Guest.SerialLog.Split('\n').Count(l => l.TrimEnd('\r').StartsWith("berth ready ", StringComparison.Ordinal));
        Assert.Equal(1, lines);
        // The same line is in the kernel log.
        Assert.Contains(ready.Line, Guest.Check("dmesg"));
    }

    [Fact]
    public void Pid1_is_the_berth_binary()
    {
        Assert.Equal("/usr/bin/berth", Guest.Check("readlink /proc/1/exe").Trim());
        Assert.Equal("/sbin/init", Guest.Check("tr '\\0' ' ' < /proc/1/cmdline").Trim());
    }

    [Fact]
    public void Pseudo_filesystems_are_mounted()
    {
        var mounts = Guest.Check("cat /proc/mounts");
        foreach (var (fs, point) in new[] { ("proc", "/proc"), ("sysfs", "/sys"), ("devtmpfs", "/dev"),
                     ("devpts", "/dev/pts"), ("cgroup2", "/sys/fs/cgroup"), ("tmpfs", "/run"), ("tmpfs", "/tmp"),
                     ("mqueue", "/dev/mqueue"), ("tmpfs", "/dev/shm"), ("overlay", "/etc") })
            Assert.Matches(new Regex($@"^\S+ {Regex.Escape(point)} {fs} ", RegexOptions.Multiline), mounts);
    }

    [Fact]
    public void Stage1_maps_one_page_per_file_fault_and_leaves_debugfs_unmounted()
    {
        Assert.DoesNotContain(" debugfs ", Guest.Check("cat /proc/mounts"));
        var value = Guest.Check("d=$(mktemp -d) && mount -t debugfs none $d && cat $d/fault_around_bytes; umount $d; rmdir $d").Trim();
        Assert.Equal("4096", value);
    }

    [Fact]
    public void Pid1_gives_back_boot_only_pages_once_ready()
    {
        // Written a little after ready, once coldplug is done: wait for it rather than race it.
        string line = "";
        for (int i = 0; i < 60 && line.Length == 0; i++)
        {
            line = Guest.Run("grep -m1 'boot code paged out' /var/log/messages").Output.Trim();
            if (line.Length == 0) Thread.Sleep(1000);
        }
        var m = Regex.Match(line, @"PID 1 RSS (\d+) -> (\d+) KiB");
        Assert.True(m.Success, $"no page-out line in /var/log/messages: '{line}'");
        Assert.DoesNotContain("refused", line);
        Assert.True(long.Parse(m.Groups[2].Value) < long.Parse(m.Groups[1].Value), line);
    }

    [Fact]
    public void Cgroup_controllers_are_enabled_for_children()
    {
        var enabled = Guest.Check("cat /sys/fs/cgroup/cgroup.subtree_control").Split(' ', StringSplitOptions.TrimEntries);
        foreach (var c in new[] { "cpu", "memory", "pids", "io" }) Assert.Contains(c, enabled);
    }

    [Fact]
    public void Root_is_a_read_only_squashfs_of_the_booted_slot()
    {
        var root = Guest.Check("grep ' / ' /proc/mounts").Trim();
        Assert.Matches(@"^/dev/vda3 / squashfs ro[, ]", root);
        var write = Guest.Run("touch /usr/bin/x");
        Assert.NotEqual(0, write.ExitCode);
        Assert.Contains("Read-only file system", write.Output);
        Assert.Equal("A", Guest.Check("cat /run/berth/slot").Trim());
        Assert.Contains("berth.slot=A", Guest.Check("cat /proc/cmdline"));
    }

    [Fact]
    public void Etc_is_writable_but_the_image_is_not()
    {
        Guest.Check("echo probe > /etc/berth-probe && cat /etc/berth-probe");
        Assert.Contains("/run/berth/etc/upper", Guest.Check("grep ' /etc ' /proc/mounts"));
    }

    [Fact]
    public void State_is_ext4_read_write_at_var_lib_berth()
    {
        var line = Guest.Check("grep ' /var/lib/berth ' /proc/mounts").Trim();
        Assert.Matches(@"^/dev/vda5 /var/lib/berth ext4 rw,", line);
        Assert.Equal("formatted", Guest.Check("cat /run/berth/state-outcome").Trim());
        Assert.Matches(@"Filesystem volume name:\s+berth-state", Guest.Check("tune2fs -l /dev/vda5"));
        Guest.Check("echo x > /var/lib/berth/probe && rm /var/lib/berth/probe");
    }

    [Fact]
    public void Hostname_and_loopback_are_set()
    {
        Assert.Equal("berth", Guest.Check("hostname").Trim());
        Assert.Contains("UP", Guest.Check("ip link show lo"));
        Guest.Check("ping -c 1 -W 2 127.0.0.1");
    }

    [Fact]
    public void Orphaned_zombies_are_reaped()
    {
        // Each subshell exits at once, so its sleep is re-parented to PID 1 and dies there.
        Guest.Check("for i in 1 2 3 4 5 6 7 8; do ( sleep 0.2 & ) ; done; sleep 1");
        var zombies = Guest.Check("cat /proc/[0-9]*/stat 2>/dev/null | awk '$3 == \"Z\"' | wc -l").Trim();
        Assert.Equal("0", zombies);
    }

    [Fact]
    public void Unknown_kernel_argument_is_a_warning_not_a_failure()
    {
        Assert.Contains("unknown kernel argument 'berth.bogus' ignored", Guest.SerialLog);
        Assert.True(shared.Ready.Services >= 1);
    }

    [Fact]
    public void Boot_timeline_covers_both_stages()
    {
        using var doc = JsonDocument.Parse(Guest.Check("cat /run/berth/boot-timeline.json"));
        var steps = doc.RootElement.GetProperty("steps").EnumerateArray()
            .Select(s => (Stage: s.GetProperty("stage").GetInt32(), Name: s.GetProperty("name").GetString()!,
                Start: s.GetProperty("start_ms").GetDouble(), Duration: s.GetProperty("duration_ms").GetDouble()))
            .ToList();
        foreach (var name in new[] { "kernel", "load-virtio-drivers", "load-squashfs", "mount-root", "mount-state", "switch-root" })
            Assert.Contains(steps, s => s.Stage == 1 && s.Name == name);
        foreach (var name in new[] { "mount-pseudo", "cgroups", "start-services", "ready" })
            Assert.Contains(steps, s => s.Stage == 2 && s.Name == name);
        Assert.All(steps, s => Assert.True(s.Duration >= 0 && s.Start >= 0, s.Name));
        double ready = doc.RootElement.GetProperty("ready_uptime_ms").GetDouble();
        Assert.Equal(shared.Ready.UptimeSeconds * 1000, ready, 0.6);
        Assert.True(steps.Zip(steps.Skip(1)).All(p => p.First.Start <= p.Second.Start), "steps are in start order");
    }

    [Fact]
    public void A_login_console_runs_on_the_serial_line()
    {
        var ps = Guest.Check("ps -o pid,args");
        // getty asks for the name, berth-login (crypt(3) against /etc/shadow) for the password.
        Assert.Matches(@"getty -L -l /usr/bin/berth-login 115200 ttyS0", ps);
        Assert.Contains("login:", Guest.SerialLog);
    }
}
