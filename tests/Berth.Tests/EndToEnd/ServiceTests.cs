using System.Text.Json;
using Berth.Qemu;
using Xunit;

namespace Berth.Tests.EndToEnd;

/// <summary>System services run as containers that PID 1 launches in-process, supervises and reports through its API.</summary>
[Collection("qemu")]
[Trait("Category", "EndToEnd")]
public sealed class ServiceTests(SharedGuest shared)
{
    private QemuGuest Guest => shared.Guest;

    private JsonElement Service(string name)
    {
        var json = JsonDocument.Parse(Guest.Check("berth ps --json")).RootElement;
        Assert.True(json.GetProperty("ok").GetBoolean(), json.ToString());
        return json.GetProperty("services").EnumerateArray().Single(s => s.GetProperty("name").GetString() == name).Clone();
    }

    private JsonElement WaitFor(string name, Func<JsonElement, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var s = Service(name);
            if (condition(s)) return s;
            Assert.True(DateTime.UtcNow < deadline, $"{name} never reached the expected state: {s}");
            Guest.Check("sleep 0.2");
        }
    }

    [Fact]
    public void The_console_runs_as_a_container_in_its_own_mount_namespace()
    {
        _ = shared.Ready;
        var console = WaitFor("console", s => s.GetProperty("state").GetString() == "running");
        Assert.Equal("container", console.GetProperty("kind").GetString());
        int pid = console.GetProperty("pid").GetInt32();
        Assert.NotEqual(Guest.Check("readlink /proc/1/ns/mnt").Trim(), Guest.Check($"readlink /proc/{pid}/ns/mnt").Trim());
        // The host's pid namespace (RancherOS-style privileged console) and the getty on the console tty.
        Assert.Equal(Guest.Check("readlink /proc/1/ns/pid").Trim(), Guest.Check($"readlink /proc/{pid}/ns/pid").Trim());
        Assert.Contains("getty", Guest.Check($"tr '\\0' ' ' < /proc/{pid}/cmdline"));
        var list = JsonDocument.Parse(Guest.Check("berth-runtime list --format json")).RootElement;
        Assert.Contains(list.EnumerateArray(), c => c.GetProperty("id").GetString() == "console" && c.GetProperty("status").GetString() == "running");
    }

    [Fact]
    public void A_killed_service_is_restarted_and_ps_counts_it()
    {
        var before = WaitFor("console", s => s.GetProperty("state").GetString() == "running");
        int pid = before.GetProperty("pid").GetInt32();
        int restarts = before.GetProperty("restarts").GetInt32();
        Guest.Check($"kill -9 {pid}");
        var after = WaitFor("console", s => s.GetProperty("state").GetString() == "running" && s.GetProperty("pid").GetInt32() != pid);
        Assert.Equal(restarts + 1, after.GetProperty("restarts").GetInt32());
        Assert.Contains("killed by signal 9", Guest.Check("cat /var/log/berth/console.log"));
    }

    [Fact]
    public void Stop_and_start_through_the_api()
    {
        WaitFor("console", s => s.GetProperty("state").GetString() == "running");
        Assert.Contains("console stopped", Guest.Check("berth stop console"));
        var stopped = Service("console");
        Assert.Equal("stopped", stopped.GetProperty("state").GetString());
        Assert.Equal(0, stopped.GetProperty("pid").GetInt32());
        Assert.DoesNotContain("\"console\"", Guest.Check("berth-runtime list --format json"));
        Assert.Contains("console started", Guest.Check("berth start console"));
        WaitFor("console", s => s.GetProperty("state").GetString() == "running");

        var unknown = Guest.Run("berth restart nosuch");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("no service \"nosuch\"", unknown.Output);
    }

    [Fact]
    public void The_api_is_root_only()
    {
        var r = Guest.Run("su -s /bin/sh nobody -c 'berth ps'");
        Assert.True(r.ExitCode == 1, $"exit {r.ExitCode}: {r.Output}");
        Assert.Contains("permission denied", r.Output);
        var table = Guest.Check("berth ps");
        Assert.Matches(@"(?m)^SERVICE\s+KIND\s+STATE\s+PID\s+UPTIME\s+RESTARTS\s+HEALTH", table);
        Assert.Matches(@"(?m)^console\s+container\s+running\s+\d+", table);
    }

    [Fact]
    public void Top_reads_each_container_services_cgroup()
    {
        WaitFor("console", s => s.GetProperty("state").GetString() == "running");
        var usage = JsonDocument.Parse(Guest.Check("berth top --json")).RootElement.GetProperty("usage").EnumerateArray()
            .Single(u => u.GetProperty("name").GetString() == "console");
        Assert.StartsWith("cgroup /sys/fs/cgroup/berth/console", usage.GetProperty("source").GetString());
        Assert.True(usage.GetProperty("memoryBytes").GetInt64() > 0, usage.ToString());
        Assert.True(usage.GetProperty("processes").GetInt32() >= 1, usage.ToString());
        Assert.Matches(@"(?m)^console\s+\d+\.\d\s+\d+\.\dM?K?\s+\d+\s+cgroup ", Guest.Check("berth top"));
    }

    [Fact]
    public void The_boot_timeline_has_every_service_and_a_critical_chain()
    {
        _ = shared.Ready;
        var timeline = JsonDocument.Parse(Guest.Check("cat /run/berth/boot-timeline.json")).RootElement;
        var syslogd = timeline.GetProperty("service_starts").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "syslogd");
        double start = syslogd.GetProperty("start_ms").GetDouble(), ready = syslogd.GetProperty("ready_ms").GetDouble();
        Assert.True(start > 0 && ready >= start, syslogd.ToString());
        // The ready line waits for the services: it comes after syslogd was healthy.
        Assert.True(timeline.GetProperty("ready_uptime_ms").GetDouble() >= ready);
        var text = Guest.Check("berth boot timeline");
        Assert.Contains("services-settled", text);
        Assert.Matches(@"critical chain: ready @\d+\.\dms <- \w+ @", text);
    }

    [Fact]
    public void Every_system_service_runs_in_a_container_and_the_boot_waited_for_them()
    {
        _ = shared.Ready;
        foreach (var name in new[] { "syslogd", "netconf", "ntpd", "acpid", "console" })
        {
            var s = WaitFor(name, x => x.GetProperty("state").GetString() == "running");
            Assert.Equal("container", s.GetProperty("kind").GetString());
            int pid = s.GetProperty("pid").GetInt32();
            Assert.NotEqual(Guest.Check("readlink /proc/1/ns/mnt").Trim(), Guest.Check($"readlink /proc/{pid}/ns/mnt").Trim());
        }
        Assert.Equal("healthy", Service("syslogd").GetProperty("health").GetString());
        // syslogd has a pid namespace of its own; netconf only the capabilities it needs.
        int syslogd = Service("syslogd").GetProperty("pid").GetInt32();
        Assert.NotEqual(Guest.Check("readlink /proc/1/ns/pid").Trim(), Guest.Check($"readlink /proc/{syslogd}/ns/pid").Trim());
        int netconf = Service("netconf").GetProperty("pid").GetInt32();
        Assert.Equal("0000000000003400", Guest.Check($"grep CapEff /proc/{netconf}/status").Split('\t')[1].Trim()); // NET_BIND_SERVICE, NET_ADMIN, NET_RAW
        var ready = shared.Ready;
        Assert.True(ready.Services >= 4, ready.Line); // the four daemons (the console and the agent come after ready)
    }

    [Fact]
    public void Dhcp_gets_qemus_address()
    {
        _ = shared.Ready;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!Guest.Check("ip -4 addr show eth0").Contains("inet 10.0.2.15/24"))
        {
            Assert.True(DateTime.UtcNow < deadline, Guest.Check("ip addr; cat /var/log/berth/netconf.log"));
            Guest.Check("sleep 0.5");
        }
        Assert.Contains("10.0.2.15", Guest.Check("cat /run/berth/netconf.status"));
    }

    [Fact]
    public void A_message_sent_to_dev_log_from_a_container_lands_in_var_log_messages()
    {
        _ = shared.Ready;
        WaitFor("syslogd", s => s.GetProperty("health").GetString() == "healthy");
        string dir = "/tmp/logbundle";
        string marker = $"marker-{Guid.NewGuid():N}"[..20];
        Guest.Check($"rm -rf {dir}; mkdir -p {dir}/rootfs/bin && cp /bin/busybox {dir}/rootfs/bin/ && ln -s busybox {dir}/rootfs/bin/logger");
        var spec = Berth.Runtime.Oci.DefaultSpec.Create();
        spec = spec with
        {
            Process = spec.Process! with { Terminal = false, Args = ["/bin/logger", "-t", "from-container", marker] },
            // /dev/log bound in from the host, after the container's own /dev, as a service that logs gets it.
            Mounts = [.. spec.Mounts, new Berth.Runtime.Oci.MountSpec { Destination = "/dev/log", Type = "bind", Source = "/dev/log", Options = ["bind"] }],
        };
        Guest.Check($"cat > {dir}/config.json <<'CONFIG_END'\n{Berth.Runtime.Oci.SpecWriter.ToJson(spec)}\nCONFIG_END");
        var run = Guest.Run($"cd {dir} && berth-runtime run logtest");
        Assert.True(run.ExitCode == 0, run.Output + Guest.Check($"cat {dir}/config.json"));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!Guest.Check("cat /var/log/messages").Contains(marker))
        {
            Assert.True(DateTime.UtcNow < deadline, "the message never reached /var/log/messages");
            Guest.Check("sleep 0.2");
        }
        Assert.Matches($@"user\.notice from-container(\[\d+\])?: {marker}", Guest.Check($"grep {marker} /var/log/messages"));
    }
}
