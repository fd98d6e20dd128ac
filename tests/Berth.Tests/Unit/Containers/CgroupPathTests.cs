using Berth.Runtime.Containers;
using Berth.Runtime.Oci;
using Xunit;

namespace Berth.Tests.Unit.Containers;

/// <summary>linux.cgroupsPath to a place in the unified hierarchy.</summary>
public class CgroupPathTests
{
    [Theory]
    [InlineData(null, "/", "/berth/web")]
    [InlineData("", "/user.slice/a.scope", "/berth/web")]
    [InlineData("/services/web", "/user.slice/a.scope", "/services/web")]
    [InlineData("//services//web/", "/", "/services/web")]
    [InlineData("pods/web", "/user.slice/a.scope", "/user.slice/pods/web")]
    [InlineData("pods/web", "/", "/pods/web")]
    [InlineData("pods/web", "/runtime", "/pods/web")]
    public void Paths_resolve_absolute_relative_or_by_default(string? given, string own, string expected) =>
        Assert.Equal(expected, CgroupPath.Resolve(given, "web", own, "config.json"));

    [Theory]
    [InlineData("system.slice:docker:web", "config.json: $.linux.cgroupsPath: \"system.slice:docker:web\" is systemd's slice:prefix:name form, and Berth has no systemd: give a path such as \"/berth/web\"")]
    [InlineData("/a/../../etc", "config.json: $.linux.cgroupsPath: \"/a/../../etc\": \"..\" is not allowed in a cgroup path")]
    [InlineData("/", "config.json: $.linux.cgroupsPath: \"/\" is the root of the hierarchy: a container needs a cgroup of its own")]
    public void Bad_paths_are_refused_with_the_json_path(string given, string message) =>
        Assert.Equal(message, Assert.Throws<SpecException>(() => CgroupPath.Resolve(given, "web", "/", "config.json")).Message);

    [Fact]
    public void The_unified_line_of_proc_self_cgroup_is_found_on_hybrid_and_pure_hosts()
    {
        Assert.Equal("/", CgroupPath.UnifiedLine("9:name=systemd:/\n4:memory:/x\n0::/\n"));
        Assert.Equal("/berth/web", CgroupPath.UnifiedLine("0::/berth/web\n"));
        Assert.Null(CgroupPath.UnifiedLine("4:memory:/x\n"));
    }

    [Fact]
    public void Keyed_files_are_read_by_key()
    {
        const string events = "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n";
        Assert.Equal(2, CgroupHierarchy.KeyedValue(events, "oom_kill"));
        Assert.Equal(3, CgroupHierarchy.KeyedValue(events, "oom"));
        Assert.Null(CgroupHierarchy.KeyedValue(events, "populated"));
    }

    [Fact]
    public void The_oom_message_names_the_limit_and_the_count()
    {
        Assert.Equal("container \"c\" was OOM-killed (memory.max 16777216 bytes, oom_kill 1)", new OomReport(1, 16777216).Message("c"));
        Assert.Equal("container \"c\" was OOM-killed (memory.max max, oom_kill 2)", new OomReport(2, null).Message("c"));
    }
}
