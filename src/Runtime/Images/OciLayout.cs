using System.Text;
using System.Text.Json;

namespace Berth.Runtime.Images;

/// <summary>Where blobs come from: an OCI layout on disk (which is also what <see cref="ImageStore"/> is).</summary>
public interface IBlobSource
{
    /// <summary>A stream of the blob that checks size and sha256 as it is read (see <see cref="VerifyingStream"/>).</summary>
    VerifyingStream OpenBlob(Descriptor descriptor);
}

/// <summary>A resolved image: the manifest chosen for this platform and its parsed config.</summary>
public sealed record Image(string Name, Descriptor ManifestDescriptor, ImageManifest Manifest, ImageConfig Config, IBlobSource Blobs)
{
    public Digest Id => Manifest.Config.Digest;
    public IReadOnlyList<Descriptor> Layers => Manifest.Layers;
}

/// <summary>
/// An OCI image layout directory (image-spec image-layout.md): <c>oci-layout</c>, <c>index.json</c>
/// and <c>blobs/sha256/&lt;hex&gt;</c>. Every blob read is verified against its digest, so a layout
/// from an untrusted place (a USB stick, a cidata disk) is as safe to read as one Berth wrote.
/// </summary>
public sealed class OciLayout : IBlobSource
{
    /// <summary>Manifests, indexes and configs are small; anything bigger is refused unread.</summary>
    public const long MaxJsonBlob = 16L << 20;

    public string Path { get; }

    private OciLayout(string path) => Path = path;

    /// <summary>Opens <paramref name="path"/>, checking that <c>oci-layout</c> says version 1.0.0.</summary>
    public static OciLayout Open(string path)
    {
        path = System.IO.Path.GetFullPath(path);
        string marker = System.IO.Path.Combine(path, "oci-layout");
        if (!File.Exists(marker))
            throw new ImageException($"{path} is not an OCI image layout: {marker} does not exist");
        using (var doc = JsonNode.Parse(ReadSmallFile(marker), marker))
        {
            var root = JsonNode.Root(doc, marker);
            string version = root.RequiredString("imageLayoutVersion");
            if (version != MediaTypes.OciLayoutVersion)
                throw root.Required("imageLayoutVersion").Error($"layout version \"{version}\" is not supported (1.0.0 only)");
        }
        return new OciLayout(path);
    }

    public string IndexPath => System.IO.Path.Combine(Path, "index.json");

    public string BlobPath(Digest digest) => System.IO.Path.Combine(Path, "blobs", digest.Algorithm, digest.Hex);

    public bool HasBlob(Digest digest) => File.Exists(BlobPath(digest));

    public ImageIndex ReadIndex() => ImageIndex.Parse(ReadSmallFile(IndexPath), IndexPath);

