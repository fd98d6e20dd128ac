using Berth.Runtime.Oci;
using Berth.Tests.Host;
using Xunit;

namespace Berth.Tests.Unit.Oci;

/// <summary>The default config.json against what the installed runc writes.</summary>
public class DefaultSpecTests
{
    private static RuntimeSpec Runc(params string[] args)
    {
        using var dir = new TempDir();
        var (exit, _, stderr) = HostRun.Tool(HostRun.Which("/usr/sbin/runc", "/usr/bin/runc"), ["spec", "--bundle", dir.Path, .. args]);
        Assert.True(exit == 0, stderr);
        return SpecReader.Load(dir["config.json"]).Spec;
    }

    private static IEnumerable<string> Mounts(RuntimeSpec s) =>
        s.Mounts.Select(m => $"{m.Destination} {m.Type} {m.Source} [{string.Join(",", m.Options)}]");

    /// <summary>
    /// runc 1.2 added the cgroup namespace to its example; Debian's runc 1.1 lacks it. Everything
    /// else must be the same, in the same order.
    /// </summary>
    private static IEnumerable<NamespaceKind> NamespacesBut(RuntimeSpec s, bool withCgroup) =>
        s.Linux!.Namespaces.Select(n => n.Type).Where(k => withCgroup || k != NamespaceKind.Cgroup);

    private static void AssertSameContent(RuntimeSpec runc, RuntimeSpec ours)
    {
        var rp = runc.Process!;
        var op = ours.Process!;
        Assert.Equal(rp.Args, op.Args);
        Assert.Equal(rp.Env, op.Env);
        Assert.Equal(rp.Cwd, op.Cwd);
        Assert.Equal(rp.Terminal, op.Terminal);
        Assert.Equal(rp.User, op.User with { AdditionalGids = rp.User.AdditionalGids });
        Assert.Equal(rp.NoNewPrivileges, op.NoNewPrivileges);
        Assert.Equal(rp.Rlimits, op.Rlimits);
        Assert.Equal(rp.Capabilities!.Bounding, op.Capabilities!.Bounding);
        Assert.Equal(rp.Capabilities.Effective, op.Capabilities.Effective);
        Assert.Equal(rp.Capabilities.Permitted, op.Capabilities.Permitted);
        Assert.Equal(rp.Capabilities.Ambient, op.Capabilities.Ambient);
        Assert.Equal(rp.Capabilities.Inheritable, op.Capabilities.Inheritable);
        Assert.Equal(runc.Root, ours.Root);
        Assert.Equal(runc.Hostname, ours.Hostname);
        Assert.Equal(Mounts(runc), Mounts(ours));
        bool runcHasCgroupNs = runc.Linux!.Namespace(NamespaceKind.Cgroup) is not null;
        Assert.Equal(NamespacesBut(runc, true), NamespacesBut(ours, runcHasCgroupNs));
        Assert.Equal(runc.Linux.MaskedPaths, ours.Linux!.MaskedPaths);
        Assert.Equal(runc.Linux.ReadonlyPaths, ours.Linux.ReadonlyPaths);
        Assert.Equal(runc.Linux.UidMappings, ours.Linux.UidMappings);
        Assert.Equal(runc.Linux.GidMappings, ours.Linux.GidMappings);
        Assert.Equal(runc.Linux.Resources?.Devices, ours.Linux.Resources?.Devices);
    }

    [Fact]
    public void The_default_spec_has_the_content_of_runc_spec()
    {
        var ours = DefaultSpec.Create();
        AssertSameContent(Runc(), ours);
        Assert.Equal([NamespaceKind.Pid, NamespaceKind.Network, NamespaceKind.Ipc, NamespaceKind.Uts, NamespaceKind.Mount, NamespaceKind.Cgroup],
            ours.Linux!.Namespaces.Select(n => n.Type));
    }

    [Fact]
    public void The_rootless_spec_has_the_content_of_runc_spec_rootless()
    {
        // runc maps container root to the caller's euid/egid; these tests run as root.
        AssertSameContent(Runc("--rootless"), DefaultSpec.Rootless(0, 0));
        var rootless = DefaultSpec.Rootless(1000, 1000);
        Assert.Null(rootless.Linux!.Namespace(NamespaceKind.Network));
        Assert.Equal(new IdMapping(0, 1000, 1), Assert.Single(rootless.Linux.UidMappings));
        Assert.DoesNotContain(rootless.Mounts, m => m.Options.Any(o => o.StartsWith("gid=", StringComparison.Ordinal)));
        Assert.Null(rootless.Linux.Resources);
    }

    [Fact]
    public void The_default_spec_passes_its_own_validation_and_round_trips()
    {
        foreach (var spec in new[] { DefaultSpec.Create(), DefaultSpec.Rootless(1000, 1000) })
        {
            var json = SpecWriter.ToJson(spec);
            var loaded = SpecReader.Parse(json);
            Assert.Empty(loaded.Warnings);
            Assert.Equal(json, SpecWriter.ToJson(loaded.Spec));
        }
    }
}
