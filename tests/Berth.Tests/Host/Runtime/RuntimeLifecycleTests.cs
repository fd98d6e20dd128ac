using System.Text.Json;
using Berth.Runtime.Oci;
using Xunit;

namespace Berth.Tests.Host.Runtime;

/// <summary>berth-runtime's runc command line on real namespaces, as root.</summary>
public sealed class RuntimeLifecycleTests
{
    private static JsonElement State(BusyboxBundle b, string id)
    {
        var r = b.Runtime("state", id);
        Assert.True(r.Exit == 0, r.ToString());
        return JsonDocument.Parse(r.Stdout).RootElement.Clone();
    }

    [Fact]
    public void Create_start_kill_delete_walk_through_the_states()
    {
        using var b = new BusyboxBundle();
        b.Write(b.Config("/bin/sh", "-c", "echo started > /out/started; exec sleep 60"));

        var create = b.Runtime("create", "--pid-file", Path.Combine(b.Dir, "pid"), "c1");
        Assert.True(create.Exit == 0, create.ToString());
        var state = State(b, "c1");
        Assert.Equal("created", state.GetProperty("status").GetString());
        int pid = state.GetProperty("pid").GetInt32();
        Assert.Equal(pid.ToString(), File.ReadAllText(Path.Combine(b.Dir, "pid")));
        Assert.Equal(b.Dir, state.GetProperty("bundle").GetString());
        Assert.True(Directory.Exists($"/proc/{pid}"));
        Thread.Sleep(100);
        Assert.False(File.Exists(Path.Combine(b.Out, "started")), "the user's program ran before start");

        var start = b.Runtime("start", "c1");
        Assert.True(start.Exit == 0, start.ToString());
        Assert.True(HostRun.Until(() => File.Exists(Path.Combine(b.Out, "started")), TimeSpan.FromSeconds(5)));
        Assert.Equal("running", State(b, "c1").GetProperty("status").GetString());
        Assert.Equal(1, b.Runtime("start", "c1").Exit); // not created any more

        Assert.Equal(1, b.Runtime("delete", "c1").Exit); // running: refused without --force
        Assert.Equal(0, b.Runtime("kill", "c1", "KILL").Exit);
        Assert.True(HostRun.Until(() => State(b, "c1").GetProperty("status").GetString() == "stopped", TimeSpan.FromSeconds(5)));

        Assert.Equal(0, b.Runtime("delete", "c1").Exit);
        var gone = b.Runtime("state", "c1");
        Assert.Equal(1, gone.Exit);
        Assert.Contains("does not exist", gone.Stderr);
        Assert.Empty(b.ContainerIds());
    }

    [Fact]
    public void Run_passes_the_exit_status_through()
    {
        using var b = new BusyboxBundle();
        Assert.Equal(42, b.Sh("exit 42").Exit);
        Assert.Equal(0, b.Sh("true").Exit);

        // A container's init ignores signals it has no handler for when they come from inside
        // (the kernel protects a namespace's init), so the kill comes from the runtime.
        b.Write(b.Config("/bin/sh", "-c", "echo ready > /out/ready; exec sleep 60"));
        var run = Task.Run(() => b.Runtime("run", "killed"));
        Assert.True(HostRun.Until(() => File.Exists(Path.Combine(b.Out, "ready")), TimeSpan.FromSeconds(10)));
        Assert.Equal(0, b.Runtime("kill", "killed", "9").Exit);
        Assert.True(run.Wait(TimeSpan.FromSeconds(10)), "run did not return after its container was killed");
        Assert.Equal(128 + 9, run.Result.Exit);
        Assert.Empty(b.ContainerIds());
    }

    /// <summary>
    /// A GC under way in another thread when clone3 copies the runtime traps the child (see
    /// ChildStartWatch). A 64 KiB gen0 budget and two allocating threads make that common: before the
    /// watch, 15 of 40 runs hung here. Every run must now end, with its program's status.
    /// </summary>
    [Fact]
    public void Containers_start_while_other_threads_of_the_runtime_are_collecting_garbage()
    {
        using var b = new BusyboxBundle();
        b.Environment["DOTNET_GCgen0size"] = "10000";
        b.Environment["BERTH_TEST_GC_STRESS"] = "1";
        b.Write(b.Config("/bin/sh", "-c", "exit 3"));
        for (int i = 0; i < 40; i++)
        {
            var r = b.Runtime("run", $"gc{i}");
            Assert.True(r.Exit == 3, $"run {i}: {r}");
        }
        Assert.Empty(b.ContainerIds());
    }

