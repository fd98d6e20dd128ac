using System.Diagnostics;
using System.Text.Json;
using Berth.Runtime.Containers;
using Berth.Runtime.Oci;
using Xunit;

namespace Berth.Tests.Host.Runtime;

/// <summary>
/// berth-runtime's cgroups on this host, which may be hybrid (v1 controllers, cgroup2 at
/// /sys/fs/cgroup/unified offering few or no controllers): containers run in a cgroup of their
/// own anyway, say which limits are not applied, and leave no cgroup behind.
/// </summary>
public sealed class RuntimeCgroupTests
{
    private static CgroupHierarchy Hierarchy => CgroupHierarchy.Find() ?? throw new InvalidOperationException("no cgroup2 mount on this host");

    private static bool Offers(string controller) => CgroupHierarchy.Controllers(Hierarchy.Mount).Contains(controller);

    private static string UniqueParent() => "/berth-test-" + Guid.NewGuid().ToString("N")[..8];

    private static JsonElement State(BusyboxBundle b, string id) => JsonDocument.Parse(b.Runtime("state", id).Stdout).RootElement.Clone();

    [Fact]
    public void Memory_and_pids_limits_are_applied_or_named_as_not_applied()
    {
        using var b = new BusyboxBundle();
        string parent = UniqueParent();
        var r = b.Sh("echo ran; grep '^0::' /proc/self/cgroup", s => s with
        {
            Linux = s.Linux! with
            {
                CgroupsPath = parent + "/limited",
                Resources = new ResourcesSpec { Memory = new MemorySpec { Limit = 64 << 20 }, Pids = new PidsSpec(50) },
            },
        });
        Assert.True(r.Exit == 0, r.ToString());
        Assert.Contains("ran", r.Stdout);
        foreach (var (controller, jsonPath, file) in new[] { ("memory", "$.linux.resources.memory.limit", "memory.max \"67108864\""), ("pids", "$.linux.resources.pids.limit", "pids.max \"50\"") })
        {
            string line = $"config.json: {jsonPath}: NOT applied ({file}): this host's cgroup2 hierarchy at {Hierarchy.Mount} has no {controller} controller";
            if (Offers(controller)) Assert.DoesNotContain(line, r.Stderr);
            else Assert.Contains(line, r.Stderr);
        }
        Assert.False(Directory.Exists(Hierarchy.DirectoryOf(parent)), $"{parent} left behind");
    }

    [Fact]
    public void The_container_is_born_in_its_cgroup_and_kill_all_reaches_every_process_in_it()
    {
        using var b = new BusyboxBundle();
        string parent = UniqueParent();
        var spec = b.Config("/bin/sh", "-c", "sleep 100 & sleep 100 & echo ready > /out/ready; wait");
        b.Write(spec with { Linux = spec.Linux! with { CgroupsPath = parent + "/a/b" } });
        Assert.Equal(0, b.Runtime("run", "-d", "k1").Exit);
        Assert.True(HostRun.Until(() => File.Exists(Path.Combine(b.Out, "ready")), TimeSpan.FromSeconds(5)));
        string dir = Hierarchy.DirectoryOf(parent + "/a/b");
        int pid = State(b, "k1").GetProperty("pid").GetInt32();
        Assert.Contains($"0::{parent}/a/b", File.ReadAllText($"/proc/{pid}/cgroup"));
        var pids = CgroupHierarchy.Processes(dir);
        Assert.Equal(3, pids.Count);
        Assert.Contains(pid, pids);

        Assert.Equal(0, b.Runtime("kill", "--all", "k1", "KILL").Exit);
        Assert.True(HostRun.Until(() => pids.All(p => !Directory.Exists($"/proc/{p}") || File.ReadAllText($"/proc/{p}/stat").Contains(") Z ")),
            TimeSpan.FromSeconds(5)), "a process of the container survived kill --all");
        Assert.True(HostRun.Until(() => State(b, "k1").GetProperty("status").GetString() == "stopped", TimeSpan.FromSeconds(5)));
        Assert.Equal(0, b.Runtime("delete", "k1").Exit);
        Assert.False(Directory.Exists(Hierarchy.DirectoryOf(parent)), $"{parent} left behind");
    }

    [Fact]
    public void Delete_force_kills_what_is_left_and_removes_the_default_cgroup()
    {
        using var b = new BusyboxBundle();
        string id = "d" + Guid.NewGuid().ToString("N")[..8];
        b.Write(b.Config("/bin/sh", "-c", "sleep 100 & exec sleep 100"));
        Assert.Equal(0, b.Runtime("run", "-d", id).Exit);
        string dir = Hierarchy.DirectoryOf(CgroupPath.DefaultParent + "/" + id);
        Assert.True(HostRun.Until(() => CgroupHierarchy.Processes(dir).Count == 2, TimeSpan.FromSeconds(5)));
        Assert.Equal(dir, JsonDocument.Parse(File.ReadAllText(Path.Combine(b.StateRoot, id, "state.json"))).RootElement.GetProperty("cgroup").GetString());
        var delete = b.Runtime("delete", "--force", id);
        Assert.True(delete.Exit == 0, delete.ToString());
        Assert.False(Directory.Exists(dir), $"{dir} left behind");
    }

