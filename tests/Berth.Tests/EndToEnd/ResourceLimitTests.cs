using System.Globalization;
using System.Text.RegularExpressions;
using Berth.Qemu;
using Xunit;
using Xunit.Abstractions;

namespace Berth.Tests.EndToEnd;

/// <summary>
/// berth-runtime's cgroup limits inside the guest, where /sys/fs/cgroup is pure cgroup2 and PID 1
/// enabled every controller: memory, pids and cpu limits are enforced, and nothing is left behind.
/// </summary>
[Collection("qemu")]
[Trait("Category", "EndToEnd")]
public sealed class ResourceLimitTests(SharedGuest shared, ITestOutputHelper output)
{
    private QemuGuest Guest => shared.Guest;

    /// <summary>
    /// A busybox bundle at /tmp/rl/NAME running /script.sh (written as given) with
    /// <paramref name="resources"/> as linux.resources; returns the bundle directory.
    /// </summary>
    private string Bundle(string name, string script, string resources)
    {
        string dir = $"/tmp/rl/{name}";
        Guest.Check($"rm -rf {dir} && mkdir -p {dir}/rootfs/bin {dir}/rootfs/proc {dir}/rootfs/sys {dir}/rootfs/dev {dir}/rootfs/tmp && " +
                    $"cp /bin/busybox {dir}/rootfs/bin/ && for a in sh cat head tail sleep echo mknod; do ln -s busybox {dir}/rootfs/bin/$a; done");
        Guest.Check($"cat > {dir}/rootfs/script.sh <<'SCRIPT_END'\n{script}\nSCRIPT_END");
        string config = $$"""
            {
              "ociVersion": "1.2.0",
              "process": {
                "terminal": false, "user": { "uid": 0, "gid": 0 }, "args": ["/bin/sh", "/script.sh"],
                "env": ["PATH=/bin"], "cwd": "/"
              },
              "root": { "path": "rootfs" },
              "hostname": "{{name}}",
              "mounts": [
                { "destination": "/proc", "type": "proc", "source": "proc" },
                { "destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] },
                { "destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"] },
                { "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "ro"] }
              ],
              "linux": {
                "resources": {{resources}},
                "namespaces": [ { "type": "pid" }, { "type": "mount" }, { "type": "ipc" }, { "type": "uts" }, { "type": "cgroup" } ]
              }
            }
            """;
        Guest.Check($"cat > {dir}/config.json <<'CONFIG_END'\n{config}\nCONFIG_END");
        return dir;
    }

    private void AssertNoCgroupLeft(string id)
    {
        Assert.Equal("gone", Guest.Check($"[ -e /sys/fs/cgroup/berth/{id} ] && echo left || echo gone").Trim());
        // /berth itself stays while the system services' containers live in it.
    }

