using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Berth.Runtime.Interop;
using Xunit;

namespace Berth.Tests.Host.Images;

/// <summary>Runs Debian's umoci and skopeo (independent of the code under test) and fails with their stderr.</summary>
public static class Tools
{
    public static string Run(string exe, params string[] args)
    {
        var (exit, stdout, stderr) = HostRun.Tool(exe, args);
        Assert.True(exit == 0, $"{exe} {string.Join(' ', args)} failed ({exit}): {stderr}{stdout}");
        return stdout;
    }

    public static string Umoci(params string[] args) => Run("/usr/bin/umoci", args);

    public static string Skopeo(params string[] args) => Run("/usr/bin/skopeo", args);

    /// <summary>Runs a shell script with <c>$1</c>… set to <paramref name="args"/>.</summary>
    public static string Sh(string script, params string[] args) => Run("/bin/sh", ["-ec", script, "sh", .. args]);
}

/// <summary>
/// An OCI layout made with umoci: <c>umoci init</c>, <c>new</c>, then one <c>unpack</c> /
/// modify / <c>repack</c> cycle per layer, so every layer tar is umoci's own.
/// </summary>
public sealed class UmociImage
{
    public string Layout { get; }
    public string Tag { get; private set; }
    private readonly string _work;
    private int _n;

    public UmociImage(string work, string tag = "t")
    {
        _work = work;
        Layout = Path.Combine(work, "layout");
        Tag = tag;
        Tools.Umoci("init", "--layout", Layout);
        Tools.Umoci("new", "--image", $"{Layout}:{tag}");
    }

    public string Ref => $"{Layout}:{Tag}";

    /// <summary>Adds a layer: <paramref name="script"/> runs with the rootfs as its working directory.</summary>
    public UmociImage Layer(string script, string? newTag = null)
    {
        string bundle = Path.Combine(_work, $"edit{_n++}");
        Tools.Umoci("unpack", "--image", Ref, bundle);
        Tools.Sh("cd \"$1\"\n" + script, Path.Combine(bundle, "rootfs"));
        string target = newTag ?? Tag;
        Tools.Umoci("repack", "--image", $"{Layout}:{target}", bundle);
        Tag = target;
        Directory.Delete(bundle, recursive: true);
        return this;
    }

    /// <summary>Appends a layer tar verbatim (umoci raw add-layer); for whiteout forms umoci repack does not write.</summary>
    public UmociImage RawLayer(byte[] tar, string? newTag = null)
    {
        string file = Path.Combine(_work, $"raw{_n++}.tar");
        File.WriteAllBytes(file, tar);
        string target = newTag ?? Tag;
        var args = new List<string> { "raw", "add-layer", "--image", Ref };
        if (newTag is not null) args.AddRange(["--tag", newTag]);
        args.Add(file);
        Tools.Umoci([.. args]);
        Tag = target;
        return this;
    }

    public UmociImage Config(params string[] args)
    {
        Tools.Umoci(["config", "--image", Ref, .. args]);
        return this;
    }

    /// <summary><c>umoci unpack</c> into a new bundle directory; returns the bundle path.</summary>
    public string UmociUnpack(string name)
    {
        string bundle = Path.Combine(_work, name);
        Tools.Umoci("unpack", "--image", Ref, bundle);
        return bundle;
    }
}