    [Fact]
    public void A_cgroup_that_already_holds_processes_is_refused()
    {
        using var b = new BusyboxBundle();
        string parent = UniqueParent();
        string dir = Hierarchy.DirectoryOf(parent);
        Directory.CreateDirectory(dir);
        using var sleeper = Process.Start("/bin/sleep", "60");
        try
        {
            File.WriteAllText(Path.Combine(dir, "cgroup.procs"), sleeper.Id.ToString());
            var r = b.Sh("echo should-not-run", s => s with { Linux = s.Linux! with { CgroupsPath = parent } });
            Assert.Equal(1, r.Exit);
            Assert.DoesNotContain("should-not-run", r.Stdout);
            Assert.Contains($"config.json: $.linux.cgroupsPath: cgroup {parent} ({dir}) already holds 1 process(es) ({sleeper.Id})", r.Stderr);
            Assert.Contains(sleeper.Id, CgroupHierarchy.Processes(dir)); // the other cgroup was left alone
        }
        finally
        {
            sleeper.Kill();
            sleeper.WaitForExit();
            Assert.True(HostRun.Until(() => CgroupHierarchy.Populated(dir) == false, TimeSpan.FromSeconds(5)));
            Directory.Delete(dir);
        }
    }

    [Fact]
    public void Unified_entries_need_their_controller()
    {
        using var b = new BusyboxBundle();
        string parent = UniqueParent();
        string controller = new[] { "memory", "pids", "io" }.FirstOrDefault(c => !Offers(c)) ?? "nosuchcontroller";
        var r = b.Sh("echo should-not-run", s => s with
        {
            Linux = s.Linux! with { CgroupsPath = parent + "/u", Resources = new ResourcesSpec { Unified = new Dictionary<string, string> { [controller + ".max"] = "1" } } },
        });
        Assert.Equal(1, r.Exit);
        Assert.DoesNotContain("should-not-run", r.Stdout);
        Assert.Contains($"config.json: $.linux.resources.unified[\"{controller}.max\"]: cannot write {controller}.max: ", r.Stderr);
        Assert.False(Directory.Exists(Hierarchy.DirectoryOf(parent)), $"{parent} left behind after a failed create");
    }

    [Fact]
    public void Systemd_cgroup_paths_are_refused_clearly()
    {
        using var b = new BusyboxBundle();
        var r = b.Sh("true", s => s with { Linux = s.Linux! with { CgroupsPath = "system.slice:berth:c" } });
        Assert.Equal(1, r.Exit);
        Assert.Contains("config.json: $.linux.cgroupsPath: \"system.slice:berth:c\" is systemd's slice:prefix:name form, and Berth has no systemd", r.Stderr);
        Assert.Empty(b.ContainerIds());
    }

    [Fact]
    public void Device_rules_are_enforced_by_an_ebpf_filter_on_the_cgroup()
    {
        using var b = new BusyboxBundle();
        const string script = "busybox mknod /dev/n2 c 1 3 && echo x > /dev/n2 && echo null-ok; " +
                              "busybox mknod /dev/k c 1 11 && echo mknod-ok; echo berth-device-filter-test > /dev/k && echo kmsg-ok";
        RuntimeSpec WithMknod(RuntimeSpec s, IReadOnlyList<DeviceCgroupRule> rules)
        {
            var caps = s.Process!.Capabilities!;
            IReadOnlyList<string> Add(IReadOnlyList<string>? set) => [.. set ?? [], "CAP_MKNOD"];
            return s with
            {
                Process = s.Process with { Capabilities = caps with { Bounding = Add(caps.Bounding), Effective = Add(caps.Effective), Permitted = Add(caps.Permitted) } },
                Linux = s.Linux! with { Resources = new ResourcesSpec { Devices = rules } },
            };
        }

        var denied = b.Sh(script, s => WithMknod(s, [new DeviceCgroupRule { Allow = false, Access = "rwm" }]));
        Assert.True(denied.Exit == 1, denied.ToString()); // the failed redirection is the last command
        Assert.Contains("null-ok", denied.Stdout);   // a default device, under another name
        Assert.Contains("mknod-ok", denied.Stdout);  // mknod is allowed, as in runc; opening is not
        Assert.DoesNotContain("kmsg-ok", denied.Stdout);
        Assert.Contains("/dev/k: Operation not permitted", denied.Stderr);
        Assert.DoesNotContain("NOT enforced", denied.Stderr);

        // The same container without rules may open it: the filter, not something else, said no.
        var allowed = b.Sh(script, s => WithMknod(s, []));
        Assert.Contains("kmsg-ok", allowed.Stdout);
    }

