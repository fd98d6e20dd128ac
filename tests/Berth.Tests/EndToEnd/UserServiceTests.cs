using System.Text.Json;
using Berth.Qemu;
using Xunit;
using Xunit.Abstractions;

namespace Berth.Tests.EndToEnd;

/// <summary>
/// cloud-config's services: a system service turned off, user services from the built-in busybox
/// image with their own namespaces, volumes, limits and dependencies, and one whose image does not
/// exist failing alone without holding up the boot.
/// </summary>
[Collection("qemu")]
[Trait("Category", "EndToEnd")]
public sealed class UserServiceTests(ITestOutputHelper output)
{
    private const string Seed = """
        #cloud-config
        write_files:
          - path: /var/lib/berth/www/index.html
            content: "served from a user service\n"
        berth:
          services:
            ntpd:
              enabled: false
            hello:
              image: busybox
              command: [sh, -c, "hostname > /data/greeting; echo hello is up; exec sleep 3600"]
              volumes: [hello-data:/data]
              restart: always
              mem_limit: 32m
              pids_limit: 20
            web:
              image: busybox:latest
              net: host
              command: [httpd, -f, -p, "127.0.0.1:8080", -h, /srv]
              volumes: ["/var/lib/berth/www:/srv:ro"]
              depends_on: {hello: {condition: service_started}}
            broken:
              image: nonesuch:1
              restart: "no"
            acpid:
              image: busybox
              command: [sleep, "3600"]
        """;

    private static JsonElement Service(QemuGuest guest, string name) =>
        Services(guest).Single(s => s.GetProperty("name").GetString() == name);

    private static List<JsonElement> Services(QemuGuest guest)
    {
        var json = JsonDocument.Parse(guest.Check("berth ps --json")).RootElement;
        return json.GetProperty("services").EnumerateArray().Select(s => s.Clone()).ToList();
    }

