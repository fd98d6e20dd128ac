using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using Berth.Runtime.Images;
using Xunit;

namespace Berth.Tests.Host.Images;

public class DockerArchiveTests
{
    [Fact]
    public void Skopeo_docker_archive_imports_to_the_same_rootfs_as_umoci_unpack()
    {
        using var dir = new TempDir();
        var image = new UmociImage(dir.Path).Layer(UmociComparisonTests.RichRootfs).Layer(WhiteoutTests.Deletions)
            .Config("--config.entrypoint", "/bin/sh", "--config.cmd", "-c", "--config.cmd", "echo hi");
        string archive = dir["image.tar"];
        Tools.Skopeo("copy", $"oci:{image.Layout}:{image.Tag}", $"docker-archive:{archive}:berth/test:1");

        var store = new ImageStore(dir["store"]);
        var imported = Assert.Single(store.ImportDockerArchive(archive));
        Assert.Equal("docker.io/berth/test:1", imported.Name);
        Assert.Equal(["/bin/sh"], imported.Config.Entrypoint);
        Assert.Equal(["-c", "echo hi"], imported.Config.Cmd);
        Assert.Equal(2, imported.Layers.Count);
        Assert.All(imported.Layers, l => Assert.Equal(MediaTypes.OciLayer, l.MediaType)); // docker-archive layers are plain tar

        string mine = dir["mine"];
        Directory.CreateDirectory(mine);
        LayerUnpacker.UnpackImage(store.Resolve("docker.io/berth/test:1"), mine);
        string reference = Path.Combine(image.UmociUnpack("umoci"), "rootfs");
        TreeSnapshot.AssertSame(TreeSnapshot.Take(reference), TreeSnapshot.Take(mine), "docker-archive import vs umoci unpack");
    }

    /// <summary>
    /// An archive as old Docker wrote it, made by hand: two images sharing a layer, the second
    /// reaching it through a symlinked layer.tar, a gzip-compressed layer, and manifest.json last.
    /// </summary>
    [Fact]
    public void Hand_made_archive_with_shared_symlinked_and_gzip_layers()
    {
        using var dir = new TempDir();
        byte[] baseLayer = new TarBuilder().Dir("etc/").File("etc/os-release", "ID=berth\n").Build();
        byte[] topLayer = new TarBuilder().File("etc/.wh.os-release", "").File("app", "#!/bin/sh\n", 0x1ed).Build();
        byte[] topGzip = LayoutBuilder.Gzip(topLayer);
        string baseId = Hex(baseLayer), topId = Hex(topLayer);

        byte[] Config(params string[] diffIds) => LayoutBuilder.Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("architecture", "amd64");
            w.WriteString("os", "linux");
            w.WriteStartObject("config");
            w.WriteStartArray("Cmd"); w.WriteStringValue("/app"); w.WriteEndArray();
            w.WriteStartArray("Env"); w.WriteStringValue("A=1"); w.WriteEndArray();
            w.WriteEndObject();
            w.WriteStartObject("rootfs");
            w.WriteString("type", "layers");
            w.WriteStartArray("diff_ids");
            foreach (var d in diffIds) w.WriteStringValue("sha256:" + d);
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        });
        byte[] configA = Config(baseId), configB = Config(baseId, topId);
        byte[] manifest = Encoding.UTF8.GetBytes($$"""
            [{"Config":"{{Hex(configA)}}.json","RepoTags":["base:1"],"Layers":["L1/layer.tar"]},
             {"Config":"{{Hex(configB)}}.json","RepoTags":["app:1","app:latest"],"Layers":["L2/layer.tar","L3/layer.tar"]}]
            """);

        string archive = dir["old.tar"];
        using (var file = File.Create(archive))
        using (var tar = new TarWriter(file, TarEntryFormat.Ustar))
        {
            void Add(string name, byte[] data) => tar.WriteEntry(new UstarTarEntry(System.Formats.Tar.TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
            tar.WriteEntry(new UstarTarEntry(System.Formats.Tar.TarEntryType.Directory, "L1/"));
            Add("L1/layer.tar", baseLayer);
            tar.WriteEntry(new UstarTarEntry(System.Formats.Tar.TarEntryType.SymbolicLink, "L2/layer.tar") { LinkName = "../L1/layer.tar" });
            Add("L3/layer.tar", topGzip);
            Add($"{Hex(configA)}.json", configA);
            Add($"{Hex(configB)}.json", configB);
            Add("manifest.json", manifest);
        }

        var store = new ImageStore(dir["store"]);
        var images = store.ImportDockerArchive(archive);
        Assert.Equal(["base:1", "app:1"], images.Select(i => i.Name));
        Assert.Equal(["app:1", "app:latest", "base:1"], store.List().Select(i => i.Name).Order());

        var app = store.Resolve("app:latest");
        Assert.Equal(MediaTypes.OciLayerGzip, app.Layers[1].MediaType);
        Assert.Equal(store.Resolve("base:1").Layers[0].Digest, app.Layers[0].Digest); // stored once

        string rootfs = dir["rootfs"];
        Directory.CreateDirectory(rootfs);
        LayerUnpacker.UnpackImage(app, rootfs);
        Assert.False(File.Exists(Path.Combine(rootfs, "etc/os-release")));
        Assert.Equal("#!/bin/sh\n", File.ReadAllText(Path.Combine(rootfs, "app")));

        var bundle = ImageBundler.Create(store.Resolve("base:1"), dir["bundle"]);
        Assert.Equal(["/app"], bundle.Process.Args);
        Assert.Contains("A=1", bundle.Process.Env);
    }

    [Fact]
    public void Archive_errors_name_the_archive_and_the_member()
    {
        using var dir = new TempDir();
        string archive = dir["broken.tar"];
        using (var file = File.Create(archive))
        using (var tar = new TarWriter(file, TarEntryFormat.Pax))
            tar.WriteEntry(new PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "manifest.json")
            { DataStream = new MemoryStream("""[{"Config":"missing.json","Layers":[]}]"""u8.ToArray()) });
        var store = new ImageStore(dir["store"]);
        var e = Assert.Throws<ImageException>(() => store.ImportDockerArchive(archive));
        Assert.Contains(archive, e.Message);
        Assert.Contains("missing.json", e.Message);

        using (var file = File.Create(archive))
        using (var tar = new TarWriter(file, TarEntryFormat.Pax))
            tar.WriteEntry(new PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "manifest.json")
            { DataStream = new MemoryStream("""[{"Config":7}]"""u8.ToArray()) });
        e = Assert.Throws<ImageException>(() => store.ImportDockerArchive(archive));
        Assert.Contains($"{archive}:manifest.json: $[0].Config: expected a string", e.Message);
    }

    private static string Hex(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));
}
