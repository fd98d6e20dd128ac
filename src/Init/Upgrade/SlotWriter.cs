using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Init.Upgrade;

/// <summary>
/// Writes an image into a slot partition, makes it durable, and reads it back from the device.
/// Two ways: a verified image held in memory (<see cref="ImageBuffer"/>) goes out with O_DIRECT
/// and is compared byte for byte on the way back; a larger one is streamed from the bundle and
/// its read-back (cache dropped) is hashed against the signed manifest, which proves the slot
/// holds the image whatever happened to the stream in between. The partition is opened O_EXCL,
/// which the kernel refuses for a block device that is mounted: the running slot can never be
/// written.
/// </summary>
public sealed unsafe class SlotWriter
{
    public const int ChunkBytes = 4 * 1024 * 1024;

    /// <summary>
    /// Test hook for the power-cut tests (BERTH_TEST_SLOT_WRITE_PAUSE_MS=N): N ms after each chunk,
    /// so that cuts timed into the slot write land inside it now that the write takes a blink.
    /// </summary>
    public const string PauseVariable = "BERTH_TEST_SLOT_WRITE_PAUSE_MS";

    private readonly string _device;

    public SlotWriter(string device) => _device = device;

    public TimeSpan PauseAfterChunk { get; init; }

    public static TimeSpan PauseFromEnvironment() =>
        int.TryParse(Environment.GetEnvironmentVariable(PauseVariable), out int ms) && ms > 0 ? TimeSpan.FromMilliseconds(ms) : TimeSpan.Zero;

    /// <summary>
    /// Writes a verified image from memory, then fsyncs (which also flushes the disk's cache).
    /// With O_DIRECT it writes whole pages: the zeros past the image's end stay inside the slot.
    /// Where the device does not take O_DIRECT, or the padding would not fit, it writes through the cache.
    /// </summary>
    public void Write(ImageBuffer image, IProgress<long>? progress = null)
    {
        var fd = ImageBuffer.OpenDirect(_device, O_WRONLY | O_EXCL);
        if (fd is not null && image.PaddedSize > fd.Seek(0, SEEK_END)) { fd.Dispose(); fd = null; }
        bool direct = fd is not null;
        fd ??= FileDescriptor.Open(_device, O_WRONLY | O_EXCL);
        using (fd)
        {
            long length = direct ? image.PaddedSize : image.Size;
            for (long at = 0; at < length; at += ChunkBytes)
            {
                fd.PWriteAll(image.Slice(at, (int)Math.Min(ChunkBytes, length - at)), at);
                progress?.Report(Math.Min(image.Size, at + ChunkBytes));
                if (PauseAfterChunk > TimeSpan.Zero) Thread.Sleep(PauseAfterChunk);
            }
            fd.FSync();
        }
    }

    /// <summary>
    /// Reads the slot back past any cache (O_DIRECT, else after dropping its cached pages) and
    /// compares it with the image; the first differing byte is named.
    /// </summary>
    public void CompareReadBack(ImageBuffer image, IProgress<long>? progress = null)
    {
        var fd = ImageBuffer.OpenDirect(_device, O_RDONLY);
        bool direct = fd is not null;
        fd ??= FileDescriptor.Open(_device, O_RDONLY);
        byte* chunk = (byte*)NativeMemory.AlignedAlloc(ChunkBytes, ImageBuffer.Alignment);
        try
        {
            using (fd)
            {
                if (!direct) fd.DropCachedPages();
                long at = 0;
                while (at < image.Size)
                {
                    int want = (int)Math.Min(ChunkBytes, (direct ? image.PaddedSize : image.Size) - at);
                    var buffer = new Span<byte>(chunk, want);
                    int got = 0;
                    while (got < want)
                    {
                        int n = fd.PRead(buffer[got..], at + got);
                        if (n <= 0) break;
                        got += n;
                    }
                    int compare = (int)Math.Min(got, image.Size - at);
                    var expected = image.Slice(at, compare);
                    var actual = buffer[..compare];
                    if (!actual.SequenceEqual(expected))
                        throw new BundleException($"{_device}: reads back different from the verified image at byte {at + actual.CommonPrefixLength(expected)}: the disk did not keep what was written");
                    at += compare;
                    progress?.Report(at);
                    if (got < want && at < image.Size)
                        throw new IOException($"{_device}: ends after {at} bytes while reading back {image.Size}");
                }
            }
        }
        finally { NativeMemory.AlignedFree(chunk); }
    }