    [Fact]
    public void A_process_over_its_memory_limit_is_oom_killed_and_reported()
    {
        // memory+swap = memory: no swap either (memory.swap.max 0), so the limit cannot be dodged by swapping.
        string dir = Bundle("oom", "head -c 67108864 /dev/zero | tail > /dev/null", """{ "memory": { "limit": 16777216, "swap": 16777216 } }""");
        var run = Guest.Run($"cd {dir} && berth-runtime run oom", TimeSpan.FromSeconds(120));
        Assert.True(run.ExitCode == 137, $"exit {run.ExitCode}: {run.Output}");
        Assert.Matches(new Regex(@"berth-runtime: container ""oom"" was OOM-killed \(memory\.max 16777216 bytes, oom_kill [1-9]\d*\)"), run.Output);
        AssertNoCgroupLeft("oom");

        // Detached, `state` tells once the container has stopped; delete takes the cgroup away.
        var detached = Guest.Run($"cd {dir} && berth-runtime run -d oomd", TimeSpan.FromSeconds(60));
        Assert.True(detached.ExitCode == 0, detached.Output);
        string state = "";
        for (int i = 0; i < 120 && !state.Contains("\"stopped\""); i++)
        {
            Thread.Sleep(500);
            state = Guest.Check("berth-runtime state oomd");
        }
        Assert.Contains("\"stopped\"", state);
        Assert.Matches(new Regex(@"""oomKilled"": \{\s*""oomKill"": [1-9]\d*,\s*""memoryMax"": 16777216\s*\}"), state);
        Guest.Check("berth-runtime delete oomd");
        AssertNoCgroupLeft("oomd");
    }

    [Fact]
    public void A_fork_loop_hits_the_pids_limit_and_the_container_still_exits()
    {
        string dir = Bundle("pids", "cat /sys/fs/cgroup/pids.max\ni=0\nwhile [ $i -lt 40 ]; do sleep 2 & i=$((i+1)); done\necho forked-all",
            """{ "pids": { "limit": 10 } }""");
        var run = Guest.Run($"cd {dir} && berth-runtime run pids", TimeSpan.FromSeconds(120));
        Assert.Matches(new Regex(@"^10\r?$", RegexOptions.Multiline), run.Output); // pids.max as the container sees it
        Assert.True(run.Output.Contains("can't fork"), run.Output);
        Assert.DoesNotContain("forked-all", run.Output);
        Assert.NotEqual(0, run.ExitCode);
        AssertNoCgroupLeft("pids");
    }

    [Fact]
    public void A_cpu_quota_of_20_percent_holds_a_busy_loop_down()
    {
        // Only shell builtins in the loop (read from /proc/uptime), so the shell itself is what burns CPU.
        const string script = """
            read u0 rest < /proc/uptime
            cat /sys/fs/cgroup/cpu.stat | head -1
            cat /sys/fs/cgroup/cpu.max
            start=${u0%.*}${u0#*.}
            now=$start
            while [ $now -lt $((start + 200)) ]; do read u rest < /proc/uptime; now=${u%.*}${u#*.}; done
            read u1 rest < /proc/uptime
            cat /sys/fs/cgroup/cpu.stat | head -1
            echo uptime $u0 $u1
            """;
        string dir = Bundle("cpu", script, """{ "cpu": { "quota": 20000, "period": 100000 } }""");
        var run = Guest.Run($"cd {dir} && berth-runtime run cpu", TimeSpan.FromSeconds(120));
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.Output}");
        Assert.Contains("20000 100000", run.Output);
        var usage = Regex.Matches(run.Output, @"usage_usec (\d+)").Select(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
        var up = Regex.Match(run.Output, @"uptime ([\d.]+) ([\d.]+)");
        Assert.True(usage.Count == 2 && up.Success, run.Output);
        double wall = double.Parse(up.Groups[2].Value, CultureInfo.InvariantCulture) - double.Parse(up.Groups[1].Value, CultureInfo.InvariantCulture);
        double share = (usage[1] - usage[0]) / 1e6 / wall;
        output.WriteLine($"cpu.max 20000 100000: {share:P1} of a CPU over {wall:0.00} s");
        Assert.True(wall >= 1.9, $"the loop ran {wall:0.00} s: {run.Output}");
        Assert.True(share is > 0.05 and <= 0.30, $"the container used {share:P0} of a CPU over {wall:0.00} s: {run.Output}");
        AssertNoCgroupLeft("cpu");
    }

    [Fact]
    public void Device_rules_are_enforced_by_the_ebpf_filter()
    {
        const string script = """
            mknod /dev/n2 c 1 3 && echo x > /dev/n2 && echo null-ok
            mknod /dev/k c 1 11 && echo mknod-ok
            echo berth-device-filter-test > /dev/k && echo kmsg-ok
            true
            """;
        string dir = Bundle("devices", script, """{ "devices": [ { "allow": false, "access": "rwm" } ] }""");
        var run = Guest.Run($"cd {dir} && berth-runtime run devices", TimeSpan.FromSeconds(60));
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("null-ok", run.Output);
        Assert.Contains("mknod-ok", run.Output);
        Assert.Contains("/dev/k: Operation not permitted", run.Output);
        Assert.DoesNotContain("kmsg-ok", run.Output);
        Assert.DoesNotContain("NOT enforced", run.Output);
        AssertNoCgroupLeft("devices");
    }
}
