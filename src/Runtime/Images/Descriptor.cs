namespace Berth.Runtime.Images;

/// <summary>An OS/architecture pair (GOOS/GOARCH spelling), with the optional CPU variant.</summary>
public readonly record struct Platform(string Os, string Architecture, string? Variant = null)
{
    /// <summary>The platform of the running machine: what an image index is narrowed down to.</summary>
    public static Platform Host => new("linux", System.Runtime.InteropServices.RuntimeInformation.OSArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.X64 => "amd64",
        System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
        System.Runtime.InteropServices.Architecture.Arm => "arm",
        System.Runtime.InteropServices.Architecture.X86 => "386",
        System.Runtime.InteropServices.Architecture.RiscV64 => "riscv64",
        var other => other.ToString().ToLowerInvariant(),
    });

    /// <summary>True when an image for <paramref name="image"/> runs here; a variant is compared only when both name one.</summary>
    public bool Accepts(Platform image) =>
        image.Os == Os && image.Architecture == Architecture
        && (Variant is null || image.Variant is null || Variant == image.Variant);

    public override string ToString() => Variant is null ? $"{Os}/{Architecture}" : $"{Os}/{Architecture}/{Variant}";
}

/// <summary>An OCI content descriptor: what a blob is, its digest and its size.</summary>
public sealed record Descriptor(string MediaType, Digest Digest, long Size)
{
    public IReadOnlyDictionary<string, string> Annotations { get; init; } = new Dictionary<string, string>();
    public Platform? Platform { get; init; }

    public const string RefNameAnnotation = "org.opencontainers.image.ref.name";
    /// <summary>containerd's annotation with the full image name (skopeo and nerdctl write it too).</summary>
    public const string ContainerdNameAnnotation = "io.containerd.image.name";

    public string? RefName => Annotations.GetValueOrDefault(RefNameAnnotation);

    internal static Descriptor Parse(JsonNode node)
    {
        string mediaType = node.RequiredString("mediaType");
        var digestNode = node.Required("digest");
        if (!Digest.TryParse(digestNode.AsString(), out var digest, out var error))
            throw digestNode.Error(error);
        long size = node.RequiredInt64("size");
        if (size < 0) throw node.Required("size").Error($"negative size {size}");
        Platform? platform = null;
        if (node.Object("platform") is { } p)
            platform = new Platform(p.RequiredString("os"), p.RequiredString("architecture"), p.String("variant"));
        return new Descriptor(mediaType, digest, size)
        {
            Annotations = node.StringMap("annotations"),
            Platform = platform,
        };
    }
}
