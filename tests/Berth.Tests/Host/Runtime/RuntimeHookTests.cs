using System.Text.Json;
using Berth.Runtime.Oci;
using Xunit;

namespace Berth.Tests.Host.Runtime;

/// <summary>The six OCI hooks: when they run, where, with the state on stdin, and what a failure does.</summary>
public sealed class RuntimeHookTests
{
    private static HookSpec Record(string file, int? timeout = null) =>
        new() { Path = "/bin/sh", Args = ["sh", "-c", $"cat > {file}"], Timeout = timeout };

    [Fact]
    public void Every_hook_runs_once_with_the_state_on_stdin()
    {
        using var b = new BusyboxBundle();
        string o = b.Out;
        var spec = b.Config("/bin/sh", "-c", "echo ran > /out/program") with
        {
            Hooks = new HooksSpec
            {
                Prestart = [Record($"{o}/prestart")],
                CreateRuntime = [Record($"{o}/createRuntime")],
                // Runs in the container's namespaces before pivot_root: the host's /bin/sh, the bundle's paths.
                CreateContainer = [Record($"{o}/createContainer")],
                // Runs in the container after pivot_root: the container's /bin/sh and /out.
                StartContainer = [Record("/out/startContainer")],
                Poststart = [Record($"{o}/poststart")],
                Poststop = [Record($"{o}/poststop")],
            },
        };
        b.Write(spec);
        var r = b.Runtime("run", "hooked");
        Assert.True(r.Exit == 0, r.ToString());
        Assert.True(File.Exists(Path.Combine(o, "program")));
        foreach (var (stage, status) in new[] { ("prestart", "creating"), ("createRuntime", "creating"), ("createContainer", "creating"),
                     ("startContainer", "created"), ("poststart", "running"), ("poststop", "stopped") })
        {
            string file = Path.Combine(o, stage);
            Assert.True(File.Exists(file), $"{stage} did not run");
            var state = JsonDocument.Parse(File.ReadAllText(file)).RootElement;
            Assert.Equal("hooked", state.GetProperty("id").GetString());
            Assert.Equal(b.Dir, state.GetProperty("bundle").GetString());
            Assert.Equal(status, state.GetProperty("status").GetString());
        }
        Assert.Empty(b.ContainerIds());
    }

    [Fact]
    public void A_failing_prestart_hook_fails_create_and_leaves_nothing_behind()
    {
        using var b = new BusyboxBundle();
        b.Write(b.Config("/bin/sh", "-c", "echo ran > /out/program") with
        {
            Hooks = new HooksSpec { Prestart = [new HookSpec { Path = "/bin/sh", Args = ["sh", "-c", "exit 3"] }] },
        });
        var r = b.Runtime("create", "nope");
        Assert.Equal(1, r.Exit);
        Assert.Contains("prestart hook /bin/sh ($.hooks.prestart[0]) failed: exit code 3", r.Stderr);
        Assert.Empty(b.ContainerIds());
        Assert.False(File.Exists(Path.Combine(b.Out, "program")));
    }

