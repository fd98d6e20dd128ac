using System.Security.Cryptography;

namespace Berth.Runtime.Images;

/// <summary>
/// A read-only stream that hashes what passes through it and, on reaching the end, checks the
/// sha256 digest (and the size, when known) against what the image said. Content is consumed as it
/// streams, so callers that act on it (unpacking) must work in a place they discard on failure, and
/// call <see cref="VerifyToEnd"/> when they are done: a consumer that stops early (a tar reader
/// stopping at the end-of-archive blocks) would otherwise never reach the check.
/// </summary>
public sealed class VerifyingStream : Stream
{
    private readonly Stream _inner;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly Digest _expected;
    private readonly long _expectedSize;
    private readonly string _what;
    private readonly bool _ownsInner;
    private long _read;
    private bool _verified;

    /// <param name="what">Names the content in errors, e.g. "blob sha256:… (/path/blobs/sha256/…)".</param>
    /// <param name="expectedSize">The descriptor's size, or -1 when none is known (a diffID).</param>
    public VerifyingStream(Stream inner, Digest expected, long expectedSize, string what, bool ownsInner = true)
    {
        _inner = inner;
        _expected = expected;
        _expectedSize = expectedSize;
        _what = what;
        _ownsInner = ownsInner;
    }

    public long BytesRead => _read;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_verified) return 0;
        int n = _inner.Read(buffer);
        if (n == 0)
        {
            Verify();
            return 0;
        }
        _read += n;
        if (_expectedSize >= 0 && _read > _expectedSize)
            throw new ImageException($"{_what}: longer than the {_expectedSize} bytes its descriptor gives");
        _hash.AppendData(buffer[..n]);
        return n;
    }

    /// <summary>Reads whatever is left and checks size and digest; throws on any mismatch.</summary>
    public void VerifyToEnd()
    {
        byte[] buf = new byte[64 * 1024];
        while (Read(buf) > 0) { }
    }

    private void Verify()
    {
        if (_verified) return;
        if (_expectedSize >= 0 && _read != _expectedSize)
            throw new ImageException($"{_what}: {_read} bytes, but its descriptor gives {_expectedSize} (digest {_expected})");
        var actual = Digest.FromHash(_hash.GetHashAndReset());
        if (actual != _expected)
            throw new DigestMismatchException(_what, _expected, actual);
        _verified = true;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _read; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
            if (_ownsInner) _inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
