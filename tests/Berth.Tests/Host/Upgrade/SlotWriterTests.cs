using System.Security.Cryptography;
using Berth.Init.Upgrade;
using Xunit;

namespace Berth.Tests.Host.Upgrade;

/// <summary>The slot writer on a file standing in for the partition: write, fsync, read back from the device.</summary>
public sealed class SlotWriterTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static byte[] Image(int size)
    {
        var data = new byte[size];
        new Random(7).NextBytes(data);
        return data;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(SlotWriter.ChunkBytes)]
    [InlineData(3 * SlotWriter.ChunkBytes + 12345)]
    public void What_is_written_reads_back_with_the_images_hash(int size)
    {
        var image = Image(size);
        string slot = _dir["slot"];
        File.WriteAllBytes(slot, new byte[size + 4096]);
        var writer = new SlotWriter(slot);
        var seen = new List<long>();
        writer.Write(new MemoryStream(image), size, new Progress(seen));
        Assert.Equal(size, seen[^1]);
        Assert.Equal(image, File.ReadAllBytes(slot).AsSpan(0, size).ToArray());
        string expected = Convert.ToHexStringLower(SHA256.HashData(image));
        Assert.Equal(expected, writer.ReadBack(size));
        Assert.Equal(expected, SlotWriter.Hash(new MemoryStream(image), size));
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(SlotWriter.ChunkBytes, 512)]
    [InlineData(3 * SlotWriter.ChunkBytes + 12345, 1536)]
    public void A_held_image_goes_to_the_slot_and_reads_back_equal_and_a_changed_byte_is_named(int size, int offset)
    {
        var image = Image(size);
        string bundle = _dir["bundle"], slot = _dir["slot"];
        File.WriteAllBytes(bundle, [.. new byte[offset], .. image, .. new byte[700]]);
        File.WriteAllBytes(slot, new byte[size + 8192]);
        string expected = Convert.ToHexStringLower(SHA256.HashData(image));

        var seen = new List<long>();
        var (held, sha) = ImageBuffer.LoadDirect(bundle, offset, size, new Progress(seen)) ?? throw new Xunit.Sdk.XunitException("no O_DIRECT here");
        using (held)
        {
            Assert.Equal(expected, sha);
            Assert.Equal(size, seen[^1]);
            var (fromStream, streamSha) = ImageBuffer.Load(new MemoryStream(image), size);
            fromStream.Dispose();
            Assert.Equal(expected, streamSha);

            var writer = new SlotWriter(slot);
            seen.Clear();
            writer.Write(held, new Progress(seen));
            Assert.Equal(size, seen[^1]);
            var onDisk = File.ReadAllBytes(slot);
            Assert.Equal(image, onDisk.AsSpan(0, size).ToArray());
            writer.CompareReadBack(held);

            int changed = size / 2;
            using (var f = File.OpenWrite(slot)) { f.Position = changed; f.WriteByte((byte)(onDisk[changed] ^ 0x40)); }
            var e = Assert.Throws<BundleException>(() => writer.CompareReadBack(held));
            Assert.Contains($"reads back different from the verified image at byte {changed}", e.Message);
        }
    }

    [Fact]
    public void A_held_image_cut_short_is_a_truncated_bundle()
    {
        var image = Image(SlotWriter.ChunkBytes + 10);
        string bundle = _dir["bundle"];
        File.WriteAllBytes(bundle, image.AsSpan(0, 5000).ToArray());
        var e = Assert.Throws<BundleException>(() => ImageBuffer.LoadDirect(bundle, 0, image.Length));
        Assert.Equal($"the bundle ends after 5000 of the image's {image.Length} bytes (truncated)", e.Message);
        e = Assert.Throws<BundleException>(() => ImageBuffer.Load(new MemoryStream(image, 0, 5000), image.Length));
        Assert.Equal($"the bundle ends after 5000 of the image's {image.Length} bytes (truncated)", e.Message);
    }

    [Fact]
    public void A_short_stream_is_a_truncated_bundle_and_a_short_device_a_read_back_error()
    {
        var image = Image(SlotWriter.ChunkBytes + 10);
        string slot = _dir["slot"];
        File.WriteAllBytes(slot, new byte[100]);
        var writer = new SlotWriter(slot);
        var e = Assert.Throws<BundleException>(() => writer.Write(new MemoryStream(image, 0, 5000), image.Length));
        Assert.Equal($"the bundle ends after 5000 of the image's {image.Length} bytes (truncated)", e.Message);
        Assert.Throws<BundleException>(() => SlotWriter.Hash(new MemoryStream(image, 0, 5000), image.Length));
        var io = Assert.Throws<IOException>(() => writer.ReadBack(image.Length));
        Assert.Contains("ends after", io.Message);
    }

    [Fact]
    public void A_failing_source_fails_the_write_with_its_reason()
    {
        string slot = _dir["slot"];
        File.WriteAllBytes(slot, new byte[SlotWriter.ChunkBytes * 3]);
        var e = Assert.Throws<IOException>(() => new SlotWriter(slot).Write(new FailingStream(SlotWriter.ChunkBytes + 1), SlotWriter.ChunkBytes * 2));
        Assert.Equal("download failed: connection reset", e.Message);
    }

    private sealed class Progress(List<long> seen) : IProgress<long>
    {
        public void Report(long value) => seen.Add(value);
    }

    /// <summary>Gives <paramref name="good"/> bytes, then fails as a dropped download does.</summary>
    private sealed class FailingStream(long good) : Stream
    {
        private long _pos;
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_pos >= good) throw new IOException("download failed: connection reset");
            int n = (int)Math.Min(count, good - _pos);
            _pos += n;
            return n;
        }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _pos; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
