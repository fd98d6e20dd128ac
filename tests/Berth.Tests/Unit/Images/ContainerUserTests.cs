using Berth.Runtime.Images;
using Xunit;

namespace Berth.Tests.Unit.Images;

/// <summary>runc's GetExecUser rules (which umoci and Docker share), on passwd/group text.</summary>
public class ContainerUserTests
{
    private const string Passwd = """
        root:x:0:0:root:/root:/bin/sh
        # a comment
        daemon:x:1:1::/usr/sbin:/usr/sbin/nologin
        alice:x:1000:1000:Alice:/home/alice:/bin/sh
        nohome:x:1002:1002:::/bin/sh
        broken-line
        """;

    private const string Group = """
        root:x:0:
        wheel:x:10:alice,bob
        audio:x:29:bob,alice
        alice:x:1000:
        staff:x:50
        """;

    private static ContainerUser R(string? spec, string? passwd = Passwd, string? group = Group) =>
        ContainerUser.Resolve(spec, passwd, group, "/r/etc/passwd", "/r/etc/group");

    [Fact]
    public void Empty_means_root_with_its_home()
    {
        var u = R("");
        Assert.Equal((0u, 0u, "root", "/root"), (u.Uid, u.Gid, u.Name, u.Home));
        Assert.Empty(u.AdditionalGids);
        Assert.Equal((0u, 0u, null), R(null, passwd: null) is var n ? (n.Uid, n.Gid, n.Home) : default);
    }

    [Fact]
    public void A_name_gives_uid_gid_home_and_member_groups()
    {
        var u = R("alice");
        Assert.Equal((1000u, 1000u, "/home/alice"), (u.Uid, u.Gid, u.Home));
        Assert.Equal([10u, 29u], u.AdditionalGids);
    }

    [Fact]
    public void A_number_is_looked_up_but_need_not_exist()
    {
        Assert.Equal(("alice", 1000u), R("1000") is var a ? (a.Name, a.Gid) : default);
        var n = R("4242");
        Assert.Equal((4242u, 0u, null, null), (n.Uid, n.Gid, n.Name, n.Home));
    }

    [Fact]
    public void An_explicit_group_replaces_the_primary_gid_and_drops_additional_gids()
    {
        Assert.Equal((1000u, 29u), R("alice:audio") is var a ? (a.Uid, a.Gid) : default);
        Assert.Empty(R("alice:audio").AdditionalGids);
        Assert.Equal(777u, R("alice:777").Gid);
        Assert.Equal((1u, 50u), R("daemon:staff") is var d ? (d.Uid, d.Gid) : default); // group line without members
        Assert.Equal((5u, 6u), R("5:6", null, null) is var x ? (x.Uid, x.Gid) : default);
    }

    [Fact]
    public void An_empty_home_field_means_slash()
    {
        Assert.Equal("/", R("nohome").Home);
    }

    [Fact]
    public void Unknown_names_are_errors_naming_the_file()
    {
        var e = Assert.Throws<ImageException>(() => R("mallory"));
        Assert.Equal("user \"mallory\" is not in /r/etc/passwd", e.Message);
        e = Assert.Throws<ImageException>(() => R("alice:nogroup"));
        Assert.Equal("group \"nogroup\" is not in /r/etc/group", e.Message);
        e = Assert.Throws<ImageException>(() => R("alice", passwd: null));
        Assert.Contains("the image has no /r/etc/passwd", e.Message);
        e = Assert.Throws<ImageException>(() => R("0:wheel", group: null));
        Assert.Contains("the image has no /r/etc/group", e.Message);
    }
}
