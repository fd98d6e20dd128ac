namespace Berth.Runtime.Images;

/// <summary>
/// An image that cannot be read or unpacked. The message always says what (file, JSON path, digest,
/// layer entry) and where, because the operator only ever sees the message.
/// </summary>
public class ImageException : Exception
{
    public ImageException(string message) : base(message) { }
    public ImageException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>A blob whose content does not hash to the digest that names it.</summary>
public sealed class DigestMismatchException : ImageException
{
    public Digest Expected { get; }
    public Digest Actual { get; }
    /// <summary>The blob and where it is, e.g. "blob sha256:… (/images/blobs/sha256/…)".</summary>
    public string What { get; }

    public DigestMismatchException(string what, Digest expected, Digest actual, Exception? inner = null)
        : base($"{what}: content does not match its digest {expected} (it hashes to {actual})"
            + (inner is null ? "" : $"; reading it failed first with: {inner.Message}"), inner)
    {
        Expected = expected;
        Actual = actual;
        What = what;
    }
}

/// <summary>
/// A layer entry refused because it would reach outside the root filesystem
/// (see <see cref="LayerUnpacker"/> for which entries are refused and which are contained).
/// </summary>
public sealed class UnsafeLayerEntryException : ImageException
{
    public string Entry { get; }
    public string Layer { get; }

    public UnsafeLayerEntryException(string layer, string entry, string reason)
        : base($"layer {layer}: entry \"{entry}\" refused: {reason}")
    {
        Layer = layer;
        Entry = entry;
    }
}