    [Fact]
    public void A_hook_past_its_timeout_is_killed_and_named()
    {
        using var b = new BusyboxBundle();
        b.Write(b.Config("/bin/true") with
        {
            Hooks = new HooksSpec { CreateRuntime = [new HookSpec { Path = "/bin/sleep", Args = ["sleep", "30"], Timeout = 1 }] },
        });
        var started = DateTime.UtcNow;
        var r = b.Runtime("run", "slow");
        Assert.Equal(1, r.Exit);
        Assert.Contains("createRuntime hook /bin/sleep ($.hooks.createRuntime[0]): timed out after 1 s", r.Stderr);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20));
        Assert.Empty(b.ContainerIds());
    }

    [Fact]
    public void A_failing_poststop_hook_is_a_warning_and_delete_still_removes_the_container()
    {
        using var b = new BusyboxBundle();
        b.Write(b.Config("/bin/true") with
        {
            Hooks = new HooksSpec { Poststop = [new HookSpec { Path = "/bin/false", Args = ["false"] }] },
        });
        var r = b.Runtime("run", "post");
        Assert.True(r.Exit == 0, r.ToString());
        Assert.Contains("poststop hook /bin/false ($.hooks.poststop[0]) failed: exit code 1", r.Stderr);
        Assert.Empty(b.ContainerIds());
    }

    [Fact]
    public void Hook_env_and_argv0_are_the_specs()
    {
        using var b = new BusyboxBundle();
        string o = b.Out;
        b.Write(b.Config("/bin/true") with
        {
            Hooks = new HooksSpec
            {
                Prestart = [new HookSpec { Path = "/bin/sh", Args = ["my-hook", "-c", $"echo \"$0 $GREETING [$OUT]\" > {o}/env"], Env = ["GREETING=hello"] }],
            },
        });
        var r = b.Runtime("run", "env");
        Assert.True(r.Exit == 0, r.ToString());
        // Only the spec's environment: nothing of the runtime's (the test harness sets OUT for it).
        Assert.Equal("my-hook hello []\n", File.ReadAllText(Path.Combine(o, "env")));
    }

    [Fact]
    public void Features_lists_hooks_namespaces_and_cgroup_v2()
    {
        using var b = new BusyboxBundle();
        var r = b.Runtime("features");
        Assert.Equal(0, r.Exit);
        var f = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.Equal(6, f.GetProperty("hooks").GetArrayLength());
        Assert.Contains("rbind", f.GetProperty("mountOptions").EnumerateArray().Select(e => e.GetString()));
        var linux = f.GetProperty("linux");
        Assert.Contains("user", linux.GetProperty("namespaces").EnumerateArray().Select(e => e.GetString()));
        Assert.True(linux.GetProperty("cgroup").GetProperty("v2").GetBoolean());
        Assert.Contains("CAP_SYS_ADMIN", linux.GetProperty("capabilities").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void An_unknown_bind_mount_option_is_refused_with_its_path()
    {
        using var b = new BusyboxBundle();
        b.Write(b.Config("/bin/true") with
        {
            Mounts = [.. DefaultSpec.Create().Mounts, new MountSpec { Destination = "/x", Type = "bind", Source = b.Out, Options = ["rbind", "sizee=1"] }],
        });
        var r = b.Runtime("run", "opt");
        Assert.Equal(1, r.Exit);
        Assert.Contains("$.mounts[7].options", r.Stderr);
        Assert.Contains("sizee=1", r.Stderr);
        Assert.Empty(b.ContainerIds());
    }

    [Fact]
    public void Default_device_nodes_have_the_modes_asked_for()
    {
        using var b = new BusyboxBundle();
        var r = b.Sh("stat -c '%a %t,%T %n' /dev/null /dev/zero /dev/urandom");
        Assert.True(r.Exit == 0, r.ToString());
        Assert.Equal(["666 1,3 /dev/null", "666 1,5 /dev/zero", "666 1,9 /dev/urandom"], r.Stdout.Trim().Split('\n'));
    }
}

/// <summary>process.terminal with --console-socket: the pty master reaches the socket's owner.</summary>
public sealed class RuntimeTerminalTests
{
    [Fact]
    public void A_terminal_container_sends_its_pty_master_to_the_console_socket()
    {
        using var b = new BusyboxBundle();
        var spec = b.Config("/bin/sh", "-c", "tty; stty size; echo done");
        b.Write(spec with { Process = spec.Process! with { Terminal = true, ConsoleSize = new ConsoleSize(40, 100) } });
        string socketPath = Path.Combine(b.Dir, "console.sock");
        using var console = new Berth.Runtime.Containers.ConsoleSocket(socketPath);
        var create = Task.Run(() => b.Runtime("create", "--console-socket", socketPath, "tty"));
        using var master = console.ReceiveMaster(TimeSpan.FromSeconds(10));
        var created = create.Result;
        Assert.True(created.Exit == 0, created.ToString());
        Assert.Equal(0, b.Runtime("start", "tty").Exit);

        var output = new System.Text.StringBuilder();
        var buffer = new byte[4096];
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!output.ToString().Contains("done") && DateTime.UtcNow < deadline)
        {
            int n;
            try { n = master.Read(buffer); }
            catch (Berth.Runtime.Linux.SyscallException) { break; } // EIO: the slave side closed
            if (n <= 0) break;
            output.Append(System.Text.Encoding.UTF8.GetString(buffer, 0, n));
        }
        var text = output.ToString().Replace("\r", "");
        Assert.Matches(@"^/dev/pts/\d+\n", text);
        Assert.Contains("40 100\n", text);
        Assert.Contains("done", text);
    }
}

/// <summary>Docker's default seccomp profile (what bundles made from images get) blocks what Docker's blocks.</summary>
public sealed class RuntimeSeccompDefaultTests
{
    [Fact]
    public void The_default_profile_refuses_new_user_namespaces_that_the_kernel_would_allow()
    {
        using var b = new BusyboxBundle();
        const string script = "unshare -U true; echo unshare=$?";
        var free = b.Sh(script, id: "free");
        Assert.True(free.Stdout.Contains("unshare=0"), $"without seccomp the kernel allows it here, or this test proves nothing: {free}");
        var profiled = b.Sh(script, s => s with
        {
            Linux = s.Linux! with { Seccomp = Berth.Runtime.Security.DockerSeccompProfile.For(Berth.Runtime.Images.RuntimeConfigWriter.DefaultCapabilities) },
        }, id: "profiled");
        Assert.True(profiled.Exit == 0, profiled.ToString());
        Assert.Contains("unshare=1", profiled.Stdout);
        Assert.Contains("Operation not permitted", profiled.Stderr);
    }
}