/// <summary>
/// Everything about a directory tree that an unpack must reproduce, per relative path:
/// type, permission bits with setuid/setgid/sticky, owner, link target, content hash, device
/// number, xattrs and mtime (non-directories to the nanosecond, directories too).
/// </summary>
public static class TreeSnapshot
{
    public static SortedDictionary<string, string> Take(string root, bool withXattrs = true, bool withDirTimes = true)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        Walk(root, "", result, withXattrs, withDirTimes);
        return result;
    }

    private static void Walk(string root, string rel, SortedDictionary<string, string> result, bool xattrs, bool dirTimes)
    {
        string path = rel.Length == 0 ? root : Path.Combine(root, rel);
        Assert.True(LibC.LStat(path, out var st) == 0, $"lstat {path}");
        uint type = st.Mode & 0xF000;
        var sb = new StringBuilder();
        sb.Append(type switch
        {
            0x4000 => "dir", 0x8000 => "file", 0xA000 => "symlink", 0x2000 => "chr", 0x6000 => "blk", 0x1000 => "fifo", _ => "other",
        });
        sb.Append($" mode={Convert.ToString(st.Mode & 0xfff, 8)} owner={st.Uid}:{st.Gid}");
        if (type == 0xA000) sb.Append($" -> {new FileInfo(path).LinkTarget}");
        if (type == 0x8000) sb.Append($" size={st.Size} sha256={Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)))} links={st.NLink}");
        if (type is 0x2000 or 0x6000) sb.Append($" rdev={st.RDev}");
        if (type != 0x4000 || (dirTimes && rel.Length > 0)) sb.Append($" mtime={st.MTime}.{st.MTimeNsec:D9}");
        if (xattrs && type != 0xA000)
        {
            foreach (var name in XattrNames(path).Order(StringComparer.Ordinal))
                sb.Append($" xattr:{name}={Convert.ToHexStringLower(XattrValue(path, name))}");
        }
        result[rel.Length == 0 ? "." : rel] = sb.ToString();
        if (type == 0x4000)
            foreach (var child in Directory.EnumerateFileSystemEntries(path).Select(Path.GetFileName).Order(StringComparer.Ordinal))
                Walk(root, rel.Length == 0 ? child! : rel + "/" + child, result, xattrs, dirTimes);
    }

    public static IReadOnlyList<string> XattrNames(string path) => Xattr.List(path);
    public static byte[] XattrValue(string path, string name) => Xattr.Get(path, name) ?? [];

    /// <summary>Asserts equal trees, listing every difference (not just the first).</summary>
    public static void AssertSame(SortedDictionary<string, string> expected, SortedDictionary<string, string> actual, string what)
    {
        var diffs = new List<string>();
        foreach (var (k, v) in expected)
        {
            if (!actual.TryGetValue(k, out var a)) diffs.Add($"missing  {k}: {v}");
            else if (a != v) diffs.Add($"differs  {k}:\n   expected {v}\n   actual   {a}");
        }
        foreach (var (k, v) in actual)
            if (!expected.ContainsKey(k)) diffs.Add($"extra    {k}: {v}");
        Assert.True(diffs.Count == 0, $"{what}: {diffs.Count} differences\n" + string.Join('\n', diffs.Take(40)));
    }
}

/// <summary>xattr reads for assertions, through the library's own wrappers.</summary>
public static class Xattr
{
    public static IReadOnlyList<string> List(string path) => Berth.Runtime.Images.AtCalls.ListXattrs(path);
    public static byte[]? Get(string path, string name) => Berth.Runtime.Images.AtCalls.GetXattr(path, name);
}

/// <summary>Writes an OCI layout by hand, for images no tool would make (malicious or broken ones).</summary>
public sealed class LayoutBuilder
{
    public string Path { get; }
    private readonly List<(string MediaType, string Digest, long Size, bool Gzip, string DiffId)> _layers = [];
    public string? LastManifestDigest { get; private set; }

