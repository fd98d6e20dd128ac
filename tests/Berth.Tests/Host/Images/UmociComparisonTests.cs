using Berth.Runtime.Images;
using Xunit;

namespace Berth.Tests.Host.Images;

/// <summary>Berth's unpack of umoci-made images against umoci's own unpack of the same image.</summary>
public class UmociComparisonTests
{
    /// <summary>A rootfs with every kind of member and metadata a layer can carry.</summary>
    internal const string RichRootfs = """
        mkdir -p etc usr/bin data/deep/er/dir empty-0700 ro-0555 tmp nodes home/alice
        printf 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000:Alice:/home/alice:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh\n' > etc/passwd
        printf 'root:x:0:\nalice:x:1000:\nbob:x:1001:\nwheel:x:10:alice,bob\naudio:x:29:alice\n' > etc/group
        echo hello > data/hello.txt
        head -c 3000000 /dev/urandom > data/big.bin
        : > data/empty
        printf 'spaces' > 'data/with space & ünïcode.txt'
        long=data/$(printf 'd%.0s' $(seq 1 120))/$(printf 'f%.0s' $(seq 1 150))
        mkdir -p "$(dirname "$long")" && echo long > "$long"
        ln -s /etc/passwd etc/abs-link
        ln -s ../data/hello.txt etc/rel-link
        ln -s /nonexistent/target dangling
        ln data/hello.txt data/hardlink.txt
        ln data/hello.txt data/deep/second-hardlink
        mknod nodes/null c 1 3
        mknod nodes/loop7 b 7 0
        mknod nodes/big c 300 70000
        mkfifo nodes/fifo
        cp /bin/true usr/bin/suid && chmod 4755 usr/bin/suid
        cp /bin/true usr/bin/sgid && chmod 2711 usr/bin/sgid
        cp /bin/true usr/bin/capped && setcap cap_net_raw+ep usr/bin/capped
        chmod 1777 tmp
        chmod 0700 empty-0700
        chown 1000:1000 data/hello.txt home/alice
        chown -h 1234:5678 etc/rel-link
        chown 4000000000:4000000001 data/empty
        python3 -c 'import os,sys; os.setxattr("data/big.bin","user.comment",b"text value"); os.setxattr("data/deep","user.bin",bytes([0,1,2,255,254,0])); os.setxattr("home/alice","user.who",b"alice")'
        touch -d '2001-02-03 04:05:06.123456789' data/hello.txt
        touch -h -d '1999-12-31 23:59:59' etc/abs-link
        touch -d '2010-10-10 10:10:10' data/deep/er/dir data/deep/er
        chmod 0555 ro-0555
        """;

    [Fact]
    public void Rich_single_layer_matches_umoci_unpack()
    {
        using var dir = new TempDir();
        var image = new UmociImage(dir.Path).Layer(RichRootfs);
        string reference = image.UmociUnpack("umoci");

        string mine = dir["mine"];
        Directory.CreateDirectory(mine);
        var warnings = LayerUnpacker.UnpackImage(OciLayout.Open(image.Layout).Resolve(image.Tag), mine);

        Assert.Empty(warnings);
        var expected = TreeSnapshot.Take(Path.Combine(reference, "rootfs"));
        Assert.Contains(expected, e => e.Value.Contains("xattr:security.capability=")); // umoci kept the binary xattr
        TreeSnapshot.AssertSame(expected, TreeSnapshot.Take(mine), "berth vs umoci unpack");
    }
}

/// <summary>Whiteouts (umoci repack after deletions) and opaque directories (a raw layer), applied and as overlay layers.</summary>
public class WhiteoutTests
{
    internal const string Deletions = """
        rm data/hello.txt
        rm -r data/deep
        rm etc/abs-link
        rm -r empty-0700 && mkdir empty-0700 && echo x > empty-0700/x
        echo new > data/new.txt
        """;

    /// <summary>usr/bin made opaque: only what this layer puts there survives; plus a whiteout of something absent.</summary>
    internal static byte[] OpaqueLayer() => new TarBuilder()
        .Dir("usr/")
        .Dir("usr/bin/", 0x1ed)
        .File("usr/bin/.wh..wh..opq", "")
        .File("usr/bin/only", "the only file left\n", 0x1ed)
        .File(".wh.never-existed", "")
        .Dir("nodes/")
        .File("nodes/.wh.fifo", "")
        .File("home/alice/.wh.nothing-here", "") // no members for home/ and home/alice/ (as umoci writes
        .File("ro-0555/.wh.gone", "")            // when a deletion left the directory's mtime second unchanged)
        .Build();

    internal static UmociImage ThreeLayers(string work) =>
        new UmociImage(work).Layer(UmociComparisonTests.RichRootfs).Layer(Deletions).RawLayer(OpaqueLayer());