    [Fact]
    public void Kill_delivers_the_named_signal()
    {
        using var b = new BusyboxBundle();
        b.Write(b.Config("/bin/sh", "-c", "trap 'echo got-usr1 > /out/signal; exit 3' USR1; echo ready > /out/ready; while true; do sleep 0.05; done"));
        Assert.Equal(0, b.Runtime("run", "--detach", "c2").Exit);
        Assert.True(HostRun.Until(() => File.Exists(Path.Combine(b.Out, "ready")), TimeSpan.FromSeconds(5)));
        Assert.Equal(0, b.Runtime("kill", "c2", "SIGUSR1").Exit);
        Assert.True(HostRun.Until(() => File.Exists(Path.Combine(b.Out, "signal")), TimeSpan.FromSeconds(5)));
        Assert.Equal("got-usr1\n", File.ReadAllText(Path.Combine(b.Out, "signal")));
        Assert.True(HostRun.Until(() => State(b, "c2").GetProperty("status").GetString() == "stopped", TimeSpan.FromSeconds(5)));
        Assert.Equal(2, b.Runtime("kill", "c2", "NOSUCHSIGNAL").Exit);
        Assert.Equal(0, b.Runtime("delete", "c2").Exit);
    }

    [Fact]
    public void The_container_sees_only_its_own_processes_hostname_and_loopback()
    {
        using var b = new BusyboxBundle();
        // The glob runs in the shell itself: no command substitution forks a process that would be listed.
        var r = b.Sh("for p in /proc/[0-9]*; do echo pid=${p#/proc/}; done; echo self=$$; echo host=$(hostname); echo net=$(ls /sys/class/net); " +
                     "echo ipc=$(readlink /proc/self/ns/ipc); echo mnt=$(readlink /proc/self/ns/mnt); grep -c . /proc/self/mountinfo",
            s => s with { Hostname = "box" });
        Assert.True(r.Exit == 0, r.ToString());
        var lines = r.Stdout.Split('\n');
        Assert.Equal(["pid=1"], lines.Where(l => l.StartsWith("pid=", StringComparison.Ordinal)));   // the shell; none of the host's
        Assert.Contains("self=1", lines);
        Assert.Contains("host=box", lines);
        Assert.Contains("net=lo", lines);
        Assert.DoesNotContain($"ipc={new FileInfo("/proc/self/ns/ipc").LinkTarget}", lines);
        Assert.DoesNotContain($"mnt={new FileInfo("/proc/self/ns/mnt").LinkTarget}", lines);
        Assert.NotEqual("box", Environment.MachineName);
    }

    [Fact]
    public void Exec_joins_the_running_containers_namespaces()
    {
        using var b = new BusyboxBundle();
        b.Write(b.Config("/bin/sleep", "60") with { Hostname = "inside" });
        Assert.Equal(0, b.Runtime("run", "-d", "c3").Exit);
        var r = b.Runtime("exec", "-e", "GREETING=hi", "c3", "/bin/sh", "-c", "echo $(hostname) $GREETING $(cat /proc/1/cmdline | tr '\\0' ' ')");
        Assert.True(r.Exit == 0, r.ToString());
        Assert.Equal("inside hi /bin/sleep 60", r.Stdout.Trim());
        Assert.Equal(7, b.Runtime("exec", "c3", "/bin/sh", "-c", "exit 7").Exit);
        var missing = b.Runtime("exec", "c3", "/no/such/program");
        Assert.NotEqual(0, missing.Exit);
        Assert.Contains("/no/such/program", missing.Stderr);

        var ps = b.Runtime("ps", "--format", "json", "c3");
        Assert.Equal(JsonValueKind.Array, JsonDocument.Parse(ps.Stdout).RootElement.ValueKind);
        var list = JsonDocument.Parse(b.Runtime("list", "--format", "json").Stdout).RootElement;
        Assert.Equal("c3", list[0].GetProperty("id").GetString());
        Assert.Equal("running", list[0].GetProperty("status").GetString());
        Assert.Equal(0, b.Runtime("delete", "--force", "c3").Exit);
        Assert.Empty(b.ContainerIds());
    }