    public LayoutBuilder(string path)
    {
        Path = path;
        Directory.CreateDirectory(System.IO.Path.Combine(path, "blobs", "sha256"));
        File.WriteAllText(System.IO.Path.Combine(path, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
    }

    public string WriteBlob(byte[] content)
    {
        string hex = Convert.ToHexStringLower(SHA256.HashData(content));
        File.WriteAllBytes(BlobPath(hex), content);
        return "sha256:" + hex;
    }

    public string BlobPath(string digestOrHex) =>
        System.IO.Path.Combine(Path, "blobs", "sha256", digestOrHex.Replace("sha256:", ""));

    /// <summary>Adds a layer (gzip-compressed unless told otherwise); returns the blob digest.</summary>
    public string AddLayer(byte[] tar, bool gzip = true)
    {
        string diffId = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(tar));
        byte[] blob = gzip ? Gzip(tar) : tar;
        string digest = WriteBlob(blob);
        _layers.Add((gzip ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.oci.image.layer.v1.tar", digest, blob.Length, gzip, diffId));
        return digest;
    }

    /// <summary>Writes config, manifest and index.json naming the image <paramref name="tag"/>; returns the config digest.</summary>
    public string Finish(string tag = "t", Action<Utf8JsonWriter>? containerConfig = null, IReadOnlyList<string>? diffIds = null,
        string os = "linux", string arch = "amd64")
    {
        var config = Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("architecture", arch);
            w.WriteString("os", os);
            w.WriteStartObject("config");
            containerConfig?.Invoke(w);
            w.WriteEndObject();
            w.WriteStartObject("rootfs");
            w.WriteString("type", "layers");
            w.WriteStartArray("diff_ids");
            foreach (var d in diffIds ?? _layers.Select(l => l.DiffId).ToList()) w.WriteStringValue(d);
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        });
        string configDigest = WriteBlob(config);
        var manifest = Json(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("schemaVersion", 2);
            w.WriteString("mediaType", "application/vnd.oci.image.manifest.v1+json");
            w.WriteStartObject("config");
            w.WriteString("mediaType", "application/vnd.oci.image.config.v1+json");
            w.WriteString("digest", configDigest);
            w.WriteNumber("size", config.Length);
            w.WriteEndObject();
            w.WriteStartArray("layers");
            foreach (var l in _layers)
            {
                w.WriteStartObject();
                w.WriteString("mediaType", l.MediaType);
                w.WriteString("digest", l.Digest);
                w.WriteNumber("size", l.Size);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
        LastManifestDigest = WriteBlob(manifest);
        File.WriteAllBytes(System.IO.Path.Combine(Path, "index.json"), Json(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("schemaVersion", 2);
            w.WriteStartArray("manifests");
            w.WriteStartObject();
            w.WriteString("mediaType", "application/vnd.oci.image.manifest.v1+json");
            w.WriteString("digest", LastManifestDigest);
            w.WriteNumber("size", manifest.Length);
            w.WriteStartObject("annotations");
            w.WriteString("org.opencontainers.image.ref.name", tag);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }));
        return configDigest;
    }

    public static byte[] Json(Action<Utf8JsonWriter> write)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms)) write(w);
        return ms.ToArray();
    }

    public static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest)) gz.Write(data);
        return ms.ToArray();
    }
}

/// <summary>Builds layer tars with System.Formats.Tar (independent of Berth's own reader).</summary>
public sealed class TarBuilder
{
    private readonly MemoryStream _stream = new();
    private readonly TarWriter _writer;

    public TarBuilder(TarEntryFormat format = TarEntryFormat.Pax)
    {
        _writer = new TarWriter(_stream, format, leaveOpen: true);
        Format = format;
    }

    public TarEntryFormat Format { get; }

    private static readonly DateTimeOffset Time = new(2020, 1, 2, 3, 4, 5, TimeSpan.Zero);

    public TarBuilder Dir(string name, int mode = 0x1ed, int uid = 0, int gid = 0) =>
        Add(Entry(TarEntryType.Directory, name, mode, uid, gid));

    public TarBuilder File(string name, string content, int mode = 0x1a4, int uid = 0, int gid = 0, IDictionary<string, string>? pax = null)
    {
        var e = Entry(TarEntryType.RegularFile, name, mode, uid, gid, pax);
        e.DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content));
        return Add(e);
    }

    public TarBuilder Symlink(string name, string target) =>
        Add(Entry(TarEntryType.SymbolicLink, name, 0x1ff, 0, 0, linkName: target));

    public TarBuilder HardLink(string name, string target) =>
        Add(Entry(TarEntryType.HardLink, name, 0x1a4, 0, 0, linkName: target));

    private TarBuilder Add(System.Formats.Tar.TarEntry entry)
    {
        _writer.WriteEntry(entry);
        return this;
    }

    private System.Formats.Tar.TarEntry Entry(TarEntryType type, string name, int mode, int uid, int gid,
        IDictionary<string, string>? pax = null, string? linkName = null)
    {
        System.Formats.Tar.TarEntry e = Format switch
        {
            TarEntryFormat.Pax => pax is null ? new PaxTarEntry(type, name) : new PaxTarEntry(type, name, pax),
            TarEntryFormat.Gnu => new GnuTarEntry(type, name),
            _ => new UstarTarEntry(type, name),
        };
        e.Mode = (UnixFileMode)mode;
        e.Uid = uid;
        e.Gid = gid;
        e.ModificationTime = Time;
        if (linkName is not null) e.LinkName = linkName;
        return e;
    }

    public byte[] Build()
    {
        _writer.Dispose();
        return _stream.ToArray();
    }
}
