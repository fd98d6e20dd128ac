using System.Numerics;
using Berth.Runtime.Linux;
using Berth.Runtime.Oci;
using Berth.Runtime.Security;
using Berth.Tests.Host;
using Xunit;

namespace Berth.Tests.Unit.Security;

/// <summary>
/// Capabilities and seccomp filters applied for real (needs root). Both are per thread: each test
/// applies them on a dedicated thread of the test process that does nothing else, spawns a child
/// from it with posix_spawn (the child inherits the thread's state), and then ends, so the rest of
/// the test process is untouched. Nothing else may run on that thread: no tasks, no thread pool.
/// </summary>
public class SecurityHostTests
{
    private static T OnDedicatedThread<T>(Func<T> work)
    {
        T result = default!;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try { result = work(); }
            catch (Exception e) { error = e; }
        });
        thread.Start();
        thread.Join();
        if (error is not null) throw new InvalidOperationException("on the dedicated thread: " + error.Message, error);
        return result;
    }

    private static ulong StatusMask(string status, string field) => Convert.ToUInt64(
        status.Split('\n').Single(l => l.StartsWith(field + ":", StringComparison.Ordinal))[(field.Length + 1)..].Trim(), 16);

    private static ExitStatus Sh(string script, string output) => ChildReaper.WaitFor(ProcessSpawner.Spawn(HostRun.Sh(script, output)));

    [Fact]
    public void A_capability_plan_applies_to_the_thread_and_what_it_spawns()
    {
        Assert.True(File.ReadAllText("/proc/self/status").Contains("\nUid:\t0\t"), "these tests need root");
        using var dir = new TempDir();
        var plan = CapabilityPlan.For(new CapabilitiesSpec
        {
            Bounding = ["CAP_CHOWN", "CAP_KILL"],
            Effective = ["CAP_KILL"],
            Permitted = ["CAP_KILL", "CAP_CHOWN"],
            Inheritable = ["CAP_KILL"],
            Ambient = ["CAP_KILL"],
        }, CapabilityApplier.ReadLastCap())!;
        Assert.Empty(plan.Warnings);
        ulong processBounding = StatusMask(File.ReadAllText("/proc/self/status"), "CapBnd");

        var (mine, status, exit) = OnDedicatedThread(() =>
        {
            CapabilityApplier.Apply(plan);
            var read = CapabilityApplier.Read();
            string self = File.ReadAllText("/proc/thread-self/status");
            var child = Sh("grep ^Cap /proc/self/status", dir["child"]);
            return (read, self, child);
        });

        ulong chown = 1UL << 0, kill = 1UL << 5;
        Assert.Equal(new ThreadCapabilities(new(kill), new(kill | chown), new(kill)), mine);
        Assert.Equal(kill | chown, StatusMask(status, "CapBnd"));
        Assert.Equal(kill, StatusMask(status, "CapAmb"));

        Assert.Equal(0, exit.Code);
        string child = File.ReadAllText(dir["child"]);
        Assert.Equal(kill | chown, StatusMask(child, "CapBnd"));
        // uid 0 execs with permitted = inheritable | bounding.
        Assert.Equal(kill | chown, StatusMask(child, "CapPrm"));
        Assert.Equal(kill, StatusMask(child, "CapInh"));

        // The rest of the test process keeps everything.
        Assert.Equal(processBounding, StatusMask(File.ReadAllText("/proc/self/status"), "CapBnd"));
        Assert.True(BitOperations.PopCount(processBounding) > 2);
    }

    [Fact]
    public void Dockers_profile_installed_for_real_refuses_namespaces_and_mounts_with_EPERM()
    {
        using var dir = new TempDir();
        var program = SeccompCompiler.Compile(DockerSeccompProfile.For(Capabilities.DockerDefault));
        var script = """
            unshare -U true 2>>"$1/err"; echo "unshare-user=$?"
            mkdir "$1/a" "$1/b"; mount --bind "$1/a" "$1/b" 2>>"$1/err"; echo "mount=$?"
            mkdir "$1/made" && echo "mkdir=$?"
            grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status
            """;
        ExitStatus exit;
        bool noNewPrivs;
        try
        {
            (exit, noNewPrivs) = OnDedicatedThread(() =>
            {
                SeccompInstaller.SetNoNewPrivileges();
                Assert.Equal(-1, SeccompInstaller.Install(program));
                var e = ChildReaper.WaitFor(ProcessSpawner.Spawn(HostRun.Sh(script, dir["out"], dir.Path)));
                return (e, SeccompInstaller.NoNewPrivileges);
            });
        }
        finally
        {
            // Only if the filter failed to stop the bind mount.
            if (File.ReadAllText("/proc/self/mountinfo").Contains(dir["b"])) HostRun.Tool("/bin/umount", "-l", dir["b"]);
        }
        Assert.True(noNewPrivs);
        Assert.False(SeccompInstaller.NoNewPrivileges); // other threads are untouched
        Assert.Equal(0, exit.Code);
        Assert.Equal(
            ["unshare-user=1", "mount=32", "mkdir=0", "NoNewPrivs:\t1", "Seccomp:\t2"],
            File.ReadAllLines(dir["out"]).Where(l => !l.StartsWith("Seccomp_filters", StringComparison.Ordinal)));
        Assert.Contains("Operation not permitted", File.ReadAllText(dir["err"]));
        Assert.True(Directory.Exists(dir["made"]));
    }

    [Fact]
    public void A_masked_argument_rule_works_in_the_kernel()
    {
        // Default allow; unshare with CLONE_NEWUSER set gets EPERM, other unshares pass; mkdir gets EACCES.
        using var dir = new TempDir();
        const ulong CLONE_NEWUSER = 0x10000000;
        var spec = new SeccompSpec
        {
            DefaultAction = "SCMP_ACT_ALLOW",
            Syscalls =
            [
                new SyscallRule
                {
                    Names = ["unshare"], Action = "SCMP_ACT_ERRNO",
                    Args = [new SyscallArg { Index = 0, Value = CLONE_NEWUSER, ValueTwo = CLONE_NEWUSER, Op = "SCMP_CMP_MASKED_EQ" }],
                },
                new SyscallRule { Names = ["mkdir", "mkdirat"], Action = "SCMP_ACT_ERRNO", ErrnoRet = 13 },
            ],
        };
        var program = SeccompCompiler.Compile(spec);
        var script = """
            unshare -U true 2>>"$1/err"; echo "user=$?"
            unshare -u true 2>>"$1/err"; echo "uts=$?"
            mkdir "$1/made" 2>>"$1/err"; echo "mkdir=$?"
            """;
        var exit = OnDedicatedThread(() =>
        {
            SeccompInstaller.SetNoNewPrivileges();
            SeccompInstaller.Install(program);
            return ChildReaper.WaitFor(ProcessSpawner.Spawn(HostRun.Sh(script, dir["out"], dir.Path)));
        });
        Assert.Equal(0, exit.Code);
        Assert.Equal(["user=1", "uts=0", "mkdir=1"], File.ReadAllLines(dir["out"]));
        string err = File.ReadAllText(dir["err"]);
        Assert.Contains("Operation not permitted", err);
        Assert.Contains("Permission denied", err);
    }
}
