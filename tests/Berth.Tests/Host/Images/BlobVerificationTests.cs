using Berth.Runtime.Images;
using Xunit;

namespace Berth.Tests.Host.Images;

/// <summary>Every blob read is checked against its digest; a mismatch names the digest.</summary>
public class BlobVerificationTests
{
    private static (TempDir Dir, LayoutBuilder Layout, string Layer, string Config) Image()
    {
        var dir = new TempDir();
        var layout = new LayoutBuilder(dir["layout"]);
        string layer = layout.AddLayer(new TarBuilder().Dir("etc/").File("etc/hostname", "berth\n").File("big", new string('x', 100_000)).Build());
        string config = layout.Finish(containerConfig: w => w.WriteString("User", "0"));
        return (dir, layout, layer, config);
    }

    private static void FlipByte(string path, long at)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        f.Position = at;
        int b = f.ReadByte();
        f.Position = at;
        f.WriteByte((byte)(b ^ 0x55));
    }

    private static Exception Unpack(TempDir dir)
    {
        string rootfs = dir["rootfs"];
        Directory.CreateDirectory(rootfs);
        return Record.Exception(() => LayerUnpacker.UnpackImage(OciLayout.Open(dir["layout"]).Resolve("t"), rootfs))!;
    }

    [Theory]
    [InlineData(0.5)]   // inside the deflate data: gzip fails first, the digest is the reported cause
    [InlineData(0.999)] // in the gzip trailer
    public void A_corrupt_layer_blob_is_reported_by_its_digest(double where)
    {
        var (dir, layout, layer, _) = Image();
        using var _d = dir;
        string blob = layout.BlobPath(layer);
        FlipByte(blob, (long)(new FileInfo(blob).Length * where));
        var e = Assert.IsType<DigestMismatchException>(Unpack(dir));
        Assert.Equal(layer, e.Expected.ToString());
        Assert.Contains(layer, e.Message);
        Assert.Contains(blob, e.Message);
    }

    [Fact]
    public void A_corrupt_config_is_reported_by_its_digest()
    {
        var (dir, layout, _, config) = Image();
        using var _d = dir;
        FlipByte(layout.BlobPath(config), 3);
        var e = Assert.IsType<DigestMismatchException>(Record.Exception(() => OciLayout.Open(dir["layout"]).Resolve("t")));
        Assert.Equal(config, e.Expected.ToString());
        Assert.Contains(config, e.Message);
    }

    [Fact]
    public void A_corrupt_manifest_is_reported_by_its_digest()
    {
        var (dir, layout, _, _) = Image();
        using var _d = dir;
        FlipByte(layout.BlobPath(layout.LastManifestDigest!), 10);
        var e = Assert.IsType<DigestMismatchException>(Record.Exception(() => OciLayout.Open(dir["layout"]).Resolve("t")));
        Assert.Contains(layout.LastManifestDigest!, e.Message);
    }

    [Fact]
    public void A_layer_whose_tar_does_not_match_its_diff_id_is_refused()
    {
        using var dir = new TempDir();
        var layout = new LayoutBuilder(dir["layout"]);
        layout.AddLayer(new TarBuilder().File("a", "1").Build());
        string wrong = "sha256:" + new string('0', 64);
        layout.Finish(diffIds: [wrong]);
        var e = Assert.IsType<DigestMismatchException>(Unpack(dir));
        Assert.Equal(wrong, e.Expected.ToString());
        Assert.Contains("diffID", e.Message);
    }

    [Fact]
    public void A_blob_whose_size_differs_from_its_descriptor_is_refused_unread()
    {
        var (dir, layout, layer, _) = Image();
        using var _d = dir;
        File.AppendAllText(layout.BlobPath(layer), "trailing");
        var e = Assert.IsType<ImageException>(Unpack(dir));
        Assert.Contains(layer, e.Message);
        Assert.Contains("descriptor gives", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(dir["rootfs"]));
    }

    [Fact]
    public void A_missing_blob_is_named()
    {
        var (dir, layout, layer, _) = Image();
        using var _d = dir;
        File.Delete(layout.BlobPath(layer));
        var e = Assert.IsType<ImageException>(Unpack(dir));
        Assert.Contains(layer, e.Message);
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void Store_import_verifies_while_copying_and_keeps_nothing_bad()
    {
        var (dir, layout, layer, _) = Image();
        using var _d = dir;
        FlipByte(layout.BlobPath(layer), 40);
        var store = new ImageStore(dir["store"]);
        var e = Assert.IsType<DigestMismatchException>(Record.Exception(() => store.Import(OciLayout.Open(layout.Path), "t")));
        Assert.Contains(layer, e.Message);
        Assert.False(store.Layout.HasBlob(Digest.Parse(layer)));
        Assert.DoesNotContain(Directory.GetFiles(Path.Combine(store.Root, "blobs", "sha256")), f => Path.GetFileName(f).StartsWith(".tmp"));
        Assert.Empty(store.List());
    }
}
