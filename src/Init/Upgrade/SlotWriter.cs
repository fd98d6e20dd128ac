using System.Security.Cryptography;
using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Init.Upgrade;

/// <summary>
/// Streams an image into a slot partition, makes it durable, and reads it back from the device
/// (cache dropped) to hash it. Only the check before the write and the read-back hash: the
/// read-back against the signed manifest proves the slot holds the image, whatever happened to the
/// stream in between, and a third hash of the same bytes costs as much as the write itself under
/// emulation. The partition is opened O_EXCL, which the kernel refuses for a block device that is
/// mounted: the running slot can never be written.
/// </summary>
public sealed class SlotWriter
{
    public const int ChunkBytes = 4 * 1024 * 1024;

    private readonly string _device;

    public SlotWriter(string device) => _device = device;

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
