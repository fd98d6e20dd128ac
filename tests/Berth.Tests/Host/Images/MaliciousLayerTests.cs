using Berth.Runtime.Images;
using Xunit;

namespace Berth.Tests.Host.Images;

/// <summary>
/// Layers crafted to reach outside the rootfs. The policy (LayerUnpacker's doc comment): names and
/// hard-link targets that climb out with ".." are refused naming entry and layer; symlinks are
/// contained (resolved with the rootfs as "/"). Either way nothing appears outside the rootfs.
/// The rootfs sits three levels down in a scratch directory so that "../.." lands somewhere the
/// test can look, and the host's real /etc is checked too.
/// </summary>
public class MaliciousLayerTests
{
    private sealed class Scene : IDisposable
    {
        public readonly TempDir Dir = new();
        public readonly string Rootfs;
        public readonly string Tag = Guid.NewGuid().ToString("N")[..12];
        private readonly LayoutBuilder _layout;
        public string LayerDigest = "";

        public Scene()
        {
            Rootfs = Path.Combine(Dir.Path, "a", "b", "rootfs");
            Directory.CreateDirectory(Rootfs);
            _layout = new LayoutBuilder(Dir["layout"]);
        }

        /// <summary>Unpacks a one-layer image; returns the exception, if any.</summary>
        public Exception? Unpack(Func<TarBuilder, TarBuilder> build)
        {
            LayerDigest = _layout.AddLayer(build(new TarBuilder()).Build());
            _layout.Finish();
            return Record.Exception(() => LayerUnpacker.UnpackImage(OciLayout.Open(_layout.Path).Resolve("t"), Rootfs));
        }

        public string InRootfs(string rel) => Path.Combine(Rootfs, rel);

        /// <summary>Every path in the scratch directory that is not inside the rootfs or the layout.</summary>
        public List<string> Outside()
        {
            var found = new List<string>();
            Walk(Dir.Path, found);
            return found.Where(p => !p.StartsWith(Rootfs, StringComparison.Ordinal) && !p.StartsWith(Dir["layout"], StringComparison.Ordinal)
                                    && p != Dir["a"] && p != Path.Combine(Dir.Path, "a", "b")).ToList();
        }

