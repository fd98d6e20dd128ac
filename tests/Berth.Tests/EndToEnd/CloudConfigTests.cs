using System.Text.Json;
using System.Text.RegularExpressions;
using Berth.Qemu;
using Xunit;
using Xunit.Abstractions;

namespace Berth.Tests.EndToEnd;

/// <summary>A NoCloud seed configures the guest; a broken one never stops the boot; `berth config set` persists.</summary>
[Collection("qemu")]
[Trait("Category", "EndToEnd")]
public sealed class CloudConfigTests(ITestOutputHelper output)
{
    private const string Seed = """
        #cloud-config
        hostname: seeded-host
        write_files:
          - path: /etc/berth-test/hello
            content: aGVsbG8gZnJvbSBjbG91ZC1jb25maWcK
            encoding: b64
            permissions: "0600"
          - path: /usr/share/nope
            content: x
        ssh_authorized_keys:
          - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITestKey test@host
        users:
          - name: ann
            groups: [wheel]
            passwd: $6$salt$0123456789
        berth:
          sysctl:
            vm.swappiness: "13"
          netwrk: {}
        bootcmd:
          - echo bootcmd >> /run/bootcmd.txt
        runcmd:
          - [sh, -c, "echo runcmd >> /var/lib/berth/runcmd.txt"]
        mounts:
          - [tmpfs, /run/cc-mnt, tmpfs, "nosuid,size=1m"]
        """;

    private const string UserData = "/run/berth/seed/user-data";

    [Fact]
    public void A_seed_configures_the_guest_and_berth_config_set_survives_a_reboot()
    {
        using var guest = new QemuGuest(new GuestOptions { CloudConfig = Seed }).Start();
        guest.WaitForReady();
        Assert.Equal("seeded-host", guest.Check("hostname").Trim());
        Assert.Equal("hello from cloud-config\n", guest.Check("cat /etc/berth-test/hello"));
        Assert.Equal("600 0:0", guest.Check("stat -c '%a %u:%g' /etc/berth-test/hello").Trim());
        Assert.Equal("13", guest.Check("cat /proc/sys/vm/swappiness").Trim());
        Assert.Equal("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITestKey test@host\n", guest.Check("cat /root/.ssh/authorized_keys"));
        Assert.Contains("ann:x:1000:1000::/var/lib/berth/home/ann:/bin/sh", guest.Check("cat /etc/passwd"));
        Assert.Contains("ann:$6$salt$0123456789:", guest.Check("cat /etc/shadow"));
        Assert.Equal("bootcmd\n", guest.Check("cat /run/bootcmd.txt"));
        Assert.Matches(@"^tmpfs /run/cc-mnt tmpfs rw,nosuid,", guest.Check("grep ' /run/cc-mnt ' /proc/mounts"));
        Assert.Equal("runcmd\n", WaitForFile(guest, "/var/lib/berth/runcmd.txt"));
        // The problems are on the console with file:line:column, and the rest was applied.
        Assert.Contains($"berth: cloud-config: {UserData}:19:3: warning: unknown key \"berth.netwrk\" (did you mean \"berth.network\"?)", guest.SerialLog);
        Assert.Contains($"berth: cloud-config: {UserData}:8:5: error: write_files[1] (/usr/share/nope): /usr/share/nope is on the read-only root", guest.SerialLog);
        ReportTimeline(guest, "first boot");

        guest.Check("berth config set hostname set-host && berth config set berth.sysctl.vm.swappiness 21");
        Assert.Equal("set-host", guest.Check("berth config get hostname").Trim());
        guest.Fire("kill -TERM 1");
        guest.WaitForSerial(new Regex("SIGTERM: reboot"), TimeSpan.FromSeconds(60), "reboot notice");
        guest.WaitForReady();
        Assert.Equal("set-host", guest.Check("hostname").Trim());
        Assert.Equal("21", guest.Check("cat /proc/sys/vm/swappiness").Trim());
        Assert.Equal("bootcmd\n", guest.Check("cat /run/bootcmd.txt"));
        // Same instance-id: runcmd does not run again.
        Thread.Sleep(2000);
        Assert.Equal("runcmd\n", guest.Check("cat /var/lib/berth/runcmd.txt"));
        Assert.Equal("hostname: set-host    # /var/lib/berth/conf/cloud-config.yml:2:11",
            guest.Check("berth config export --sources | grep ^hostname").Trim());
        ReportTimeline(guest, "second boot");
    }

