using System.Security.Cryptography;

namespace Berth.Runtime.Images;

/// <summary>
/// A content digest, <c>sha256:&lt;64 lowercase hex&gt;</c>. Only sha256 is accepted: it is what every
/// registry and tool writes, and refusing the rest keeps blob paths and overlay option strings simple.
/// </summary>
public readonly record struct Digest
{
    public const string Sha256 = "sha256";

    public string Algorithm { get; }
    /// <summary>The hex part, which is also the blob's file name under <c>blobs/sha256/</c>.</summary>
    public string Hex { get; }

    private Digest(string algorithm, string hex)
    {
        Algorithm = algorithm;
        Hex = hex;
    }

    public override string ToString() => Algorithm + ":" + Hex;

    /// <summary>A short form for messages and directory names of temporary work.</summary>
    public string Short => Hex.Length > 12 ? Hex[..12] : Hex;

    public static bool TryParse(string? text, out Digest digest, out string error)
    {
        digest = default;
        if (string.IsNullOrEmpty(text)) { error = "empty digest"; return false; }
        int colon = text.IndexOf(':');
        if (colon <= 0) { error = $"\"{text}\" is not a digest (algorithm:hex)"; return false; }
        string algorithm = text[..colon], hex = text[(colon + 1)..];
        if (algorithm != Sha256) { error = $"digest algorithm \"{algorithm}\" of \"{text}\" is not supported (only sha256)"; return false; }
        if (hex.Length != 64 || !hex.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f'))
        {
            error = $"\"{text}\" is not a sha256 digest (64 lowercase hex digits)";
            return false;
        }
        digest = new Digest(algorithm, hex);
        error = "";
        return true;
    }

    public static Digest Parse(string text) =>
        TryParse(text, out var d, out var error) ? d : throw new ImageException(error);

    public static Digest FromHash(ReadOnlySpan<byte> sha256) =>
        new(Sha256, Convert.ToHexStringLower(sha256));

    public static Digest Of(ReadOnlySpan<byte> content) => FromHash(SHA256.HashData(content));
}