    [Fact]
    public void Whiteouts_and_opaque_directories_match_umoci_unpack()
    {
        using var dir = new TempDir();
        var image = ThreeLayers(dir.Path);
        // umoci really wrote whiteouts for the deletions (layer 2).
        var resolved = OciLayout.Open(image.Layout).Resolve(image.Tag);
        Assert.Contains(".wh.hello.txt", LayerMemberNames(image.Layout, resolved.Layers[1]));
        string reference = Path.Combine(image.UmociUnpack("umoci"), "rootfs");
        string mine = dir["mine"];
        Directory.CreateDirectory(mine);
        LayerUnpacker.UnpackImage(OciLayout.Open(image.Layout).Resolve(image.Tag), mine);

        // The deletions really happened (so the comparison is not vacuous)...
        foreach (var gone in new[] { "data/hello.txt", "data/deep", "etc/abs-link", "usr/bin/suid", "nodes/fifo" })
            Assert.False(Path.Exists(Path.Combine(mine, gone)), gone);
        Assert.Equal(["only"], Directory.GetFileSystemEntries(Path.Combine(mine, "usr/bin")).Select(Path.GetFileName));
        Assert.True(File.Exists(Path.Combine(mine, "data/hardlink.txt"))); // the other name of a deleted hard link stays
        Assert.Equal("x\n", File.ReadAllText(Path.Combine(mine, "empty-0700/x")));
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(mine, "*", SearchOption.AllDirectories), p => Path.GetFileName(p).StartsWith(".wh."));

        // ...and the result is umoci's.
        TreeSnapshot.AssertSame(TreeSnapshot.Take(reference), TreeSnapshot.Take(mine), "berth vs umoci unpack");
    }

    internal static List<string> LayerMemberNames(string layout, Descriptor layer)
    {
        using var file = File.OpenRead(Path.Combine(layout, "blobs", "sha256", layer.Digest.Hex));
        using var gz = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionMode.Decompress);
        using var tar = new System.Formats.Tar.TarReader(gz);
        var names = new List<string>();
        while (tar.GetNextEntry() is { } e) names.Add(Path.GetFileName(e.Name.TrimEnd('/')));
        return names;
    }

    [Fact]
    public void A_whiteout_does_not_delete_what_its_own_layer_created()
    {
        using var dir = new TempDir();
        var layout = new LayoutBuilder(dir["layout"]);
        layout.AddLayer(new TarBuilder().File("a/lower", "1").File("keep", "k").Build());
        layout.AddLayer(new TarBuilder()
            .File("same", "created here")
            .File(".wh.same", "")          // after its sibling: applies to lower layers only
            .File(".wh.keep", "")          // deletes the lower file
            .File("keep", "recreated")     // and the same layer puts a new one there
            .Dir("a/")
            .File("a/upper", "2")
            .File("a/.wh..wh..opq", "")   // after a/upper: still keeps a/upper, hides a/lower
            .Build());
        layout.Finish();
        string rootfs = dir["rootfs"];
        Directory.CreateDirectory(rootfs);
        LayerUnpacker.UnpackImage(OciLayout.Open(layout.Path).Resolve("t"), rootfs);

        Assert.Equal("created here", File.ReadAllText(Path.Combine(rootfs, "same")));
        Assert.Equal("recreated", File.ReadAllText(Path.Combine(rootfs, "keep")));
        Assert.Equal(["upper"], Directory.GetFileSystemEntries(Path.Combine(rootfs, "a")).Select(Path.GetFileName));
    }

    /// <summary>Members below an implicit directory (no member of its own) are this layer's too.</summary>
    [Fact]
    public void Opaque_and_whiteout_keep_the_layers_own_members_below_implicit_directories()
    {
        using var dir = new TempDir();
        var layout = new LayoutBuilder(dir["layout"]);
        layout.AddLayer(new TarBuilder().File("a/x/old", "1").File("a/z", "2").File("b/c/old", "3").File("b/d", "4").Build());
        layout.AddLayer(new TarBuilder()
            .File("a/x/y", "new")              // a/ and a/x/ have no members in this layer
            .File("a/.wh..wh..opq", "")
            .File("b/c/new", "new")
            .File(".wh.b", "")                 // a whiteout of b, whose b/c/new this layer wrote
            .Build());
        layout.Finish();
        string rootfs = dir["rootfs"];
        Directory.CreateDirectory(rootfs);
        LayerUnpacker.UnpackImage(OciLayout.Open(layout.Path).Resolve("t"), rootfs);

        string Tree(string d) => string.Join(' ', Directory.EnumerateFileSystemEntries(Path.Combine(rootfs, d), "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(rootfs, p)).Order());
        Assert.Equal("a/x a/x/y", Tree("a"));
        Assert.Equal("b/c b/c/new", Tree("b"));

        // The overlay form hides the same lower content.
        var store = new ImageStore(dir["store"]);
        var stack = store.UnpackLayers(store.Import(OciLayout.Open(layout.Path), "t"));
        Assert.Equal("y"u8.ToArray(), Xattr.Get(Path.Combine(stack.Layers[1], "a"), WhiteoutRules.OverlayOpaqueXattr));
        Assert.Equal("y"u8.ToArray(), Xattr.Get(Path.Combine(stack.Layers[1], "b"), WhiteoutRules.OverlayOpaqueXattr));
        Assert.True(File.Exists(Path.Combine(stack.Layers[1], "b/c/new")));
    }
}
