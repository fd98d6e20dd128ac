using System.IO.Compression;
using System.Text.Json;
using Berth.Runtime.Images;
using Xunit;

namespace Berth.Tests.Unit.Images;

public class BundleConfigTests
{
    private static ProcessSpec Process(bool terminal = false) => new()
    {
        Args = ["/bin/app", "--flag"],
        Env = ["PATH=/bin", "QUOTE=\"x\""],
        Cwd = "/srv",
        User = new ContainerUser(1000, 1001, [10, 29], "alice", "/home/alice"),
        Terminal = terminal,
    };

    [Fact]
    public void WriteProcess_is_a_self_contained_object_to_merge_into_a_larger_model()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WritePropertyName("process");
            RuntimeConfigWriter.WriteProcess(w, Process(terminal: true));
            w.WriteEndObject();
        }
        using var doc = JsonDocument.Parse(ms.ToArray());
        var p = doc.RootElement.GetProperty("process");
        Assert.True(p.GetProperty("terminal").GetBoolean());
        Assert.Equal(1000u, p.GetProperty("user").GetProperty("uid").GetUInt32());
        Assert.Equal(1001u, p.GetProperty("user").GetProperty("gid").GetUInt32());
        Assert.Equal([10u, 29u], p.GetProperty("user").GetProperty("additionalGids").EnumerateArray().Select(g => g.GetUInt32()));
        Assert.Equal(["/bin/app", "--flag"], p.GetProperty("args").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal("QUOTE=\"x\"", p.GetProperty("env")[1].GetString());
        Assert.Equal("/srv", p.GetProperty("cwd").GetString());
        Assert.Contains("CAP_NET_BIND_SERVICE", p.GetProperty("capabilities").GetProperty("bounding").EnumerateArray().Select(c => c.GetString()));
        Assert.True(p.GetProperty("noNewPrivileges").GetBoolean());
    }

    [Fact]
    public void Whole_config_has_the_default_runtime_shape()
    {
        var bytes = RuntimeConfigWriter.Write(Process(), new RuntimeConfigOptions
        {
            Hostname = "h", Annotations = new Dictionary<string, string> { ["b"] = "2", ["a"] = "1" },
        });
        using var doc = JsonDocument.Parse(bytes);
        var r = doc.RootElement;
        Assert.Equal(RuntimeConfigWriter.OciVersion, r.GetProperty("ociVersion").GetString());
        Assert.Equal("rootfs", r.GetProperty("root").GetProperty("path").GetString());
        Assert.False(r.GetProperty("root").TryGetProperty("readonly", out var ro) && ro.GetBoolean());
        // Docker's default seccomp profile for Docker's default capabilities.
        var seccomp = r.GetProperty("linux").GetProperty("seccomp");
        Assert.Equal("SCMP_ACT_ERRNO", seccomp.GetProperty("defaultAction").GetString());
        Assert.Contains(seccomp.GetProperty("syscalls").EnumerateArray(),
            rule => rule.GetProperty("names").EnumerateArray().Any(n => n.GetString() == "read") && rule.GetProperty("action").GetString() == "SCMP_ACT_ALLOW");
        Assert.Equal(["a", "b"], r.GetProperty("annotations").EnumerateObject().Select(p => p.Name));
        Assert.Equal(RuntimeConfigWriter.Namespaces, r.GetProperty("linux").GetProperty("namespaces").EnumerateArray().Select(n => n.GetProperty("type").GetString()!));
        Assert.Contains("/proc/kcore", r.GetProperty("linux").GetProperty("maskedPaths").EnumerateArray().Select(n => n.GetString()));
        Assert.Equal(["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"],
            r.GetProperty("mounts").EnumerateArray().Select(m => m.GetProperty("destination").GetString()));
        Assert.False(RuntimeConfigWriter.Write(Process(), new RuntimeConfigOptions()).AsSpan().IndexOf("hostname"u8) >= 0);
    }

    [Fact]
    public void Env_overrides_replace_in_place_and_append_new_keys()
    {
        Assert.Equal(["A=9", "B=2", "FLAG", "C=3"], ImageBundler.MergeEnv(["A=1", "B=2", "FLAG"], ["C=3", "A=9"]));
        Assert.Equal(["FLAG=on"], ImageBundler.MergeEnv(["FLAG"], ["FLAG=on"]));
    }

    [Fact]
    public void Overlay_options_list_layers_top_first_escaped()
    {
        var stack = new OverlayStack(["/s/l/bottom", "/s/l/mid:dle", "/s/l/top,x"]);
        Assert.Equal(@"lowerdir=/s/l/top\,x:/s/l/mid\:dle:/s/l/bottom", stack.MountOptions());
        Assert.Equal(@"lowerdir=/s/l/top\,x:/s/l/mid\:dle:/s/l/bottom,upperdir=/u,workdir=/w", stack.MountOptions("/u", "/w"));
        Assert.Throws<ImageException>(() => stack.MountOptions("/u"));
        Assert.Throws<ImageException>(() => new OverlayStack([]).MountOptions());
        var tooLong = new OverlayStack(Enumerable.Range(0, 100).Select(i => "/var/lib/berth/images/layers/sha256/" + new string('a', 64) + i).ToList());
        Assert.Contains("more than mount(2) accepts", Assert.Throws<ImageException>(() => tooLong.MountOptions()).Message);
    }

    [Theory]
    [InlineData(new byte[] { 0x1f, 0x8b, 8, 0 }, LayerCompression.Kind.Gzip)]
    [InlineData(new byte[] { 0x28, 0xb5, 0x2f, 0xfd, 0 }, LayerCompression.Kind.Zstd)]
    [InlineData(new byte[] { (byte)'B', (byte)'Z', (byte)'h', (byte)'9' }, LayerCompression.Kind.Bzip2)]
    [InlineData(new byte[] { 0xfd, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0 }, LayerCompression.Kind.Xz)]
    [InlineData(new byte[] { (byte)'e', (byte)'t', (byte)'c' }, LayerCompression.Kind.Tar)]
    [InlineData(new byte[] { }, LayerCompression.Kind.Tar)]
    public void Compression_is_detected_from_the_first_bytes(byte[] head, LayerCompression.Kind kind)
    {
        Assert.Equal(kind, LayerCompression.Detect(head));
    }

    [Fact]
    public void Gzip_and_plain_streams_decompress_and_zstd_is_refused_by_name()
    {
        byte[] data = System.Text.Encoding.ASCII.GetBytes(new string('t', 5000));
        var gz = new MemoryStream();
        using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true)) z.Write(data);
        Assert.Equal(data, ReadAll(LayerCompression.Decompress(new MemoryStream(gz.ToArray()), "L")));
        Assert.Equal(data, ReadAll(LayerCompression.Decompress(new MemoryStream(data), "L")));
        Assert.Equal(new byte[] { 1, 2 }, ReadAll(LayerCompression.Decompress(new MemoryStream([1, 2]), "L")));

        var e = Assert.Throws<ImageException>(() => LayerCompression.Decompress(new MemoryStream([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0]), "sha256:abc"));
        Assert.Equal("layer sha256:abc is zstd-compressed, which Berth does not support (gzip and uncompressed tar only)", e.Message);
    }

    private static byte[] ReadAll(Stream s)
    {
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }

    [Fact]
    public void Verifying_stream_checks_digest_and_size_at_the_end()
    {
        byte[] data = "content"u8.ToArray();
        var good = Digest.Of(data);
        using (var ok = new VerifyingStream(new MemoryStream(data), good, data.Length, "blob X"))
        {
            Assert.Equal(data, ReadAll(ok));
            ok.VerifyToEnd();
        }
        var wrong = Digest.Of("other"u8);
        var e = Assert.Throws<DigestMismatchException>(() => ReadAll(new VerifyingStream(new MemoryStream(data), wrong, data.Length, "blob X")));
        Assert.Equal($"blob X: content does not match its digest {wrong} (it hashes to {good})", e.Message);
        Assert.Contains("longer than the 3 bytes", Assert.Throws<ImageException>(() => ReadAll(new VerifyingStream(new MemoryStream(data), good, 3, "blob X"))).Message);
        Assert.Contains("7 bytes, but its descriptor gives 70", Assert.Throws<ImageException>(() => ReadAll(new VerifyingStream(new MemoryStream(data), good, 70, "blob X"))).Message);
        // A reader that stops early is caught by VerifyToEnd.
        using var partial = new VerifyingStream(new MemoryStream(data), wrong, -1, "blob Y");
        partial.ReadByte();
        Assert.Throws<DigestMismatchException>(partial.VerifyToEnd);
    }
}
