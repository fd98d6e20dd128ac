using System.Text.Json;
using System.Text.Json.Serialization;

namespace Berth.Init.Upgrade;

/// <summary>What a bundle claims about its slot image; signed, so every field can be trusted once the signature checks.</summary>
public sealed class BundleManifest
{
    public const int CurrentFormat = 1;

    [JsonPropertyName("format")] public int Format { get; set; }
    [JsonPropertyName("compatible")] public string Compatible { get; set; } = "";
    [JsonPropertyName("version")] public string Version { get; set; } = "";
    [JsonPropertyName("image_size")] public long ImageSize { get; set; }
    [JsonPropertyName("image_sha256")] public string ImageSha256 { get; set; } = "";

    public static BundleManifest Parse(byte[] json, string where)
    {
        BundleManifest? m;
        try { m = JsonSerializer.Deserialize(json, UpgradeJsonContext.Default.BundleManifest); }
        catch (JsonException e) { throw new BundleException($"{where}: manifest is not valid JSON: {e.Message}"); }
        if (m is null) throw new BundleException($"{where}: manifest is empty");
        if (m.Format != CurrentFormat) throw new BundleException($"{where}: manifest format {m.Format}, this berth reads format {CurrentFormat}");
        if (string.IsNullOrWhiteSpace(m.Compatible)) throw new BundleException($"{where}: manifest has no compatible string");
        if (string.IsNullOrWhiteSpace(m.Version)) throw new BundleException($"{where}: manifest has no version");
        if (m.ImageSize <= 0) throw new BundleException($"{where}: manifest image_size {m.ImageSize} is not positive");
        if (m.ImageSha256.Length != 64 || !m.ImageSha256.All(Uri.IsHexDigit))
            throw new BundleException($"{where}: manifest image_sha256 is not 64 hex digits");
        m.ImageSha256 = m.ImageSha256.ToLowerInvariant();
        return m;
    }
}

/// <summary>A bundle that cannot be installed, with the reason (shown to the operator as is).</summary>
public sealed class BundleException(string message) : Exception(message);

/// <summary>What the last upgrade attempt did, kept on STATE.</summary>
public sealed class UpgradeRecord
{
    [JsonPropertyName("version")] public string Version { get; set; } = "";
    [JsonPropertyName("from_version")] public string FromVersion { get; set; } = "";
    [JsonPropertyName("slot")] public string Slot { get; set; } = "";
    [JsonPropertyName("source")] public string Source { get; set; } = "";
    /// <summary>refused | writing | installed | committed | failed | rolled-back</summary>
    [JsonPropertyName("result")] public string Result { get; set; } = "";
    [JsonPropertyName("detail")] public string Detail { get; set; } = "";
    [JsonPropertyName("time")] public string Time { get; set; } = "";
}

[JsonSerializable(typeof(BundleManifest))]
[JsonSerializable(typeof(UpgradeRecord))]
[JsonSourceGenerationOptions(WriteIndented = true)]
internal sealed partial class UpgradeJsonContext : JsonSerializerContext;
