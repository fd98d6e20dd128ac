using System.Text;
using Berth.Runtime.Images;
using Berth.Tests.Host;
using Xunit;

namespace Berth.Tests.Unit.Images;

/// <summary>Index, manifest and config parsing; every complaint names the file and the JSON path.</summary>
public class ImageJsonTests
{
    private static byte[] J(string s) => Encoding.UTF8.GetBytes(s);

    private const string Sha = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    [Fact]
    public void Config_fields_null_versus_absent_and_the_set_shaped_objects()
    {
        var c = ImageConfig.Parse(J($$$"""
            {"architecture":"amd64","os":"linux","config":{"User":"1:2","Env":["A=1","B"],"Entrypoint":null,"Cmd":[],
             "WorkingDir":"/w","Labels":{"l":"v"},"ExposedPorts":{"80/tcp":{},"53/udp":{}},"Volumes":{"/data":{}},"StopSignal":"SIGINT"},
             "rootfs":{"type":"layers","diff_ids":["{{{Sha}}}"]},"history":[{"created_by":"x"}]}
            """), "cfg");
        Assert.Equal(new Platform("linux", "amd64"), c.Platform);
        Assert.Equal("1:2", c.User);
        Assert.Equal(["A=1", "B"], c.Env);
        Assert.Null(c.Entrypoint);
        Assert.Equal([], c.Cmd);
        Assert.Equal("/w", c.WorkingDir);
        Assert.Equal("v", c.Labels["l"]);
        Assert.Equal(["80/tcp", "53/udp"], c.ExposedPorts);
        Assert.Equal(["/data"], c.Volumes);
        Assert.Equal("SIGINT", c.StopSignal);
        Assert.Equal([Digest.Parse(Sha)], c.DiffIds);

        var bare = ImageConfig.Parse(J("""{"architecture":"arm64","variant":"v8","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"""), "cfg");
        Assert.Null(bare.Cmd);
        Assert.Equal(new Platform("linux", "arm64", "v8"), bare.Platform);
    }

    [Theory]
    [InlineData("""{"os":"linux","rootfs":{"type":"layers"}}""", "cfg: $.architecture: required but missing")]
    [InlineData("""{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:xyz"]}}""", "cfg: $.rootfs.diff_ids[0]: \"sha256:xyz\" is not a sha256 digest")]
    [InlineData("""{"architecture":"amd64","os":"linux","config":{"Env":"A=1"},"rootfs":{"type":"layers"}}""", "cfg: $.config.Env: expected an array, found a string")]
    [InlineData("""{"architecture":"amd64","os":"linux","config":{"Cmd":["a",1]},"rootfs":{"type":"layers"}}""", "cfg: $.config.Cmd[1]: expected a string, found a number")]
    [InlineData("""{"architecture":"amd64","os":"linux","rootfs":{"type":"snapshot"}}""", "cfg: $.rootfs.type: rootfs type \"snapshot\" is not supported")]
    [InlineData("""{"architecture":"amd64",""", "cfg: invalid JSON")]
    [InlineData("""[]""", "cfg: $: expected an object, found an array")]
    public void Config_errors_name_file_and_path(string json, string message)
    {
        Assert.StartsWith(message, Assert.Throws<ImageException>(() => ImageConfig.Parse(J(json), "cfg")).Message);
    }

    [Fact]
    public void Manifests_of_both_families_and_what_is_refused()
    {
        string layer(string mt) => $$$"""{"mediaType":"{{{mt}}}","digest":"{{{Sha}}}","size":1}""";
        var docker = ImageManifest.Parse(J($$$"""
            {"schemaVersion":2,"mediaType":"{{{MediaTypes.DockerManifest}}}",
             "config":{"mediaType":"{{{MediaTypes.DockerConfig}}}","digest":"{{{Sha}}}","size":5},
             "layers":[{{{layer(MediaTypes.DockerLayerGzip)}}},{{{layer(MediaTypes.OciLayerZstd)}}}]}
            """), "m", MediaTypes.DockerManifest);
        Assert.Equal(2, docker.Layers.Count);

        var oci = ImageManifest.Parse(J($$$"""{"schemaVersion":2,"config":{"mediaType":"{{{MediaTypes.OciConfig}}}","digest":"{{{Sha}}}","size":5},"layers":[]}"""),
            "m", MediaTypes.OciManifest);
        Assert.Equal(MediaTypes.OciManifest, oci.MediaType); // OCI may leave mediaType out of the manifest

        var e = Assert.Throws<ImageException>(() => ImageManifest.Parse(J("""{"schemaVersion":1}"""), "m", MediaTypes.DockerManifest));
        Assert.Contains("m: $.schemaVersion: schemaVersion 1 is not supported", e.Message);
        e = Assert.Throws<ImageException>(() => ImageManifest.Parse(J($$$"""{"schemaVersion":2,"config":{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"{{{Sha}}}","size":5},"layers":[]}"""), "m", MediaTypes.OciManifest));
        Assert.Contains("m: $.config.mediaType:", e.Message);
        Assert.Contains("artifact", e.Message);
        e = Assert.Throws<ImageException>(() => ImageManifest.Parse(J($$$"""{"schemaVersion":2,"config":{"mediaType":"{{{MediaTypes.OciConfig}}}","digest":"{{{Sha}}}","size":5},"layers":[{{{layer("text/plain")}}}]}"""), "m", MediaTypes.OciManifest));
        Assert.Contains("m: $.layers[0].mediaType: \"text/plain\"", e.Message);
        e = Assert.Throws<ImageException>(() => ImageManifest.Parse(J($$$"""{"schemaVersion":2,"config":{"mediaType":"{{{MediaTypes.OciConfig}}}","digest":"{{{Sha}}}","size":-5},"layers":[]}"""), "m", MediaTypes.OciManifest));
        Assert.Contains("m: $.config.size: negative size", e.Message);
    }

