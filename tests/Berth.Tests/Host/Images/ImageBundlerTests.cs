using System.Text.Json;
using Berth.Runtime.Images;
using Xunit;

namespace Berth.Tests.Host.Images;

public class ImageBundlerTests
{
    private static UmociImage Configured(string work, string user) => new UmociImage(work)
        .Layer(UmociComparisonTests.RichRootfs)
        .Config("--config.user", user, "--config.entrypoint", "/bin/echo", "--config.cmd", "hello", "--config.cmd", "world",
            "--config.workingdir", "/data", "--config.env", "FOO=bar", "--config.env", "PATH=/custom/bin",
            "--config.label", "org.example.role=test", "--config.exposedports", "8080/tcp", "--config.volume", "/var/data");

    private static JsonElement Process(string bundle)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(bundle, "config.json")));
        return doc.RootElement.GetProperty("process").Clone();
    }

    private static List<string> Strings(JsonElement e, string name) =>
        e.TryGetProperty(name, out var a) ? a.EnumerateArray().Select(x => x.GetString()!).ToList() : [];

    private static List<uint> Ids(JsonElement user) =>
        user.TryGetProperty("additionalGids", out var a) ? a.EnumerateArray().Select(x => x.GetUInt32()).ToList() : [];

    [Theory]
    [InlineData("alice")]        // name: gid and additional gids from /etc/passwd and /etc/group
    [InlineData("alice:audio")]  // explicit group: no additional gids
    [InlineData("1001")]         // a uid in /etc/passwd
    [InlineData("4321:8765")]    // numbers in no database
    [InlineData("")]             // root
    public void Process_matches_umoci_unpack(string user)
    {
        using var dir = new TempDir();
        var image = Configured(dir.Path, user);
        var umoci = Process(image.UmociUnpack("umoci"));
        var bundle = ImageBundler.Create(image.Layout, image.Tag, dir["berth"], new BundleOptions { Terminal = true });
        var mine = Process(bundle.Path);

        Assert.Equal(Strings(umoci, "args"), Strings(mine, "args"));
        Assert.Equal(Strings(umoci, "env").Order(), Strings(mine, "env").Order());
        Assert.Equal(umoci.GetProperty("cwd").GetString(), mine.GetProperty("cwd").GetString());
        Assert.Equal(umoci.GetProperty("user").GetProperty("uid").GetUInt32(), mine.GetProperty("user").GetProperty("uid").GetUInt32());
        Assert.Equal(umoci.GetProperty("user").GetProperty("gid").GetUInt32(), mine.GetProperty("user").GetProperty("gid").GetUInt32());
        Assert.Equal(Ids(umoci.GetProperty("user")), Ids(mine.GetProperty("user")));
        Assert.True(mine.GetProperty("terminal").GetBoolean());

        TreeSnapshot.AssertSame(TreeSnapshot.Take(Path.Combine(dir["umoci"], "rootfs")), TreeSnapshot.Take(bundle.Rootfs), "bundle rootfs");
    }

    [Fact]
    public void Config_json_carries_root_namespaces_mounts_and_image_annotations()
    {
        using var dir = new TempDir();
        var image = Configured(dir.Path, "alice");
        var bundle = ImageBundler.Create(image.Layout, image.Tag, dir["b"], new BundleOptions { Hostname = "svc", ReadOnlyRoot = true });
        using var doc = JsonDocument.Parse(File.ReadAllBytes(bundle.ConfigPath));
        var root = doc.RootElement;
        Assert.Equal("1.0.2", root.GetProperty("ociVersion").GetString());
        Assert.Equal("rootfs", root.GetProperty("root").GetProperty("path").GetString());
        Assert.True(root.GetProperty("root").GetProperty("readonly").GetBoolean());
        Assert.Equal("svc", root.GetProperty("hostname").GetString());
        Assert.Contains("mount", root.GetProperty("linux").GetProperty("namespaces").EnumerateArray().Select(n => n.GetProperty("type").GetString()));
        Assert.Contains("/proc", root.GetProperty("mounts").EnumerateArray().Select(m => m.GetProperty("destination").GetString()));
        var annotations = root.GetProperty("annotations");
        Assert.Equal("test", annotations.GetProperty("org.example.role").GetString());
        Assert.Equal("8080/tcp", annotations.GetProperty("org.opencontainers.image.exposedPorts").GetString());
        Assert.Equal(["/var/data"], bundle.Image.Config.Volumes);
        Assert.Contains("HOME=/home/alice", bundle.Process.Env);
        Assert.DoesNotContain(bundle.Process.Env, e => e.StartsWith("TERM="));
        Assert.Contains("PATH=/custom/bin", bundle.Process.Env); // the image's PATH, not the default
    }

    [Fact]
    public void Caller_overrides_follow_docker_run()
    {
        using var dir = new TempDir();
        var image = Configured(dir.Path, "alice");
        var layout = image.Layout;

        var b1 = ImageBundler.Create(layout, image.Tag, dir["b1"], new BundleOptions { Command = ["bye"] });
        Assert.Equal(["/bin/echo", "bye"], b1.Process.Args);

        var b2 = ImageBundler.Create(layout, image.Tag, dir["b2"], new BundleOptions { Entrypoint = ["/bin/true"] });
        Assert.Equal(["/bin/true"], b2.Process.Args); // a new entrypoint drops the image's Cmd

        var b3 = ImageBundler.Create(layout, image.Tag, dir["b3"], new BundleOptions
        {
            Entrypoint = ["/bin/sh", "-c"], Command = ["exit 3"], Env = ["FOO=override", "NEW=1"], WorkingDir = "tmp/../etc", User = "bob",
        });
        Assert.Equal(["/bin/sh", "-c", "exit 3"], b3.Process.Args);
        Assert.Equal("/etc", b3.Process.Cwd);
        Assert.Equal((1001u, 1001u), (b3.Process.User.Uid, b3.Process.User.Gid));
        Assert.Equal([10u], b3.Process.User.AdditionalGids);
        Assert.Equal(["FOO=override", "PATH=/custom/bin", "NEW=1", "HOME=/home/bob"], b3.Process.Env);
    }

    [Fact]
    public void An_unknown_user_name_is_an_error_naming_the_rootfs_passwd_and_leaves_no_bundle()
    {
        using var dir = new TempDir();
        var image = Configured(dir.Path, "nobody-here");
        string bundle = dir["b"];
        var e = Assert.Throws<ImageException>(() => ImageBundler.Create(image.Layout, image.Tag, bundle));
        Assert.Contains("\"nobody-here\"", e.Message);
        Assert.Contains(Path.Combine(bundle, "rootfs", "etc/passwd"), e.Message);
        Assert.False(Path.Exists(bundle));

        Directory.CreateDirectory(bundle); // an existing empty directory is emptied again, not removed
        Assert.Throws<ImageException>(() => ImageBundler.Create(image.Layout, image.Tag, bundle));
        Assert.True(Directory.Exists(bundle));
        Assert.Empty(Directory.GetFileSystemEntries(bundle));
    }

    /// <summary>/etc/passwd is a symlink to an absolute host path: it must be read inside the rootfs, not on the host.</summary>
    [Fact]
    public void User_lookups_stay_inside_the_rootfs()
    {
        using var dir = new TempDir();
        string decoy = dir["host-passwd"];
        File.WriteAllText(decoy, "mallory:x:4242:4242::/home/mallory:/bin/sh\n");

        var layout = new LayoutBuilder(dir["layout"]);
        layout.AddLayer(new TarBuilder().Dir("etc/").Symlink("etc/passwd", decoy).File("bin/app", "", 0x1ed).Build());
        layout.Finish(containerConfig: w =>
        {
            w.WriteString("User", "mallory");
            w.WriteStartArray("Cmd"); w.WriteStringValue("/bin/app"); w.WriteEndArray();
        });
        var e = Assert.Throws<ImageException>(() => ImageBundler.Create(layout.Path, "t", dir["b1"]));
        Assert.Contains("\"mallory\"", e.Message);

        // The same link, with the file present at that path inside the rootfs: that one is used.
        var layout2 = new LayoutBuilder(dir["layout2"]);
        layout2.AddLayer(new TarBuilder().Dir("etc/").Symlink("etc/passwd", decoy)
            .File(decoy.TrimStart('/'), "mallory:x:777:778::/inside:/bin/sh\n").Build());
        layout2.Finish(containerConfig: w =>
        {
            w.WriteString("User", "mallory");
            w.WriteStartArray("Cmd"); w.WriteStringValue("/bin/app"); w.WriteEndArray();
        });
        var bundle = ImageBundler.Create(layout2.Path, "t", dir["b2"]);
        Assert.Equal((777u, 778u, "/inside"), (bundle.Process.User.Uid, bundle.Process.User.Gid, bundle.Process.User.Home));
    }

    [Fact]
    public void An_image_without_a_command_needs_one_from_the_caller()
    {
        using var dir = new TempDir();
        var layout = new LayoutBuilder(dir["layout"]);
        layout.AddLayer(new TarBuilder().File("x", "").Build());
        layout.Finish();
        var e = Assert.Throws<ImageException>(() => ImageBundler.Create(layout.Path, "t", dir["b1"]));
        Assert.Contains("neither Entrypoint nor Cmd", e.Message);
        var b = ImageBundler.Create(layout.Path, "t", dir["b2"], new BundleOptions { Command = ["/x"] });
        Assert.Equal(["/x"], b.Process.Args);
        Assert.Equal("/", b.Process.Cwd);
        Assert.Equal(0u, b.Process.User.Uid);
        Assert.Contains("PATH=" + ImageBundler.DefaultPath, b.Process.Env);
    }

    [Fact]
    public void A_non_empty_bundle_directory_is_refused_untouched()
    {
        using var dir = new TempDir();
        var image = Configured(dir.Path, "alice");
        Directory.CreateDirectory(dir["b"]);
        File.WriteAllText(dir["b/keep"], "mine");
        var e = Assert.Throws<ImageException>(() => ImageBundler.Create(image.Layout, image.Tag, dir["b"]));
        Assert.Contains("not empty", e.Message);
        Assert.Equal("mine", File.ReadAllText(dir["b/keep"]));
    }

    /// <summary>
    /// The bundle runs under Debian's crun (cgroups off; /sys/fs/cgroup/unified unmounted in a private
    /// mount namespace, as this hybrid host needs): the derived user, groups, cwd, env and args reach the process.
    /// </summary>
    [Fact]
    public void Crun_runs_the_bundle_as_the_image_says()
    {
        using var dir = new TempDir();
        var image = new UmociImage(dir.Path).Layer("""
            mkdir -p bin etc tmp
            cp /usr/bin/busybox bin/busybox
            printf 'root:x:0:0::/root:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh\n' > etc/passwd
            printf 'wheel:x:10:bob\naudio:x:29:bob\n' > etc/group
            """).Config("--config.user", "bob", "--config.entrypoint", "/bin/busybox", "--config.cmd", "sh",
                "--config.cmd", "-c", "--config.cmd", "id; pwd; echo \"$FOO:$HOME\"; hostname",
                "--config.workingdir", "/tmp", "--config.env", "FOO=bar");
        var bundle = ImageBundler.Create(image.Layout, image.Tag, dir["bundle"], new BundleOptions { Hostname = "berth-test" });
        string id = "berth-images-" + Guid.NewGuid().ToString("N")[..8];
        var (exit, stdout, stderr) = HostRun.Tool(HostRun.Which("/usr/bin/unshare", "/bin/unshare"),
            "-m", "--propagation", "private", "/bin/sh", "-c",
            "umount /sys/fs/cgroup/unified 2>/dev/null; exec crun --cgroup-manager=disabled run --bundle \"$1\" \"$2\"",
            "sh", bundle.Path, id);
        Assert.True(exit == 0, $"crun run failed ({exit}): {stderr}{stdout}");
        Assert.Equal("uid=1001(bob) gid=1001 groups=10(wheel),29(audio)\n/tmp\nbar:/home/bob\nberth-test\n", stdout);
        Assert.False(Directory.Exists($"/run/crun/{id}"));
    }
}