    public VerifyingStream OpenBlob(Descriptor descriptor)
    {
        string path = BlobPath(descriptor.Digest);
        string what = $"blob {descriptor.Digest} ({path})";
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        }
        catch (FileNotFoundException)
        {
            throw new ImageException($"{what} is missing from the layout");
        }
        catch (DirectoryNotFoundException)
        {
            throw new ImageException($"{what} is missing from the layout");
        }
        if (file.Length != descriptor.Size)
        {
            long actual = file.Length;
            file.Dispose();
            throw new ImageException($"{what}: {actual} bytes, but its descriptor gives {descriptor.Size}");
        }
        return new VerifyingStream(file, descriptor.Digest, descriptor.Size, what);
    }

    /// <summary>A whole small blob (JSON), verified.</summary>
    public byte[] ReadBlob(Descriptor descriptor) => ReadVerified(this, descriptor);

    internal static byte[] ReadVerified(IBlobSource source, Descriptor descriptor)
    {
        if (descriptor.Size > MaxJsonBlob)
            throw new ImageException($"blob {descriptor.Digest} ({descriptor.MediaType}) is {descriptor.Size} bytes; metadata blobs over {MaxJsonBlob} bytes are refused");
        using var stream = source.OpenBlob(descriptor);
        var buffer = new byte[descriptor.Size];
        stream.ReadExactly(buffer);
        stream.VerifyToEnd();
        return buffer;
    }

    /// <summary>
    /// Chooses a manifest from <c>index.json</c> and reads it with its config.
    /// <paramref name="reference"/> matches the <c>org.opencontainers.image.ref.name</c> annotation
    /// (umoci and skopeo write the tag there; buildkit the full name), then containerd's
    /// <c>io.containerd.image.name</c>; null picks the only manifest. An image index (or Docker
    /// manifest list) is narrowed to the manifest for <paramref name="platform"/> (default: this machine).
    /// </summary>
    public Image Resolve(string? reference, Platform? platform = null)
    {
        var want = platform ?? Platform.Host;
        var index = ReadIndex();
        var chosen = ChooseFromIndex(index, reference, want);
        return ResolveDescriptor(chosen, reference ?? chosen.RefName ?? chosen.Digest.ToString(), want);
    }

    /// <summary>Reads the manifest (descending through nested indexes) and config that <paramref name="descriptor"/> names.</summary>
    public Image ResolveDescriptor(Descriptor descriptor, string name, Platform? platform = null)
    {
        var want = platform ?? Platform.Host;
        var current = descriptor;
        for (int depth = 0; MediaTypes.IsIndex(current.MediaType); depth++)
        {
            if (depth == 4) throw new ImageException($"{IndexPath}: image indexes nested more than 4 deep under {descriptor.Digest}");
            var nested = ImageIndex.Parse(ReadBlob(current), $"image index {current.Digest}");
            current = ChooseByPlatform(nested.Manifests, want, $"image index {current.Digest}");
        }
        if (!MediaTypes.IsManifest(current.MediaType))
            throw new ImageException(current.MediaType is MediaTypes.DockerManifestV1 or MediaTypes.DockerManifestV1Signed
                ? $"{current.Digest} is a Docker schema 1 manifest, which is not supported"
                : $"{current.Digest} has media type \"{current.MediaType}\", which is neither an image index nor a manifest");

        var manifest = ImageManifest.Parse(ReadBlob(current), $"manifest {current.Digest}", current.MediaType);
        var config = ImageConfig.Parse(ReadBlob(manifest.Config), $"config {manifest.Config.Digest}");
        if (!want.Accepts(config.Platform))
            throw new ImageException($"image {name} ({current.Digest}) is for {config.Platform}, not {want}");
        if (config.DiffIds.Count != manifest.Layers.Count)
            throw new ImageException(
                $"image {name}: config {manifest.Config.Digest} lists {config.DiffIds.Count} diff_ids but manifest {current.Digest} has {manifest.Layers.Count} layers");
        return new Image(name, current, manifest, config, this);
    }

    private Descriptor ChooseFromIndex(ImageIndex index, string? reference, Platform want)
    {
        if (index.Manifests.Count == 0)
            throw new ImageException($"{IndexPath}: $.manifests is empty: the layout holds no image");
        if (reference is null)
        {
            if (index.Manifests.Count == 1) return index.Manifests[0];
            throw new ImageException($"{IndexPath} lists {index.Manifests.Count} manifests; name one of: {DescribeRefs(index)}");
        }
        var matches = index.Manifests.Where(m => m.RefName == reference).ToList();
        if (matches.Count == 0)
            matches = index.Manifests.Where(m => m.Annotations.GetValueOrDefault(Descriptor.ContainerdNameAnnotation) == reference).ToList();
        if (matches.Count == 0)
            throw new ImageException($"{IndexPath}: no manifest is named \"{reference}\" (names: {DescribeRefs(index)})");
        // Some tools tag one manifest per platform under the same name at the top level.
        return matches.Count == 1 ? matches[0] : ChooseByPlatform(matches, want, $"{IndexPath} (name \"{reference}\")");
    }

    private static Descriptor ChooseByPlatform(IReadOnlyList<Descriptor> manifests, Platform want, string where)
    {
        var fitting = manifests.Where(m => m.Platform is { } p && want.Accepts(p)).ToList();
        if (fitting.Count == 0)
        {
            // An index entry without a platform is acceptable only when it is the sole candidate.
            if (manifests.Count == 1 && manifests[0].Platform is null) return manifests[0];
            var have = manifests.Select(m => m.Platform?.ToString() ?? "(no platform)");
            throw new ImageException($"{where} has no manifest for {want} (it has: {string.Join(", ", have)})");
        }
        return fitting.FirstOrDefault(m => m.Platform!.Value.Variant == want.Variant) ?? fitting[0];
    }

    private static string DescribeRefs(ImageIndex index)
    {
        var names = index.Manifests.Select(m => m.RefName).OfType<string>().ToList();
        return names.Count == 0 ? "none has an org.opencontainers.image.ref.name" : string.Join(", ", names);
    }

    internal static byte[] ReadSmallFile(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > MaxJsonBlob)
                throw new ImageException($"{path}: {info.Length} bytes; metadata files over {MaxJsonBlob} bytes are refused");
            return File.ReadAllBytes(path);
        }
        catch (IOException e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ImageException($"{path} does not exist", e);
        }
    }

    /// <summary>Writes an index.json for <paramref name="manifests"/> (used by <see cref="ImageStore"/>).</summary>
    internal static byte[] WriteIndex(IEnumerable<Descriptor> manifests)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
        {
            w.WriteStartObject();
            w.WriteNumber("schemaVersion", 2);
            w.WriteString("mediaType", MediaTypes.OciIndex);
            w.WriteStartArray("manifests");
            foreach (var m in manifests) WriteDescriptor(w, m);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    internal static void WriteDescriptor(Utf8JsonWriter w, Descriptor d)
    {
        w.WriteStartObject();
        w.WriteString("mediaType", d.MediaType);
        w.WriteString("digest", d.Digest.ToString());
        w.WriteNumber("size", d.Size);
        if (d.Platform is { } p)
        {
            w.WriteStartObject("platform");
            w.WriteString("architecture", p.Architecture);
            w.WriteString("os", p.Os);
            if (p.Variant is not null) w.WriteString("variant", p.Variant);
            w.WriteEndObject();
        }
        if (d.Annotations.Count > 0)
        {
            w.WriteStartObject("annotations");
            foreach (var (k, v) in d.Annotations.OrderBy(a => a.Key, StringComparer.Ordinal)) w.WriteString(k, v);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    internal static readonly byte[] LayoutMarker = Encoding.UTF8.GetBytes("{\"imageLayoutVersion\":\"1.0.0\"}");
}
