using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Init.Upgrade;

/// <summary>
/// A slot image held in page-aligned memory from the moment it is hashed until it is on the disk.
/// The bytes checked against the signed manifest are the very bytes written: the bundle is read
/// once (one download for a URL), nothing can swap it between the check and the write, and the
/// read-back is a byte compare with this buffer instead of a second SHA-256, which under
/// emulation costs more than the disk itself. Page alignment lets the slot be written and read
/// back with O_DIRECT, skipping the page cache's copies (about ten times faster under TCG).
/// Images larger than half the available memory take the streaming path instead.
/// </summary>
public sealed unsafe class ImageBuffer : IDisposable
{
    public const int Alignment = 4096;
    public const int ChunkBytes = SlotWriter.ChunkBytes;

    private byte* _data;
    private readonly long _allocated;

    public long Size { get; }

    /// <summary>Size rounded up to <see cref="Alignment"/>; the bytes past Size are zero.</summary>
    public long PaddedSize => RoundUp(Size);

    private ImageBuffer(long size)
    {
        Size = size;
        // one page of slack: an O_DIRECT read starts at the page holding the image's first byte
        _allocated = RoundUp(size) + Alignment;
        _data = (byte*)NativeMemory.AlignedAlloc((nuint)_allocated, Alignment);
        long tail = Math.Min(_allocated, 2 * Alignment); // holds [Size, PaddedSize)
        NativeMemory.Clear(_data + _allocated - tail, (nuint)tail);
    }

    public static long RoundUp(long n) => (n + Alignment - 1) / Alignment * Alignment;

    /// <summary>Whether an image of <paramref name="size"/> bytes is held in memory rather than streamed.</summary>
    public static bool Fits(long size) => size <= AvailableMemory() / 2;

    /// <summary>MemAvailable from /proc/meminfo, in bytes (0 when it cannot be read: stream).</summary>
    public static long AvailableMemory()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (!line.StartsWith("MemAvailable:", StringComparison.Ordinal)) continue;
                var kb = line["MemAvailable:".Length..].Trim().Split(' ')[0];
                return long.TryParse(kb, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v * 1024 : 0;
            }
        }
        catch (IOException) { }
        return 0;
    }

    public ReadOnlySpan<byte> Slice(long offset, int length)
    {
        if (offset < 0 || length < 0 || offset + length > PaddedSize) throw new ArgumentOutOfRangeException(nameof(offset));
        return new ReadOnlySpan<byte>(_data + offset, length);
    }

    /// <summary>
    /// Reads <paramref name="size"/> bytes from <paramref name="source"/> while hashing them.
    /// Returns the buffer and the sha256 (hex); a source that ends early is a truncated bundle.
    /// </summary>
    public static (ImageBuffer Image, string Sha256) Load(Stream source, long size, IProgress<long>? progress = null)
    {
        var image = new ImageBuffer(size);
        try
        {
            string sha = image.Fill(0, direct: false, (span, _) => source.Read(span), progress);
            return (image, sha);
        }
        catch { image.Dispose(); throw; }
    }

    /// <summary>
    /// As <see cref="Load(Stream, long, IProgress{long})"/>, but reads the image straight from
    /// <paramref name="path"/> (a file or a block device) at <paramref name="offset"/> with O_DIRECT.
    /// Null when the file system does not do O_DIRECT (tmpfs): the caller reads the stream.
    /// </summary>
    public static (ImageBuffer Image, string Sha256)? LoadDirect(string path, long offset, long size, IProgress<long>? progress = null)
    {
        var fd = OpenDirect(path, O_RDONLY);
        if (fd is null) return null;
        using (fd)
        {
            long start = offset / Alignment * Alignment;
            int skip = (int)(offset - start);
            var image = new ImageBuffer(size);
            try
            {
                string sha = image.Fill(skip, direct: true, (span, at) => fd.PRead(span, start + at), progress);
                if (skip != 0)
                    Buffer.MemoryCopy(image._data + skip, image._data, image._allocated, size); // overlapping: memmove
                NativeMemory.Clear(image._data + size, (nuint)(image._allocated - size));
                return (image, sha);
            }
            catch (SyscallException e) when (e.Errno == EINVAL)
            {
                image.Dispose(); // opened, but the file system refuses direct reads after all
                return null;
            }
            catch { image.Dispose(); throw; }
        }
    }

    /// <summary>A file or device opened with O_DIRECT, or null where the file system does not take it (tmpfs).</summary>
    internal static FileDescriptor? OpenDirect(string path, int flags)
    {
        var fd = FileDescriptor.TryOpen(path, flags | O_DIRECT);
        if (fd is not null) return fd;
        int errno = Marshal.GetLastPInvokeError();
        if (errno == EINVAL) return null;
        throw new SyscallException("open", path, errno);
    }

    /// <summary>
    /// Reads into the buffer from its start on a thread, chunk after chunk, while this thread
    /// hashes the image bytes [skip, skip + Size) as they arrive: the disk (QEMU's I/O thread on a
    /// VM) and the hash work at the same time. Direct reads ask for whole pages.
    /// </summary>
    private string Fill(int skip, bool direct, Func<Span<byte>, long, int> readAt, IProgress<long>? progress)
    {
        long total = skip + Size;
        long limit = direct ? RoundUp(total) : total;
        using var arrived = new BlockingCollection<long>();
        Exception? error = null;
        var reader = new Thread(() =>
        {
            try
            {
                long at = 0;
                while (at < total)
                {
                    int n = readAt(new Span<byte>(_data + at, (int)Math.Min(ChunkBytes, limit - at)), at);
                    if (n <= 0) break;
                    at = Math.Min(at + n, total);
                    arrived.Add(at);
                    if (direct && n % Alignment != 0) break; // a short direct read is the end of the file
                }
            }
            catch (Exception e) { error = e; }
            finally { arrived.CompleteAdding(); }
        }) { IsBackground = true, Name = "image read" };
        reader.Start();

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long hashed = skip;
        foreach (long at in arrived.GetConsumingEnumerable())
        {
            if (at <= hashed) continue;
            hash.AppendData(new ReadOnlySpan<byte>(_data + hashed, (int)(at - hashed)));
            hashed = at;
            progress?.Report(hashed - skip);
        }
        reader.Join();
        if (error is not null) throw error is IOException ? error : new IOException(error.Message, error);
        if (hashed < total) throw new BundleException($"the bundle ends after {hashed - skip} of the image's {Size} bytes (truncated)");
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public void Dispose()
    {
        if (_data is null) return;
        NativeMemory.AlignedFree(_data);
        _data = null;
    }
}