    private static JsonElement WaitFor(QemuGuest guest, string name, Func<JsonElement, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            var found = Services(guest).Where(s => s.GetProperty("name").GetString() == name).ToList();
            if (found.Count == 1 && condition(found[0])) return found[0];
            Assert.True(DateTime.UtcNow < deadline, $"{name} never reached the expected state: {string.Join(", ", found)}");
            Thread.Sleep(500);
        }
    }

    private static string State(JsonElement s) => s.GetProperty("state").GetString()!;

    [Fact]
    public void Config_turns_a_system_service_off_and_runs_user_services_from_an_image()
    {
        using var guest = new QemuGuest(new GuestOptions { CloudConfig = Seed }).Start();
        guest.WaitForReady();
        output.WriteLine(guest.Check("berth ps"));
        foreach (var line in guest.SerialLog.Split('\n').Where(l => l.Contains("cloud-config") || l.Contains("service ")))
            output.WriteLine(line.TrimEnd());

        // Turned off: not run at all, and the console says why.
        Assert.DoesNotContain(Services(guest), s => s.GetProperty("name").GetString() == "ntpd");
        Assert.Contains("service ntpd is turned off by cloud-config (/run/berth/seed/user-data:8:16)", guest.SerialLog);

        var hello = WaitFor(guest, "hello", s => State(s) == "running");
        Assert.Equal("container", hello.GetProperty("kind").GetString());
        int pid = hello.GetProperty("pid").GetInt32();
        // Its own pid, mount and uts namespaces; the named volume on STATE.
        foreach (var ns in new[] { "pid", "mnt", "uts" })
            Assert.NotEqual(guest.Check($"readlink /proc/1/ns/{ns}").Trim(), guest.Check($"readlink /proc/{pid}/ns/{ns}").Trim());
        Assert.Equal("hello\n", guest.Check("cat /var/lib/berth/volumes/hello-data/_data/greeting"));
        Assert.Contains("hello is up", guest.Check("cat /var/log/berth/hello.log"));
        // The image's root: busybox's sh, not the base's berth binary.
        Assert.False(guest.Run($"test -e /proc/{pid}/root/usr/bin/berth").ExitCode == 0, "the base's /usr is visible in the user service");
        // Limits in its cgroup.
        string cgroup = guest.Check($"cut -d: -f3 /proc/{pid}/cgroup").Trim();
        Assert.Equal("33554432", guest.Check($"cat /sys/fs/cgroup{cgroup}/memory.max").Trim());
        Assert.Equal("20", guest.Check($"cat /sys/fs/cgroup{cgroup}/pids.max").Trim());
        // Docker's defaults for an unprivileged container: no CAP_SYS_ADMIN (bit 21) in its bounding set.
        ulong bounding = Convert.ToUInt64(guest.Check($"grep CapBnd /proc/{pid}/status").Split('\t')[1].Trim(), 16);
        Assert.Equal(0UL, bounding & (1UL << 21));

        // net: host — httpd on the guest's loopback serves the read-only bind.
        WaitFor(guest, "web", s => State(s) == "running");
        string page = "";
        for (int i = 0; i < 40 && page.Length == 0; i++)
        {
            var r = guest.Run("wget -qO- http://127.0.0.1:8080/index.html");
            if (r.ExitCode == 0) page = r.Output;
            else Thread.Sleep(250);
        }
        Assert.Equal("served from a user service\n", page);

        // A system service's image replaced: busybox's root under acpid's own privileges, not the base's /usr.
        var acpid = WaitFor(guest, "acpid", s => State(s) == "running");
        int acpidPid = acpid.GetProperty("pid").GetInt32();
        Assert.Equal("sleep 3600", guest.Check($"tr '\\0' ' ' < /proc/{acpidPid}/cmdline").Trim());
        Assert.Equal(0, guest.Run($"test -f /proc/{acpidPid}/root/bin/busybox").ExitCode);
        Assert.NotEqual(0, guest.Run($"test -e /proc/{acpidPid}/root/usr/bin/berth").ExitCode);

        // A missing image fails that service alone, with the reason in ps and its log.
        var broken = WaitFor(guest, "broken", s => State(s) is "failed" or "exited" or "stopped");
        Assert.Contains("image \"nonesuch:1\" of service broken is not in /var/lib/berth/images", broken.GetProperty("lastExit").GetString());
        Assert.Contains("cannot start", guest.Check("cat /var/log/berth/broken.log"));

        // A killed user service comes back (restart: always) with its volume intact.
        guest.Check($"kill -9 {pid}");
        var again = WaitFor(guest, "hello", s => State(s) == "running" && s.GetProperty("pid").GetInt32() != pid);
        Assert.Equal(1, again.GetProperty("restarts").GetInt32());
        int helloPid = again.GetProperty("pid").GetInt32();

        // berth config apply: web's command changed and ntpd is back on; hello is not touched.
        int webPid = Service(guest, "web").GetProperty("pid").GetInt32();
        guest.Check("berth config set berth.services.web.command '[httpd, -f, -p, \"127.0.0.1:8081\", -h, /srv]'");
        guest.Check("berth config set berth.services.ntpd.enabled true");
        string applied = guest.Check("berth config apply");
        output.WriteLine(applied);
        Assert.Contains("added: ntpd\n", applied);
        Assert.Contains("restarted: web\n", applied);
        Assert.Matches(@"unchanged: .*\bhello\b", applied);
        Assert.Equal(helloPid, Service(guest, "hello").GetProperty("pid").GetInt32());
        WaitFor(guest, "ntpd", s => State(s) == "running");
        var web = WaitFor(guest, "web", s => State(s) == "running" && s.GetProperty("pid").GetInt32() != webPid);
        page = "";
        for (int i = 0; i < 40 && page.Length == 0; i++)
        {
            var r = guest.Run("wget -qO- http://127.0.0.1:8081/index.html");
            if (r.ExitCode == 0) page = r.Output;
            else Thread.Sleep(250);
        }
        Assert.Equal("served from a user service\n", page);
        Assert.NotEqual(0, guest.Run("wget -qO- -T 2 http://127.0.0.1:8080/index.html").ExitCode);
        // Applying again changes nothing.
        Assert.DoesNotContain("restarted", guest.Check("berth config apply"));
        Assert.Equal(web.GetProperty("pid").GetInt32(), Service(guest, "web").GetProperty("pid").GetInt32());
    }
}
