using System.Security.Cryptography;
using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Runtime.Images;

/// <summary>
/// Berth's content-addressed image store (default <c>/var/lib/berth/images</c> on the state partition).
/// The store is itself an OCI image layout — <c>oci-layout</c>, <c>index.json</c> naming each image
/// with <c>org.opencontainers.image.ref.name</c>, <c>blobs/sha256/&lt;hex&gt;</c> — so it is read with
/// <see cref="OciLayout"/> and can be handed to skopeo or umoci as is. Beside it,
/// <c>layers/sha256/&lt;chainID hex&gt;/</c> holds each layer unpacked once, in overlay form, shared by
/// every image whose layers up to it are the same, and stacked with <see cref="OverlayStack"/>.
/// The key is the ChainID (image-spec config.md: the diffIDs of the layer and all below it), not
/// the bare diffID, because a layer's overlay form depends on what is below it: a directory the
/// layer changes without carrying a member for it must take the attributes of the lower one
/// (see <see cref="LayerUnpacker"/>), and the same diffID can sit on different bases.
/// <para>
/// Blobs and layer directories are written under a temporary name and renamed into place only after
/// their digests check out, so a name in <c>blobs/</c> or <c>layers/</c> is always complete. Changes
/// to index.json are serialized across processes with flock on <c>.lock</c>.
/// </para>
/// </summary>
public sealed class ImageStore
{
    public const string DefaultRoot = "/var/lib/berth/images";

    public string Root { get; }
    public OciLayout Layout { get; }

    private string BlobDir => Path.Combine(Root, "blobs", Digest.Sha256);
    private string LayerDir => Path.Combine(Root, "layers", Digest.Sha256);

    /// <summary>Opens the store at <paramref name="root"/>, creating an empty one if needed.</summary>
    public ImageStore(string root = DefaultRoot)
    {
        Root = Path.GetFullPath(root);
        Files.MakeDirectories(Path.Combine(Root, "blobs", Digest.Sha256), 0x1c0);
        Files.MakeDirectories(Path.Combine(Root, "layers", Digest.Sha256), 0x1c0);
        using (Lock())
        {
            string marker = Path.Combine(Root, "oci-layout");
            if (!File.Exists(marker)) Files.WriteAtomically(marker, OciLayout.LayoutMarker);
            string index = Path.Combine(Root, "index.json");
            if (!File.Exists(index)) Files.WriteAtomically(index, OciLayout.WriteIndex([]));
        }
        Layout = OciLayout.Open(Root);
    }

    /// <summary>The images in the store by name.</summary>
    public IReadOnlyList<(string Name, Descriptor Manifest)> List() =>
        Layout.ReadIndex().Manifests.Where(m => m.RefName is not null).Select(m => (m.RefName!, m)).ToList();

    /// <summary>The image called <paramref name="name"/>.</summary>
    public Image Resolve(string name, Platform? platform = null) => Layout.Resolve(name, platform);

    /// <summary>
    /// Copies image <paramref name="reference"/> of <paramref name="source"/> (the manifest for this
    /// platform, its config and layers; every blob verified) and names it <paramref name="name"/>
    /// (default: the reference). A name already in use moves to the new image.
    /// </summary>
    public Image Import(OciLayout source, string? reference, string? name = null, Platform? platform = null)
    {
        var image = source.Resolve(reference, platform);
        name ??= reference ?? image.ManifestDescriptor.RefName
            ?? throw new ImageException($"{source.Path}: the image has no name; give one to import it under");
        foreach (var blob in image.Layers.Prepend(image.Manifest.Config).Prepend(image.ManifestDescriptor))
        {
            if (Layout.HasBlob(blob.Digest)) continue;
            using var content = source.OpenBlob(blob);
            PutBlob(content, blob.Digest);
        }
        Tag(name, image.ManifestDescriptor with { Platform = image.Config.Platform });
        return Resolve(name, platform);
    }

    /// <summary>Imports the images of a <c>docker save</c> archive (see <see cref="DockerArchive"/>).</summary>
    public IReadOnlyList<Image> ImportDockerArchive(string archivePath, string? name = null) =>
        DockerArchive.Import(this, archivePath, name);

    /// <summary>Names <paramref name="manifest"/> (which must be in the store) <paramref name="name"/>.</summary>
    public void Tag(string name, Descriptor manifest)
    {
        CheckName(name);
        if (!Layout.HasBlob(manifest.Digest))
            throw new ImageException($"cannot name {manifest.Digest} \"{name}\": it is not in the store {Root}");
        var annotations = new Dictionary<string, string>(manifest.Annotations) { [Descriptor.RefNameAnnotation] = name };
        using (Lock())
        {
            var entries = Layout.ReadIndex().Manifests.Where(m => m.RefName != name).ToList();
            entries.Add(manifest with { Annotations = annotations });
            Files.WriteAtomically(Layout.IndexPath, OciLayout.WriteIndex(entries));
        }
    }