    [Fact]
    public void An_offered_controller_is_enabled_down_to_the_container_and_its_limit_written()
    {
        // Whatever this host offers on cgroup2: hugetlb alone on the hybrid build machine, everything on a pure v2 host.
        (string File, string Value, ResourcesSpec Resources)? pick =
            Offers("pids") ? ("pids.max", "7", new ResourcesSpec { Pids = new PidsSpec(7) })
            : Offers("hugetlb") && Directory.Exists("/sys/kernel/mm/hugepages/hugepages-2048kB")
                ? ("hugetlb.2MB.max", "4194304", new ResourcesSpec { HugepageLimits = [new HugepageLimit("2MB", 4194304)] })
                : null;
        Assert.True(pick is not null, $"{Hierarchy.Mount} offers none of pids, hugetlb");
        var (file, value, resources) = pick!.Value;
        using var b = new BusyboxBundle();
        string parent = UniqueParent();
        var spec = b.Config("/bin/sleep", "100");
        b.Write(spec with { Linux = spec.Linux! with { CgroupsPath = parent + "/x", Resources = resources } });
        var run = b.Runtime("run", "-d", "h1");
        Assert.True(run.Exit == 0, run.ToString());
        Assert.DoesNotContain("NOT applied", run.Stderr);
        string controller = file[..file.IndexOf('.')];
        Assert.Contains(controller, CgroupHierarchy.ReadList(Hierarchy.DirectoryOf(parent), "cgroup.subtree_control"));
        Assert.Equal(value, File.ReadAllText(Path.Combine(Hierarchy.DirectoryOf(parent + "/x"), file)).Trim());
        Assert.Equal(0, b.Runtime("delete", "--force", "h1").Exit);
        Assert.False(Directory.Exists(Hierarchy.DirectoryOf(parent)), $"{parent} left behind");

        // A file the kernel does not have is an error naming the JSON path and the file.
        b.Write(spec with { Linux = spec.Linux! with { CgroupsPath = parent + "/y", Resources = new ResourcesSpec { HugepageLimits = [new HugepageLimit("3MB", 1)] } } });
        var bad = b.Runtime("run", "h2");
        if (Offers("hugetlb"))
        {
            Assert.Equal(1, bad.Exit);
            Assert.Contains($"config.json: $.linux.resources.hugepageLimits[0].limit: writing \"1\" to {Hierarchy.DirectoryOf(parent + "/y")}/hugetlb.3MB.max: ENOENT", bad.Stderr);
        }
        Assert.False(Directory.Exists(Hierarchy.DirectoryOf(parent)), $"{parent} left behind after a failed create");
    }

    [Fact]
    public void A_container_joining_another_ones_pid_namespace_shares_its_cgroup_and_leaves_it_alone()
    {
        using var b = new BusyboxBundle();
        string parent = UniqueParent();
        string cgroup = parent + "/pod";
        var first = b.Config("/bin/sleep", "100");
        b.Write(first with { Linux = first.Linux! with { CgroupsPath = cgroup } });
        Assert.Equal(0, b.Runtime("run", "-d", "j1").Exit);
        int pid = State(b, "j1").GetProperty("pid").GetInt32();

        var second = b.Config("/bin/sh", "-c", "grep '^0::' /proc/self/cgroup > /out/cgroup");
        // No cgroup namespace for it, so that /proc/self/cgroup shows where it really is.
        var namespaces = second.Linux!.Namespaces.Where(n => n.Type != NamespaceKind.Cgroup)
            .Select(n => n.Type == NamespaceKind.Pid ? n with { Path = $"/proc/{pid}/ns/pid" } : n).ToList();
        b.Write(second with { Linux = second.Linux with { CgroupsPath = cgroup, Namespaces = namespaces } });
        var join = b.Runtime("run", "j2");
        Assert.True(join.Exit == 0, join.ToString());
        Assert.Equal($"0::{cgroup}", File.ReadAllText(Path.Combine(b.Out, "cgroup")).Trim());
        Assert.Equal([pid], CgroupHierarchy.Processes(Hierarchy.DirectoryOf(cgroup))); // j2's teardown killed nothing of j1
        Assert.Equal("running", State(b, "j1").GetProperty("status").GetString());

        Assert.Equal(0, b.Runtime("delete", "--force", "j1").Exit);
        Assert.False(Directory.Exists(Hierarchy.DirectoryOf(parent)), $"{parent} left behind");
    }
}