    [Fact]
    public void A_broken_seed_is_skipped_the_machine_reaches_ready_and_says_where()
    {
        using var guest = new QemuGuest(new GuestOptions
        {
            CloudConfig = "#cloud-config\nhostname: broken\nberth:\n\tsysctl: {}\n",
            KernelArguments = { "berth.sysctl.vm.swappiness=[" , "berth.hostnme.x=1" },
        }).Start();
        guest.WaitForReady();
        Assert.Contains($"berth: cloud-config: {UserData}:4:1: error: tab character in indentation (YAML allows only spaces)", guest.SerialLog);
        Assert.Contains($"berth: cloud-config: {UserData}: skipped (1 error); the other sources still apply", guest.SerialLog);
        Assert.Matches(@"berth: cloud-config: kernel command line:1:\d+: warning: berth.hostnme.x: unknown key ""berth.hostnme""", guest.SerialLog);
        Assert.Equal("berth", guest.Check("hostname").Trim());
        // A VALUE that is not YAML is taken as text.
        Assert.Contains("error: berth.sysctl.vm.swappiness: writing \"[\"", guest.SerialLog);
        var validate = guest.Run($"berth config validate {UserData}");
        Assert.Equal(1, validate.ExitCode);
        Assert.Contains($"{UserData}:4:1: error: tab character in indentation", validate.Output);
    }

    [Fact]
    public void Without_any_config_the_built_in_defaults_apply()
    {
        using var guest = new QemuGuest(new GuestOptions { Snapshot = true }).Start();
        guest.WaitForReady();
        // The cost of loading is reported here and measured by bench/boot, not asserted: a timed
        // test on a loaded 2-core TCG host only measures the host.
        ReportTimeline(guest, "no config");
        Assert.Equal("berth", guest.Check("hostname").Trim());
        Assert.Equal("true", guest.Check("berth config get berth.network.interfaces.eth0.dhcp").Trim());
    }

    private static string WaitForFile(QemuGuest guest, string path)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var r = guest.Run($"cat {path}");
            if (r.ExitCode == 0 && r.Output.Length > 0) return r.Output;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{path} did not appear");
            Thread.Sleep(500);
        }
    }

    /// <summary>The cloud-config steps of the stage-2 timeline (ms), also written to the test output.</summary>
    private Dictionary<string, double> ReportTimeline(QemuGuest guest, string what)
    {
        using var doc = JsonDocument.Parse(guest.Check("cat /run/berth/boot-timeline.json"));
        var steps = doc.RootElement.GetProperty("steps").EnumerateArray()
            .Where(s => s.GetProperty("name").GetString()!.StartsWith("cloud-config", StringComparison.Ordinal) || s.GetProperty("name").GetString() == "bootcmd")
            .ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("duration_ms").GetDouble());
        output.WriteLine($"{what}: ready {doc.RootElement.GetProperty("ready_uptime_ms").GetDouble():F0}ms; "
            + string.Join(", ", steps.Select(s => $"{s.Key}={s.Value:F1}ms")));
        output.WriteLine("  stage 2: " + string.Join(", ", doc.RootElement.GetProperty("steps").EnumerateArray()
            .Where(s => s.GetProperty("stage").GetInt32() == 2)
            .Select(s => $"{s.GetProperty("name").GetString()}={s.GetProperty("duration_ms").GetDouble():F1}")));
        output.WriteLine("  PID 1 " + guest.Check("grep VmRSS /proc/1/status").Trim());
        Assert.Contains("cloud-config", steps.Keys);
        return steps;
    }
}
