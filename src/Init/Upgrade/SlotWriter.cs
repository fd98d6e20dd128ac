using System.Security.Cryptography;
using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Init.Upgrade;

/// <summary>
/// Streams an image into a slot partition while hashing it, makes it durable, and reads it back
/// from the device (cache dropped) to compare hashes. The partition is opened O_EXCL, which the
/// kernel refuses for a block device that is mounted: the running slot can never be written.
/// </summary>
public sealed class SlotWriter
{
    public const int ChunkBytes = 4 * 1024 * 1024;

    private readonly string _device;

    public SlotWriter(string device) => _device = device;

    /// <summary>Writes exactly <paramref name="size"/> bytes from <paramref name="image"/>; returns their sha256 (hex).</summary>
    public string Write(Stream image, long size, IProgress<long>? progress = null)
    {
        using var fd = FileDescriptor.Open(_device, O_WRONLY | O_EXCL);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[ChunkBytes];
        long written = 0;
        while (written < size)
        {
            int want = (int)Math.Min(buffer.Length, size - written);
            int got = Fill(image, buffer.AsSpan(0, want));
            if (got < want)
                throw new BundleException($"the bundle ends after {written + got} of the image's {size} bytes (truncated)");
            hash.AppendData(buffer, 0, got);
            fd.PWriteAll(buffer.AsSpan(0, got), written);
            written += got;
            progress?.Report(written);
        }
        fd.FSync();
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The sha256 (hex) of the first <paramref name="size"/> bytes as the device holds them now.</summary>
    public string ReadBack(long size, IProgress<long>? progress = null)
    {
        using var fd = FileDescriptor.Open(_device, O_RDONLY);
        fd.DropCachedPages();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[ChunkBytes];
        long done = 0;
        while (done < size)
        {
            int want = (int)Math.Min(buffer.Length, size - done);
            int got = fd.PRead(buffer.AsSpan(0, want), done);
            if (got <= 0) throw new IOException($"{_device}: ends after {done} bytes while reading back {size}");
            hash.AppendData(buffer, 0, got);
            done += got;
            progress?.Report(done);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Hashes a stream without writing it anywhere (the check before the disk is touched).</summary>
    public static string Hash(Stream image, long size, IProgress<long>? progress = null)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[ChunkBytes];
        long done = 0;
        while (done < size)
        {
            int want = (int)Math.Min(buffer.Length, size - done);
            int got = Fill(image, buffer.AsSpan(0, want));
            hash.AppendData(buffer, 0, got);
            done += got;
            progress?.Report(done);
            if (got < want)
                throw new BundleException($"the bundle ends after {done} of the image's {size} bytes (truncated)");
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static int Fill(Stream s, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = s.Read(buffer[total..]);
            if (n <= 0) break;
            total += n;
        }
        return total;
    }
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