    /// <summary>Writes exactly <paramref name="size"/> bytes from <paramref name="image"/>, then fsyncs.</summary>
    public void Write(Stream image, long size, IProgress<long>? progress = null)
    {
        using var fd = FileDescriptor.Open(_device, O_WRONLY | O_EXCL);
        using var ahead = ReadAhead.Of(image, size, ChunkBytes);
        long written = 0;
        foreach (var chunk in ahead.Chunks())
        {
            fd.PWriteAll(chunk, written);
            written += chunk.Count;
            progress?.Report(written);
            if (PauseAfterChunk > TimeSpan.Zero) Thread.Sleep(PauseAfterChunk);
        }
        if (written < size) throw Truncated(written, size);
        fd.FSync();
    }

    /// <summary>The sha256 (hex) of the first <paramref name="size"/> bytes as the device holds them now.</summary>
    public string ReadBack(long size, IProgress<long>? progress = null)
    {
        using var fd = FileDescriptor.Open(_device, O_RDONLY);
        fd.DropCachedPages();
        using var ahead = new ReadAhead(fd.PRead, size, ChunkBytes);
        string sha = HashChunks(ahead, size, progress, out long done);
        if (done < size) throw new IOException($"{_device}: ends after {done} bytes while reading back {size}");
        return sha;
    }

    /// <summary>Hashes a stream without writing it anywhere (the check before the disk is touched).</summary>
    public static string Hash(Stream image, long size, IProgress<long>? progress = null)
    {
        using var ahead = ReadAhead.Of(image, size, ChunkBytes);
        string sha = HashChunks(ahead, size, progress, out long done);
        if (done < size) throw Truncated(done, size);
        return sha;
    }

    private static string HashChunks(ReadAhead ahead, long size, IProgress<long>? progress, out long done)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        done = 0;
        foreach (var chunk in ahead.Chunks())
        {
            hash.AppendData(chunk);
            done += chunk.Count;
            progress?.Report(done);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static BundleException Truncated(long got, long size) =>
        new($"the bundle ends after {got} of the image's {size} bytes (truncated)");
}

/// <summary>A one-line progress bar on a terminal; silent when stderr is not a tty.</summary>
public sealed class ProgressBar : IProgress<long>
{
    private readonly string _label;
    private readonly long _total;
    private readonly bool _enabled;
    private readonly DateTime _start = DateTime.UtcNow;
    private int _lastPercent = -1;

    public ProgressBar(string label, long total, bool? enabled = null)
    {
        _label = label;
        _total = Math.Max(1, total);
        _enabled = enabled ?? !Console.IsErrorRedirected;
    }

    public void Report(long value)
    {
        if (!_enabled) return;
        int percent = (int)(value * 100 / _total);
        if (percent == _lastPercent) return;
        _lastPercent = percent;
        double secs = Math.Max(0.001, (DateTime.UtcNow - _start).TotalSeconds);
        int filled = percent * 30 / 100;
        Console.Error.Write(FormattableString.Invariant(
            $"\r{_label,-10} [{new string('#', filled)}{new string('.', 30 - filled)}] {percent,3}% {value / 1048576.0,7:F1}/{_total / 1048576.0:F1} MiB {value / 1048576.0 / secs,6:F1} MiB/s"));
        if (value >= _total) Console.Error.WriteLine();
    }
}
