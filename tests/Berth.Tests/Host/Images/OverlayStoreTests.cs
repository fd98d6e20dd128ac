using Berth.Runtime.Images;
using Berth.Runtime.Linux;
using Xunit;

namespace Berth.Tests.Host.Images;

/// <summary>The image store: import, layers unpacked once in overlay form, stacked with overlayfs in a private mount namespace.</summary>
public class OverlayStoreTests
{
    /// <summary>find's view of a tree (type, mode, owner, link target, mtime) plus every regular file's sha256.</summary>
    private const string Listing = """
        cd "$1"
        find . -mindepth 1 -printf '%p|%y|%m|%U|%G|%l|%T@\n' | LC_ALL=C sort
        find . -type f -exec sha256sum {} + | LC_ALL=C sort
        """;

    [Fact]
    public void Cached_layers_stacked_with_overlayfs_show_the_same_tree_as_a_flat_unpack()
    {
        using var dir = new TempDir();
        var image = WhiteoutTests.ThreeLayers(dir.Path);
        var store = new ImageStore(dir["store"]);
        var imported = store.Import(OciLayout.Open(image.Layout), image.Tag, "berth/test:3");
        var stack = store.UnpackLayers(imported);

        Assert.Equal(3, stack.Layers.Count);
        Assert.Equal(ImageStore.ChainIds(imported.Config.DiffIds).Select(store.LayerPath), stack.Layers);
        // Directories the top layer changes without a member of their own inherit the lower ones' attributes.
        var alice = new FileInfo(Path.Combine(stack.Layers[2], "home/alice"));
        Assert.Equal("alice", System.Text.Encoding.UTF8.GetString(Xattr.Get(alice.FullName, "user.who")!));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute
            | UnixFileMode.OtherRead | UnixFileMode.OtherExecute, File.GetUnixFileMode(Path.Combine(stack.Layers[2], "ro-0555")));
        // Overlay form: deletions as 0:0 character devices, the opaque directory as an xattr.
        var whiteout = Files.LStat(Path.Combine(stack.Layers[1], "data/hello.txt"));
        Assert.Equal(Berth.Runtime.Interop.Consts.S_IFCHR, whiteout.Mode & Berth.Runtime.Interop.Consts.S_IFMT);
        Assert.Equal(0UL, whiteout.RDev);
        Assert.Equal("y"u8.ToArray(), Xattr.Get(Path.Combine(stack.Layers[2], "usr/bin"), "trusted.overlay.opaque"));
        Assert.False(File.Exists(Path.Combine(stack.Layers[2], "usr/bin/.wh..wh..opq")));

        string flat = dir["flat"];
        Directory.CreateDirectory(flat);
        LayerUnpacker.UnpackImage(imported, flat);
        string expected = Tools.Sh(Listing, flat);

        string target = dir["merged"];
        Directory.CreateDirectory(target);
        string options = stack.MountOptions();
        Assert.StartsWith("lowerdir=" + stack.Layers[2] + ":" + stack.Layers[1] + ":", options); // top first
        var (exit, merged, stderr) = HostRun.Tool(HostRun.Which("/usr/bin/unshare", "/bin/unshare"),
            "-m", "--propagation", "private", "/bin/sh", "-ec",
            "mount -t overlay overlay -o \"$1\" \"$2\"\n" + Listing.Replace("$1", "$2"), "sh", options, target);
        Assert.True(exit == 0, $"overlay mount in a private namespace failed ({exit}): {stderr}");

        Assert.Equal(expected, merged);
        Assert.Contains("./usr/bin/only|f|755", merged);
        Assert.DoesNotContain(Mounts.Table(), m => m.MountPoint.StartsWith(dir.Path, StringComparison.Ordinal));
    }

    [Fact]
    public void Layers_are_unpacked_once_and_shared()
    {
        using var dir = new TempDir();
        var image = new UmociImage(dir.Path).Layer("echo one > one").Layer("echo two > two", newTag: "two");
        var store = new ImageStore(dir["store"]);
        var layout = OciLayout.Open(image.Layout);
        var first = store.UnpackLayers(store.Import(layout, "two", "b"));
        File.WriteAllText(Path.Combine(first.Layers[0], "marker"), "unpacked before");

        var second = store.UnpackLayers(store.Import(layout, "t", "a")); // "t" is the one-layer image
        Assert.Single(second.Layers);
        Assert.Equal(first.Layers[0], second.Layers[0]);
        Assert.True(File.Exists(Path.Combine(second.Layers[0], "marker")));
        Assert.Empty(Directory.GetDirectories(Path.GetDirectoryName(first.Layers[0])!, ".tmp-*"));
        Assert.Equal(["a", "b"], store.List().Select(i => i.Name).Order());
    }

    [Fact]
    public void The_store_is_an_oci_layout_that_umoci_reads()
    {
        using var dir = new TempDir();
        var image = new UmociImage(dir.Path).Layer(UmociComparisonTests.RichRootfs);
        var store = new ImageStore(dir["store"]);
        store.Import(OciLayout.Open(image.Layout), image.Tag, "copy");
        Assert.True(store.Untag("nothing-by-that-name") is false);

        string bundle = dir["from-store"];
        Tools.Umoci("unpack", "--image", $"{store.Root}:copy", bundle);
        string original = image.UmociUnpack("original");
        TreeSnapshot.AssertSame(TreeSnapshot.Take(Path.Combine(original, "rootfs")),
            TreeSnapshot.Take(Path.Combine(bundle, "rootfs")), "umoci unpack of the store vs of the source");
    }

    [Fact]
    public void A_layer_that_fails_to_unpack_leaves_no_cache_entry()
    {
        using var dir = new TempDir();
        var layout = new LayoutBuilder(dir["layout"]);
        layout.AddLayer(new TarBuilder().File("ok", "fine").File("../escape", "x").Build());
        layout.Finish();
        var store = new ImageStore(dir["store"]);
        var image = store.Import(OciLayout.Open(layout.Path), "t");
        Assert.Throws<UnsafeLayerEntryException>(() => store.UnpackLayers(image));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(store.Root, "layers", "sha256")));
    }
}
