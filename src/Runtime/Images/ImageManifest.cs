namespace Berth.Runtime.Images;

/// <summary>An image index (OCI) or manifest list (Docker): one manifest per platform.</summary>
public sealed record ImageIndex(IReadOnlyList<Descriptor> Manifests)
{
    /// <param name="file">Names the source in errors (a path, or "blob sha256:…").</param>
    internal static ImageIndex Parse(ReadOnlyMemory<byte> json, string file)
    {
        using var doc = JsonNode.Parse(json, file);
        var root = JsonNode.Root(doc, file);
        CheckSchemaVersion(root);
        if (root.String("mediaType") is { } mt && !MediaTypes.IsIndex(mt))
            throw root.Required("mediaType").Error($"\"{mt}\" is not an image index media type");
        return new ImageIndex(root.Array("manifests").Select(Descriptor.Parse).ToList());
    }

    internal static void CheckSchemaVersion(JsonNode root)
    {
        long version = root.RequiredInt64("schemaVersion");
        if (version != 2)
            throw root.Required("schemaVersion").Error(
                $"schemaVersion {version} is not supported (2 only; Docker schema 1 images must be converted, e.g. by pulling them again)");
    }
}

/// <summary>An image manifest: the config blob and the layers, bottom first.</summary>
public sealed record ImageManifest(string MediaType, Descriptor Config, IReadOnlyList<Descriptor> Layers)
{
    public IReadOnlyDictionary<string, string> Annotations { get; init; } = new Dictionary<string, string>();

    internal static ImageManifest Parse(ReadOnlyMemory<byte> json, string file, string descriptorMediaType)
    {
        using var doc = JsonNode.Parse(json, file);
        var root = JsonNode.Root(doc, file);
        ImageIndex.CheckSchemaVersion(root);
        // OCI makes the manifest's own mediaType optional; Docker requires it. Either way it must agree.
        string mediaType = root.String("mediaType") ?? descriptorMediaType;
        if (!MediaTypes.IsManifest(mediaType))
            throw new ImageException($"{file}: $.mediaType: \"{mediaType}\" is not an image manifest media type");

        var configNode = root.RequiredObject("config");
        var config = Descriptor.Parse(configNode);
        if (!MediaTypes.IsConfig(config.MediaType))
            throw configNode.Required("mediaType").Error(
                $"\"{config.MediaType}\" is not a container image config (this is an artifact, not an image)");

        var layers = new List<Descriptor>();
        foreach (var node in root.Array("layers"))
        {
            var layer = Descriptor.Parse(node);
            if (!MediaTypes.IsLayer(layer.MediaType))
                throw node.Required("mediaType").Error($"\"{layer.MediaType}\" is not a layer media type Berth knows");
            layers.Add(layer);
        }
        return new ImageManifest(mediaType, config, layers) { Annotations = root.StringMap("annotations") };
    }
}