    [Fact]
    public void A_user_namespace_maps_container_root_to_an_unprivileged_host_uid()
    {
        using var b = new BusyboxBundle();
        // Container root is host uid 100000: it must be able to reach its rootfs, and
        // its image is owned by it, as an image unpacked for a user namespace is.
        File.SetUnixFileMode(b.Dir, (UnixFileMode)0x1ed);
        Assert.Equal(0, HostRun.Tool("/bin/chown", "-hR", "100000:100000", b.Rootfs).Exit);
        var r = b.Sh("id -u; cat /proc/self/uid_map; touch /out/made-by-container-root; echo touch=$?", s => s with
        {
            Linux = s.Linux! with
            {
                Namespaces = [.. s.Linux.Namespaces, new NamespaceSpec(NamespaceKind.User)],
                UidMappings = [new IdMapping(0, 100000, 65536)],
                GidMappings = [new IdMapping(0, 100000, 65536)],
            },
        });
        Assert.True(r.Exit == 0, r.ToString());
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("0", lines[0]);
        Assert.Equal(["0", "100000", "65536"], lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        // Host root owns /out, so container root (host uid 100000) may not write there.
        Assert.Equal("touch=1", lines[2]);
        Assert.False(File.Exists(Path.Combine(b.Out, "made-by-container-root")));
    }

    [Fact]
    public void Default_capabilities_forbid_mount_chown_and_raw_sockets()
    {
        using var b = new BusyboxBundle();
        var r = b.Sh("mkdir -p /tmp/m; mount -t tmpfs none /tmp/m; echo mount=$?; chown 1 /out; echo chown=$?; " +
                     "ping -c1 -W1 127.0.0.1 >/dev/null 2>/out/ping.err; echo ping=$?; grep CapEff /proc/self/status",
            s => s with { Root = s.Root! with { Readonly = false } });
        Assert.True(r.Exit == 0, r.ToString());
        Assert.DoesNotContain("mount=0", r.Stdout);
        Assert.Contains("mount=", r.Stdout);
        Assert.Contains("chown=1", r.Stdout);
        Assert.Contains("ping=1", r.Stdout);
        Assert.Contains("permission denied", File.ReadAllText(Path.Combine(b.Out, "ping.err")), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Operation not permitted", r.Stderr);
        // CAP_AUDIT_WRITE (29), CAP_KILL (5), CAP_NET_BIND_SERVICE (10) and nothing else.
        Assert.Contains("CapEff:\t0000000020000420", r.Stdout);
    }

    [Fact]
    public void A_seccomp_rule_makes_a_syscall_fail_with_the_errno_asked_for()
    {
        using var b = new BusyboxBundle();
        string script = "touch /out/f; chmod 600 /out/f; echo chmod=$?";
        Assert.Contains("chmod=0", b.Sh(script, id: "free").Stdout);
        var r = b.Sh(script, s => s with
        {
            Linux = s.Linux! with
            {
                Seccomp = new SeccompSpec
                {
                    DefaultAction = "SCMP_ACT_ALLOW",
                    Architectures = ["SCMP_ARCH_X86_64"],
                    Syscalls = [new SyscallRule { Names = ["chmod", "fchmod", "fchmodat", "fchmodat2"], Action = "SCMP_ACT_ERRNO", ErrnoRet = 1 }],
                },
            },
        }, id: "filtered");
        Assert.Contains("chmod=1", r.Stdout);
        Assert.Contains("Operation not permitted", r.Stderr);
    }

    [Fact]
    public void Masked_paths_are_empty_and_proc_sys_and_the_root_are_read_only()
    {
        using var b = new BusyboxBundle();
        Assert.NotEmpty(Directory.GetFileSystemEntries("/sys/firmware")); // or the test below proves nothing
        Assert.True(File.Exists("/proc/timer_list") && File.Exists("/proc/keys"));
        var r = b.Sh("echo timer_list=$(wc -c < /proc/timer_list); echo keys=$(wc -c < /proc/keys); echo firmware=$(ls /sys/firmware | wc -l); " +
                     "echo 1 > /proc/sys/kernel/printk_ratelimit; echo sys=$?; touch /newfile; echo root=$?");
        Assert.True(r.Exit == 0, r.ToString());
        Assert.Contains("timer_list=0", r.Stdout);
        Assert.Contains("keys=0", r.Stdout);
        Assert.Contains("firmware=0", r.Stdout);
        Assert.Contains("sys=1", r.Stdout);
        Assert.Contains("root=1", r.Stdout);
        Assert.Contains("Read-only file system", r.Stderr);
    }

    [Fact]
    public void Rlimits_and_no_new_privileges_reach_the_process()
    {
        using var b = new BusyboxBundle();
        var r = b.Sh("ulimit -n; grep NoNewPrivs /proc/self/status", s => s with
        {
            Process = s.Process! with { Rlimits = [new RlimitSpec("RLIMIT_NOFILE", 123, 456)], NoNewPrivileges = true },
        });
        Assert.True(r.Exit == 0, r.ToString());
        Assert.Equal("123", r.Stdout.Split('\n')[0]);
        Assert.Contains("NoNewPrivs:\t1", r.Stdout);
    }

    [Fact]
    public void A_symlink_in_the_image_cannot_point_a_mount_outside_the_rootfs()
    {
        using var b = new BusyboxBundle();
        string escape = Path.Combine(Path.GetTempPath(), "berth-escape-" + Guid.NewGuid().ToString("N"));
        File.CreateSymbolicLink(Path.Combine(b.Rootfs, "evil"), escape);
        File.WriteAllText(Path.Combine(b.Dir, "payload"), "payload");
        var r = b.Sh("cat /evil/x/payload", s => s with
        {
            Mounts = [.. s.Mounts, new MountSpec { Destination = "/evil/x/payload", Type = "bind", Source = Path.Combine(b.Dir, "payload"), Options = ["bind", "ro"] }],
        });
        Assert.True(r.Exit == 0, r.ToString());
        Assert.Equal("payload", r.Stdout);
        Assert.False(Directory.Exists(escape), $"the runtime created {escape} on the host");
        Assert.True(File.Exists(Path.Combine(b.Rootfs, escape.TrimStart('/'), "x", "payload")), "the target should have been made inside the rootfs");
    }

    [Theory]
    [InlineData("{ \"ociVersion\": \"1.2.0\", ", "invalid JSON at line 1")]
    [InlineData("{ \"ociVersion\": \"1.2.0\", \"process\": { \"args\": [\"/bin/true\"], \"cwd\": \"/\" } }", "$.root")]
    [InlineData("{ \"ociVersion\": \"1.2.0\", \"root\": { \"path\": \"rootfs\" }, \"process\": { \"args\": [\"/bin/true\"], \"cwd\": \"/\" }, \"linux\": { \"namespaces\": [ { \"type\": \"mount\" }, { \"type\": \"bogus\" } ] } }", "$.linux.namespaces[1].type")]
    [InlineData("{ \"ociVersion\": \"1.2.0\", \"root\": { \"path\": \"rootfs\" }, \"process\": { \"args\": [\"/bin/true\"], \"cwd\": \"/\" }, \"linux\": { \"namespaces\": [ { \"type\": \"mount\" }, { \"type\": \"user\" } ], \"uidMappings\": [ { \"containerID\": 0, \"hostID\": 1000, \"size\": 0 } ], \"gidMappings\": [ { \"containerID\": 0, \"hostID\": 1000, \"size\": 1 } ] } }", "$.linux.uidMappings[0].size")]
    [InlineData("{ \"ociVersion\": \"1.2.0\", \"root\": { \"path\": \"no-such-rootfs\" }, \"process\": { \"args\": [\"/bin/true\"], \"cwd\": \"/\" }, \"linux\": { \"namespaces\": [ { \"type\": \"mount\" } ] } }", "$.root.path")]
    public void A_bad_config_is_named_and_leaves_nothing_behind(string json, string expected)
    {
        using var b = new BusyboxBundle();
        b.WriteRaw(json);
        foreach (var command in new[] { "create", "run" })
        {
            var r = b.Runtime(command, "bad");
            Assert.Equal(1, r.Exit);
            Assert.Contains(expected, r.Stderr);
            Assert.Contains("config.json", r.Stderr);
            Assert.Empty(b.ContainerIds());
        }
    }

    [Fact]
    public void A_program_that_does_not_exist_fails_create_with_its_name()
    {
        using var b = new BusyboxBundle();
        b.Write(b.Config("no-such-program"));
        var r = b.Runtime("create", "c4");
        Assert.Equal(1, r.Exit);
        Assert.Contains("\"no-such-program\"", r.Stderr);
        Assert.Contains("ENOENT", r.Stderr);
        Assert.Empty(b.ContainerIds());
    }

    [Fact]
    public void Two_creates_of_one_id_do_not_both_succeed()
    {
        using var b = new BusyboxBundle();
        b.Write(b.Config("/bin/sleep", "60"));
        Assert.Equal(0, b.Runtime("create", "same").Exit);
        var second = b.Runtime("create", "same");
        Assert.Equal(1, second.Exit);
        Assert.Contains("already exists", second.Stderr);
        Assert.Equal(0, b.Runtime("delete", "same").Exit); // created, not running: no --force needed
    }

    [Fact]
    public void Spec_writes_a_config_that_runs()
    {
        using var b = new BusyboxBundle();
        var r = b.Runtime("spec");
        Assert.Equal(0, r.Exit);
        var spec = SpecReader.Load(Path.Combine(b.Dir, "config.json")).Spec;
        Assert.Equal(["sh"], spec.Process!.Args);
        Assert.Equal(1, b.Runtime("spec").Exit); // refuses to overwrite
    }

    [Fact]
    public void Log_format_json_writes_errors_as_json_lines()
    {
        using var b = new BusyboxBundle();
        string log = Path.Combine(b.Dir, "runtime.log");
        var r = b.Runtime("--log", log, "--log-format", "json", "state", "nope");
        Assert.Equal(1, r.Exit);
        var entry = JsonDocument.Parse(File.ReadAllLines(log).Single()).RootElement;
        Assert.Equal("error", entry.GetProperty("level").GetString());
        Assert.Contains("nope", entry.GetProperty("msg").GetString());
    }
}