    /// <summary>Writes a layout with an image index of two platforms plus a second tagged manifest.</summary>
    private static (TempDir Dir, string Amd, string Arm) MultiPlatformLayout()
    {
        var dir = new TempDir();
        var root = dir.Path;
        Directory.CreateDirectory(Path.Combine(root, "blobs/sha256"));
        File.WriteAllText(Path.Combine(root, "oci-layout"), """{"imageLayoutVersion":"1.0.0"}""");
        string Put(string text)
        {
            var bytes = J(text);
            var d = Digest.Of(bytes);
            File.WriteAllBytes(Path.Combine(root, "blobs/sha256", d.Hex), bytes);
            return $$$"""{"digest":"{{{d}}}","size":{{{bytes.Length}}}""";
        }
        string Image(string arch)
        {
            string config = Put($$$"""{"architecture":"{{{arch}}}","os":"linux","config":{"Cmd":["{{{arch}}}"]},"rootfs":{"type":"layers","diff_ids":[]}}""");
            return Put($$$"""{"schemaVersion":2,"mediaType":"{{{MediaTypes.OciManifest}}}","config":{"mediaType":"{{{MediaTypes.OciConfig}}}",{{{config[1..]}}} },"layers":[]}""");
        }
        string amd = Image("amd64"), arm = Image("arm64");
        string index = Put($$$"""
            {"schemaVersion":2,"mediaType":"{{{MediaTypes.OciIndex}}}","manifests":[
              {"mediaType":"{{{MediaTypes.OciManifest}}}",{{{arm[1..]}}},"platform":{"os":"linux","architecture":"arm64"}},
              {"mediaType":"{{{MediaTypes.OciManifest}}}",{{{amd[1..]}}},"platform":{"os":"linux","architecture":"amd64"}}]}
            """);
        File.WriteAllText(Path.Combine(root, "index.json"), $$$"""
            {"schemaVersion":2,"manifests":[
              {"mediaType":"{{{MediaTypes.OciIndex}}}",{{{index[1..]}}},"annotations":{"org.opencontainers.image.ref.name":"multi"}},
              {"mediaType":"{{{MediaTypes.OciManifest}}}",{{{arm[1..]}}},"annotations":{"io.containerd.image.name":"docker.io/library/x:arm"}}]}
            """);
        return (dir, amd, arm);
    }

    [Fact]
    public void An_image_index_is_narrowed_to_the_platform()
    {
        var (dir, _, _) = MultiPlatformLayout();
        using var _d = dir;
        var layout = OciLayout.Open(dir.Path);
        Assert.Equal(["amd64"], layout.Resolve("multi", new Platform("linux", "amd64")).Config.Cmd);
        Assert.Equal(["arm64"], layout.Resolve("multi", new Platform("linux", "arm64")).Config.Cmd);
        var e = Assert.Throws<ImageException>(() => layout.Resolve("multi", new Platform("linux", "s390x")));
        Assert.Contains("has no manifest for linux/s390x (it has: linux/arm64, linux/amd64)", e.Message);
        // Found by containerd's name annotation, but it is not for this machine.
        e = Assert.Throws<ImageException>(() => layout.Resolve("docker.io/library/x:arm", new Platform("linux", "amd64")));
        Assert.Contains("is for linux/arm64, not linux/amd64", e.Message);
    }

    [Fact]
    public void Reference_errors_list_the_names_there_are()
    {
        var (dir, _, _) = MultiPlatformLayout();
        using var _d = dir;
        var layout = OciLayout.Open(dir.Path);
        var e = Assert.Throws<ImageException>(() => layout.Resolve(null));
        Assert.Contains("lists 2 manifests; name one of: multi", e.Message);
        e = Assert.Throws<ImageException>(() => layout.Resolve("latest"));
        Assert.Contains($"{dir.Path}/index.json: no manifest is named \"latest\" (names: multi)", e.Message);
    }

    [Fact]
    public void Layout_file_errors_name_the_file()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<ImageException>(() => OciLayout.Open(dir.Path));
        Assert.Contains($"{dir.Path}/oci-layout does not exist", e.Message);
        File.WriteAllText(dir["oci-layout"], """{"imageLayoutVersion":"2.0.0"}""");
        e = Assert.Throws<ImageException>(() => OciLayout.Open(dir.Path));
        Assert.Contains($"{dir.Path}/oci-layout: $.imageLayoutVersion: layout version \"2.0.0\" is not supported", e.Message);
        File.WriteAllText(dir["oci-layout"], """{"imageLayoutVersion":"1.0.0"}""");
        File.WriteAllText(dir["index.json"], """{"schemaVersion":2,"manifests":[{"mediaType":"x","digest":7,"size":1}]}""");
        e = Assert.Throws<ImageException>(() => OciLayout.Open(dir.Path).Resolve(null));
        Assert.Equal($"{dir.Path}/index.json: $.manifests[0].digest: expected a string, found a number", e.Message);
        File.WriteAllText(dir["index.json"], """{"schemaVersion":2,"manifests":[}""");
        e = Assert.Throws<ImageException>(() => OciLayout.Open(dir.Path).Resolve(null));
        Assert.StartsWith($"{dir.Path}/index.json: invalid JSON:", e.Message);
    }
}
