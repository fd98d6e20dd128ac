using System.Text.Json;

namespace Berth.Runtime.Images;

/// <summary>
/// Imports a <c>docker save</c> archive (also what <c>skopeo copy … docker-archive:</c> writes):
/// a tar holding <c>manifest.json</c> — <c>[{"Config": "…json", "RepoTags": ["name:tag"], "Layers": ["…/layer.tar"]}]</c> —
/// with the config and layer files it names (old Docker: <c>&lt;id&gt;/layer.tar</c>, often symlinked
/// between images; Docker 25+: <c>blobs/sha256/&lt;hex&gt;</c>). Each image goes into the
/// <see cref="ImageStore"/> as an OCI manifest of the same config and layers, under each of its RepoTags.
/// The archive must be a file (it is read twice: an index of members, then the members it needs).
/// </summary>
public static class DockerArchive
{
    private readonly record struct Member(TarEntryType Type, long Offset, long Size, string LinkName);

    /// <param name="name">A name for the image instead of its RepoTags (only for an archive with one image).</param>
    public static IReadOnlyList<Image> Import(ImageStore store, string archivePath, string? name = null)
    {
        archivePath = Path.GetFullPath(archivePath);
        using var file = OpenArchive(archivePath);
        var members = IndexMembers(file, archivePath);
        string manifestFile = $"{archivePath}:manifest.json";
        byte[] manifestJson = ReadMember(file, members, "manifest.json", archivePath, OciLayout.MaxJsonBlob);

        var entries = new List<(string JsonPath, string Config, IReadOnlyList<string> Tags, IReadOnlyList<string> Layers)>();
        using (var doc = JsonNode.Parse(manifestJson, manifestFile))
        {
            foreach (var element in JsonNode.RootArray(doc, manifestFile))
            {
                var node = element.Expect(JsonValueKind.Object);
                entries.Add((node.Path, node.RequiredString("Config"), node.StringArray("RepoTags") ?? [], node.StringArray("Layers") ?? []));
            }
        }
        if (entries.Count == 0) throw new ImageException($"{manifestFile}: $: the archive holds no image");
        if (name is not null && entries.Count > 1)
            throw new ImageException($"{archivePath} holds {entries.Count} images; a single name cannot be given to all of them");

        var images = new List<Image>();
        foreach (var (jsonPath, configPath, tags, layerPaths) in entries)
        {
            byte[] configJson = ReadMember(file, members, configPath, archivePath, OciLayout.MaxJsonBlob);
            var config = store.PutBlob(configJson, MediaTypes.OciConfig);
            var parsed = ImageConfig.Parse(configJson, $"{archivePath}:{configPath}");
            if (parsed.DiffIds.Count != layerPaths.Count)
                throw new ImageException($"{manifestFile}: {jsonPath}.Layers lists {layerPaths.Count} layers but config {configPath} has {parsed.DiffIds.Count} diff_ids");

            var layers = new List<Descriptor>();
            foreach (var layerPath in layerPaths)
            {
                var member = Find(members, layerPath, archivePath);
                var kind = DetectCompression(file, member);
                file.Position = member.Offset;
                var (digest, size) = store.PutBlob(new BoundedStream(file, member.Size));
                layers.Add(new Descriptor(MediaTypes.OciLayerFor(kind), digest, size));
            }

            var manifest = store.PutBlob(WriteManifest(config, layers), MediaTypes.OciManifest)
                with { Platform = parsed.Platform };
            var names = name is not null ? [name] : tags;
            foreach (var tag in names) store.Tag(tag, manifest);
            images.Add(store.Layout.ResolveDescriptor(manifest, names.FirstOrDefault() ?? manifest.Digest.ToString(), parsed.Platform));
        }
        return images;
    }

    private static FileStream OpenArchive(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (IOException e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ImageException($"docker archive {path} does not exist", e);
        }
    }

    /// <summary>Every member by normalized name (later members win, as tar extraction would have it).</summary>
    private static Dictionary<string, Member> IndexMembers(FileStream file, string archivePath)
    {
        var members = new Dictionary<string, Member>(StringComparer.Ordinal);
        var reader = new TarArchiveReader(file, archivePath);
        while (reader.Next() is { } entry)
        {
            if (ContainedPath.Normalize(entry.Name, out _) is not { Length: > 0 } member) continue;
            members[member] = new Member(entry.Type, entry.DataOffset, entry.Size, entry.LinkName);
        }
        return members;
    }

    /// <summary>Finds a regular member, following symlinks (relative to the link's directory) and hard links inside the archive.</summary>
    private static Member Find(Dictionary<string, Member> members, string path, string archivePath)
    {
        string? current = ContainedPath.Normalize(path, out _);
        for (int hops = 0; hops < 16 && current is { Length: > 0 }; hops++)
        {
            if (!members.TryGetValue(current, out var m)) break;
            switch (m.Type)
            {
                case TarEntryType.Regular:
                    return m;
                case TarEntryType.HardLink:
                    current = ContainedPath.Normalize(m.LinkName, out _);
                    continue;
                case TarEntryType.Symlink:
                    current = m.LinkName.StartsWith('/')
                        ? ContainedPath.Normalize(m.LinkName, out _)
                        : ContainedPath.Normalize(ContainedPath.Join(ContainedPath.Split(current).Parent, m.LinkName), out _);
                    continue;
                default:
                    throw new ImageException($"{archivePath}: \"{path}\" is a {m.Type}, not a file");
            }
        }
        throw new ImageException($"{archivePath}: \"{path}\" (named in manifest.json) is not in the archive");
    }

    private static byte[] ReadMember(FileStream file, Dictionary<string, Member> members, string path, string archivePath, long limit)
    {
        var m = Find(members, path, archivePath);
        if (m.Size > limit) throw new ImageException($"{archivePath}: \"{path}\" is {m.Size} bytes; over the {limit} allowed");
        var data = new byte[m.Size];
        file.Position = m.Offset;
        file.ReadExactly(data);
        return data;
    }

    private static LayerCompression.Kind DetectCompression(FileStream file, Member m)
    {
        var head = new byte[(int)Math.Min(6, m.Size)];
        file.Position = m.Offset;
        file.ReadExactly(head);
        return LayerCompression.Detect(head);
    }

    private static byte[] WriteManifest(Descriptor config, IReadOnlyList<Descriptor> layers)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("schemaVersion", 2);
            w.WriteString("mediaType", MediaTypes.OciManifest);
            w.WritePropertyName("config");
            OciLayout.WriteDescriptor(w, config);
            w.WriteStartArray("layers");
            foreach (var layer in layers) OciLayout.WriteDescriptor(w, layer);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>A window of <paramref name="size"/> bytes from the current position of a file.</summary>
    private sealed class BoundedStream(Stream inner, long size) : Stream
    {
        private readonly long _size = size;
        private long _left = size;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_left == 0) return 0;
            if (buffer.Length > _left) buffer = buffer[..(int)_left];
            int n = inner.Read(buffer);
            if (n == 0) throw new ImageException("docker archive is truncated");
            _left -= n;
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => _size;
        public override long Position { get => _size - _left; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
