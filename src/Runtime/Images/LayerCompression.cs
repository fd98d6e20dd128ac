using System.IO.Compression;

namespace Berth.Runtime.Images;

/// <summary>
/// Turns a layer blob into its tar stream. The compression is detected from the first bytes, not
/// the media type: Docker and containerd do the same, and registries are known to serve gzip under
/// the plain tar type (and the reverse).
/// </summary>
public static class LayerCompression
{
    public enum Kind { Tar, Gzip, Zstd, Bzip2, Xz }

    public static Kind Detect(ReadOnlySpan<byte> head) => head switch
    {
        [0x1f, 0x8b, ..] => Kind.Gzip,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Kind.Zstd,
        [(byte)'B', (byte)'Z', (byte)'h', ..] => Kind.Bzip2,
        [0xfd, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0x00, ..] => Kind.Xz,
        _ => Kind.Tar,
    };

    /// <summary>
    /// The uncompressed tar stream of <paramref name="blob"/> (which it disposes unless <paramref name="leaveOpen"/>).
    /// zstd, bzip2 and xz are refused with a message naming the layer: no AOT-safe managed decoder
    /// for them ships with .NET 9, and the OS image carries no libzstd to bind to.
    /// </summary>
    public static Stream Decompress(Stream blob, string layer, bool leaveOpen = false)
    {
        var head = new byte[6];
        int got = 0;
        while (got < head.Length)
        {
            int n = blob.Read(head, got, head.Length - got);
            if (n == 0) break;
            got += n;
        }
        var whole = new PrefixedStream(head.AsMemory(0, got), blob, leaveOpen);
        var kind = Detect(head.AsSpan(0, got));
        return kind switch
        {
            Kind.Tar => whole,
            Kind.Gzip => new GZipStream(whole, CompressionMode.Decompress, leaveOpen: false),
            _ => throw new ImageException(
                $"layer {layer} is {kind.ToString().ToLowerInvariant()}-compressed, which Berth does not support (gzip and uncompressed tar only)"),
        };
    }

    /// <summary>Replays bytes already read for detection, then continues with the rest.</summary>
    private sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream rest, bool leaveOpen) : ReadOnlyForwardStream
    {
        private ReadOnlyMemory<byte> _prefix = prefix;


        public override int Read(Span<byte> buffer)
        {
            if (_prefix.IsEmpty) return rest.Read(buffer);
            int n = Math.Min(buffer.Length, _prefix.Length);
            _prefix.Span[..n].CopyTo(buffer);
            _prefix = _prefix[n..];
            return n;
        }


        protected override void Dispose(bool disposing)
        {
            if (disposing && !leaveOpen) rest.Dispose();
            base.Dispose(disposing);
        }
    }
}
