namespace Berth.Runtime.Images;

/// <summary>The OCI and Docker v2 media types Berth reads, and which role each one plays.</summary>
public static class MediaTypes
{
    public const string OciLayoutVersion = "1.0.0";

    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string OciLayer = "application/vnd.oci.image.layer.v1.tar";
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string OciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
    public const string OciLayerNonDistributable = "application/vnd.oci.image.layer.nondistributable.v1.tar";
    public const string OciLayerNonDistributableGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
    public const string OciLayerNonDistributableZstd = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestV1 = "application/vnd.docker.distribution.manifest.v1+json";
    public const string DockerManifestV1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    public const string DockerLayerForeignGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
    /// <summary>Written by some tools (buildkit with uncompressed output) for plain tar layers.</summary>
    public const string DockerLayerTar = "application/vnd.docker.image.rootfs.diff.tar";

    public static bool IsIndex(string mediaType) => mediaType is OciIndex or DockerManifestList;

    public static bool IsManifest(string mediaType) => mediaType is OciManifest or DockerManifest;

    public static bool IsConfig(string mediaType) => mediaType is OciConfig or DockerConfig;

    public static bool IsLayer(string mediaType) => mediaType is OciLayer or OciLayerGzip or OciLayerZstd
        or OciLayerNonDistributable or OciLayerNonDistributableGzip or OciLayerNonDistributableZstd
        or DockerLayerGzip or DockerLayerForeignGzip or DockerLayerTar;

    /// <summary>The layer media type to record for a blob whose compression was detected from its bytes.</summary>
    public static string OciLayerFor(LayerCompression.Kind kind) => kind switch
    {
        LayerCompression.Kind.Gzip => OciLayerGzip,
        LayerCompression.Kind.Zstd => OciLayerZstd,
        LayerCompression.Kind.Tar => OciLayer,
        _ => throw new ImageException($"a {kind} layer has no OCI media type"),
    };
}