    /// <summary>Removes the name; blobs and layers stay until a garbage collection (not written yet).</summary>
    public bool Untag(string name)
    {
        using (Lock())
        {
            var all = Layout.ReadIndex().Manifests;
            var kept = all.Where(m => m.RefName != name).ToList();
            if (kept.Count == all.Count) return false;
            Files.WriteAtomically(Layout.IndexPath, OciLayout.WriteIndex(kept));
            return true;
        }
    }

    /// <summary>The directory that holds (or will hold) the unpacked layer whose ChainID is <paramref name="chainId"/>.</summary>
    public string LayerPath(Digest chainId) => Path.Combine(LayerDir, chainId.Hex);

    /// <summary>
    /// The ChainIDs of a stack of layers (image-spec config.md): the first layer's is its diffID,
    /// each next one is sha256 of "&lt;ChainID below&gt; &lt;diffID&gt;".
    /// </summary>
    public static IReadOnlyList<Digest> ChainIds(IReadOnlyList<Digest> diffIds)
    {
        var chain = new List<Digest>(diffIds.Count);
        foreach (var diffId in diffIds)
            chain.Add(chain.Count == 0 ? diffId : Digest.Of(System.Text.Encoding.ASCII.GetBytes($"{chain[^1]} {diffId}")));
        return chain;
    }

    /// <summary>
    /// Makes sure every layer of <paramref name="image"/> is unpacked in <c>layers/</c> (unpacking only
    /// those that are not) and returns them, bottom first, ready for <see cref="OverlayStack.Mount"/>.
    /// Warnings of the unpacking (unsupported xattrs) go to <paramref name="warnings"/> when given.
    /// </summary>
    public OverlayStack UnpackLayers(Image image, List<string>? warnings = null)
    {
        var dirs = new List<string>();
        var chain = ChainIds(image.Config.DiffIds);
        for (int i = 0; i < image.Layers.Count; i++)
        {
            string final = LayerPath(chain[i]);
            var lowers = dirs.ToList();
            dirs.Add(final);
            if (Directory.Exists(final)) continue;

            string staging = Path.Combine(LayerDir, $".tmp-{chain[i].Short}-{Environment.ProcessId}-{RandomNumberGenerator.GetHexString(8, true)}");
            try
            {
                Files.MakeDirectories(staging, 0x1ed);
                using (var unpacker = new LayerUnpacker(staging, WhiteoutMode.Overlay, lowers))
                {
                    unpacker.Unpack(image, i);
                    warnings?.AddRange(unpacker.Warnings);
                }
                try
                {
                    Directory.Move(staging, final);
                }
                catch (IOException) when (Directory.Exists(final))
                {
                    DirectoryTree.RemoveAll(staging); // another process unpacked the same layer first
                }
            }
            catch
            {
                DirectoryTree.RemoveAll(staging);
                throw;
            }
        }
        return new OverlayStack(dirs);
    }

    /// <summary>Stores a blob whose digest is known: written under a temporary name, renamed once verified.</summary>
    internal void PutBlob(VerifyingStream content, Digest digest)
    {
        string temp = TempBlobPath();
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                content.CopyTo(file);
                content.VerifyToEnd();
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, Layout.BlobPath(digest), overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>Stores a blob of unknown digest (a docker-archive member) and returns its digest and size.</summary>
    internal (Digest Digest, long Size) PutBlob(Stream content)
    {
        string temp = TempBlobPath();
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long size = 0;
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                var buffer = new byte[1 << 16];
                int n;
                while ((n = content.Read(buffer)) > 0)
                {
                    hash.AppendData(buffer, 0, n);
                    file.Write(buffer, 0, n);
                    size += n;
                }
                file.Flush(flushToDisk: true);
            }
            var digest = Digest.FromHash(hash.GetHashAndReset());
            File.Move(temp, Layout.BlobPath(digest), overwrite: true);
            return (digest, size);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    internal Descriptor PutBlob(byte[] content, string mediaType)
    {
        using var stream = new MemoryStream(content, writable: false);
        var (digest, size) = PutBlob(stream);
        return new Descriptor(mediaType, digest, size);
    }

    private string TempBlobPath() =>
        Path.Combine(BlobDir, $".tmp-{Environment.ProcessId}-{RandomNumberGenerator.GetHexString(12, true)}");

    private FileDescriptor Lock()
    {
        var fd = FileDescriptor.Open(Path.Combine(Root, ".lock"), O_RDWR | O_CREAT, 0x180);
        AtCalls.Flock(fd, AtCalls.LOCK_EX); // released when the descriptor is closed
        return fd;
    }

    /// <summary>Names follow the ref.name grammar loosely: printable, no whitespace, no "/" at either end.</summary>
    private static void CheckName(string name)
    {
        if (name.Length is 0 or > 255 || name.Any(c => c <= ' ' || c == 127) || name.StartsWith('/') || name.EndsWith('/'))
            throw new ImageException($"\"{name}\" is not a valid image name");
    }
}