        /// <summary>A recursive listing that does not descend into symlinks (the rootfs has links to "/").</summary>
        private static void Walk(string dir, List<string> found)
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(dir))
            {
                found.Add(entry);
                var info = new FileInfo(entry);
                if (info.LinkTarget is null && info.Attributes.HasFlag(FileAttributes.Directory)) Walk(entry, found);
            }
        }

        public void Dispose() => Dir.Dispose();
    }

    [Fact]
    public void Dot_dot_names_are_refused_naming_entry_and_layer()
    {
        using var s = new Scene();
        string name = $"../../etc/evil-{s.Tag}";
        var e = Assert.IsType<UnsafeLayerEntryException>(s.Unpack(t => t.File("fine", "ok").File(name, "pwned")));
        Assert.Equal(name, e.Entry);
        Assert.Equal(s.LayerDigest, e.Layer);
        Assert.Contains(name, e.Message);
        Assert.Contains(s.LayerDigest, e.Message);
        Assert.Empty(s.Outside());
        Assert.False(File.Exists($"/etc/evil-{s.Tag}"));
    }

    [Fact]
    public void Dot_dot_inside_the_root_is_fine()
    {
        using var s = new Scene();
        Assert.Null(s.Unpack(t => t.Dir("a/").Dir("a/b/").File("a/b/../../c", "lexically inside")));
        Assert.Equal("lexically inside", File.ReadAllText(s.InRootfs("c")));
    }

    [Fact]
    public void Absolute_names_are_contained()
    {
        using var s = new Scene();
        Assert.Null(s.Unpack(t => t.File($"/abs-{s.Tag}/path", "inside")));
        Assert.Equal("inside", File.ReadAllText(s.InRootfs($"abs-{s.Tag}/path")));
        Assert.False(Path.Exists($"/abs-{s.Tag}"));
        Assert.Empty(s.Outside());
    }

    [Fact]
    public void A_symlinked_parent_pointing_at_slash_is_resolved_inside_the_rootfs()
    {
        using var s = new Scene();
        Assert.Null(s.Unpack(t => t
            .Symlink("evil", "/")
            .Symlink("up", "../../../../../../../..")
            .File($"evil/etc/passwd-{s.Tag}", "contained")
            .File($"up/tmp-{s.Tag}/escape", "contained too")));
        Assert.Equal("contained", File.ReadAllText(s.InRootfs($"etc/passwd-{s.Tag}")));
        Assert.Equal("contained too", File.ReadAllText(s.InRootfs($"tmp-{s.Tag}/escape")));
        Assert.False(File.Exists($"/etc/passwd-{s.Tag}"));
        Assert.False(Path.Exists($"/tmp-{s.Tag}"));
        Assert.Empty(s.Outside());
        Assert.Equal("/", new FileInfo(s.InRootfs("evil")).LinkTarget); // the link itself is kept verbatim
    }

    [Fact]
    public void A_symlinked_parent_pointing_at_a_host_directory_is_resolved_inside_the_rootfs()
    {
        using var s = new Scene();
        string host = s.Dir["host-dir"];
        Directory.CreateDirectory(host);
        Assert.Null(s.Unpack(t => t
            .Symlink("link", host)
            .Dir(host.TrimStart('/') + "/")         // the same path inside the rootfs exists...
            .File("link/written", "through a link"))); // ...so this lands in it
        Assert.Empty(Directory.GetFileSystemEntries(host));
        Assert.Equal("through a link", File.ReadAllText(s.InRootfs(host.TrimStart('/') + "/written")));
    }

    [Fact]
    public void Writing_through_an_absolute_symlink_to_nowhere_inside_the_rootfs_is_refused()
    {
        using var s = new Scene();
        string host = s.Dir["host-dir"];
        Directory.CreateDirectory(host);
        var e = s.Unpack(t => t.Symlink("link", host).File("link/written", "through a link"));
        Assert.IsType<ImageException>(e);
        Assert.Contains("link/written", e!.Message);
        Assert.Contains(s.LayerDigest, e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(host));
    }

    [Fact]
    public void An_existing_symlink_is_replaced_not_written_through()
    {
        using var s = new Scene();
        string hostFile = s.Dir["host-file"];
        File.WriteAllText(hostFile, "original");
        Assert.Null(s.Unpack(t => t.Symlink("victim", hostFile).File("victim", "replaced the link")));
        Assert.Equal("original", File.ReadAllText(hostFile));
        Assert.Equal("replaced the link", File.ReadAllText(s.InRootfs("victim")));
        Assert.Null(new FileInfo(s.InRootfs("victim")).LinkTarget);
    }

    [Fact]
    public void A_hard_link_out_with_dot_dot_is_refused()
    {
        using var s = new Scene();
        var before = LinkCount.Of("/etc/shadow");
        var e = Assert.IsType<UnsafeLayerEntryException>(s.Unpack(t => t.HardLink("stolen", "../../../etc/shadow")));
        Assert.Equal("stolen", e.Entry);
        Assert.Contains("../../../etc/shadow", e.Message);
        Assert.False(Path.Exists(s.InRootfs("stolen")));
        Assert.Equal(before, LinkCount.Of("/etc/shadow"));
        Assert.Empty(s.Outside());
    }

    [Fact]
    public void A_hard_link_through_a_symlinked_parent_is_resolved_inside_the_rootfs()
    {
        using var s = new Scene();
        var before = LinkCount.Of("/etc/shadow");
        var e = s.Unpack(t => t.Symlink("root", "/").HardLink("stolen", "root/etc/shadow"));
        Assert.IsType<ImageException>(e); // rootfs/etc/shadow does not exist
        Assert.Contains("does not exist", e!.Message);
        Assert.Contains("root/etc/shadow", e.Message);
        Assert.False(Path.Exists(s.InRootfs("stolen")));
        Assert.Equal(before, LinkCount.Of("/etc/shadow"));
    }

    [Fact]
    public void A_hard_link_to_a_symlink_links_the_symlink_itself()
    {
        using var s = new Scene();
        string hostFile = s.Dir["host-file"];
        File.WriteAllText(hostFile, "x");
        Assert.Null(s.Unpack(t => t.Symlink("abs", hostFile).HardLink("second", "abs")));
        Assert.Equal(hostFile, new FileInfo(s.InRootfs("second")).LinkTarget);
        Assert.Equal(1UL, LinkCount.Of(hostFile));
    }

    [Fact]
    public void Whiteouts_through_symlinks_delete_only_inside_the_rootfs()
    {
        using var s = new Scene();
        string host = s.Dir["host-dir"];
        Directory.CreateDirectory(host);
        File.WriteAllText(Path.Combine(host, "precious"), "keep");
        var e = s.Unpack(t => t.Symlink("link", host).File("link/.wh.precious", "").File("ok", "ok"));
        Assert.Null(e);
        Assert.True(File.Exists(Path.Combine(host, "precious")));
    }

    [Theory]
    [InlineData(".wh..")]
    [InlineData("dir/.wh...")]
    public void Whiteouts_of_dot_and_dot_dot_are_refused(string name)
    {
        using var s = new Scene();
        var e = Assert.IsType<UnsafeLayerEntryException>(s.Unpack(t => t.Dir("dir/").File(name, "")));
        Assert.Equal(name, e.Entry);
        Assert.True(Directory.Exists(s.Rootfs));
    }

    [Fact]
    public void A_bundle_from_a_malicious_image_leaves_nothing_behind()
    {
        using var s = new Scene();
        s.Unpack(t => t.File("fine", "ok").File("../../../x", "no"));
        string bundle = s.Dir["bundle"];
        Assert.Throws<UnsafeLayerEntryException>(() => ImageBundler.Create(s.Dir["layout"], "t", bundle));
        Assert.False(Path.Exists(bundle));
    }
}

internal static class LinkCount
{
    /// <summary>The hard-link count of a file (to prove no link to it was made).</summary>
    public static ulong Of(string path)
    {
        Assert.True(Berth.Runtime.Interop.LibC.LStat(path, out var st) == 0, $"lstat {path}");
        return st.NLink;
    }
}
