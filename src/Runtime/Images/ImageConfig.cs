namespace Berth.Runtime.Images;

/// <summary>
/// The parts of an image configuration (OCI image-spec config.md, Docker's container config) that
/// decide how a container of the image runs, plus the layer diffIDs that check the unpacked layers.
/// </summary>
public sealed record ImageConfig
{
    public required Platform Platform { get; init; }
    public string? User { get; init; }
    public IReadOnlyList<string> Env { get; init; } = [];
    /// <summary>Null when the image sets none; an empty list is an explicit "no entrypoint".</summary>
    public IReadOnlyList<string>? Entrypoint { get; init; }
    public IReadOnlyList<string>? Cmd { get; init; }
    public string? WorkingDir { get; init; }
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    /// <summary>"80/tcp", "53/udp", "8080" (tcp implied).</summary>
    public IReadOnlyList<string> ExposedPorts { get; init; } = [];
    public IReadOnlyList<string> Volumes { get; init; } = [];
    public string? StopSignal { get; init; }
    /// <summary>The digests of the uncompressed layer tars, bottom first.</summary>
    public IReadOnlyList<Digest> DiffIds { get; init; } = [];

    internal static ImageConfig Parse(ReadOnlyMemory<byte> json, string file)
    {
        using var doc = JsonNode.Parse(json, file);
        var root = JsonNode.Root(doc, file);
        var platform = new Platform(root.RequiredString("os"), root.RequiredString("architecture"), root.String("variant"));

        var rootfs = root.RequiredObject("rootfs");
        string type = rootfs.RequiredString("type");
        if (type != "layers")
            throw rootfs.Required("type").Error($"rootfs type \"{type}\" is not supported (\"layers\" only)");
        var diffIds = new List<Digest>();
        foreach (var node in rootfs.Array("diff_ids"))
            diffIds.Add(Digest.TryParse(node.AsString(), out var d, out var error) ? d : throw node.Error(error));

        // "config" may be absent or null: an image that only carries files (a base layer) is valid.
        var c = root.Object("config");
        if (c is not { } config)
            return new ImageConfig { Platform = platform, DiffIds = diffIds };
        return new ImageConfig
        {
            Platform = platform,
            User = config.String("User"),
            Env = config.StringArray("Env") ?? [],
            Entrypoint = config.StringArray("Entrypoint"),
            Cmd = config.StringArray("Cmd"),
            WorkingDir = config.String("WorkingDir"),
            Labels = config.StringMap("Labels"),
            ExposedPorts = config.Keys("ExposedPorts"),
            Volumes = config.Keys("Volumes"),
            StopSignal = config.String("StopSignal"),
            DiffIds = diffIds,
        };
    }
}
