using System.Collections.Concurrent;

namespace Berth.Init.Upgrade;

/// <summary>
/// Reads a source in chunks on its own thread, a few chunks ahead of the consumer, so that the
/// disk or the network (QEMU's I/O thread, on a VM) works while the consumer hashes or writes.
/// With one CPU this still overlaps: a thread blocked on I/O does not use it.
/// </summary>
public sealed class ReadAhead : IDisposable
{
    /// <summary>Fills as much of the span as the source has at that offset; fewer bytes only at its end.</summary>
    public delegate int ChunkReader(Span<byte> buffer, long offset);

    private readonly BlockingCollection<(byte[]? Buffer, int Length, Exception? Error)> _full;
    private readonly BlockingCollection<byte[]> _free = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;

    public ReadAhead(ChunkReader read, long size, int chunkBytes, int depth = 3)
    {
        _full = new BlockingCollection<(byte[]?, int, Exception?)>(depth);
        for (int i = 0; i < depth + 1; i++) _free.Add(new byte[chunkBytes]);
        _thread = new Thread(() => Produce(read, size)) { IsBackground = true, Name = "read ahead" };
        _thread.Start();
    }

    /// <summary>A stream read from where it is, to <paramref name="size"/> bytes.</summary>
    public static ReadAhead Of(Stream stream, long size, int chunkBytes) => new((buffer, _) =>
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = stream.Read(buffer[total..]);
            if (n <= 0) break;
            total += n;
        }
        return total;
    }, size, chunkBytes);

    private void Produce(ChunkReader read, long size)
    {
        try
        {
            long offset = 0;
            while (offset < size)
            {
                var buffer = _free.Take(_stop.Token);
                int want = (int)Math.Min(buffer.Length, size - offset);
                int got = read(buffer.AsSpan(0, want), offset);
                _full.Add((buffer, got, null), _stop.Token);
                offset += got;
                if (got < want) break;
            }
        }
        catch (OperationCanceledException) { return; }
        catch (Exception e)
        {
            try { _full.Add((null, 0, e), _stop.Token); } catch (OperationCanceledException) { return; }
        }
        _full.CompleteAdding();
    }

    /// <summary>The chunks in order; each is valid until the next one is asked for. Ends early at the source's end.</summary>
    public IEnumerable<ArraySegment<byte>> Chunks()
    {
        foreach (var (buffer, length, error) in _full.GetConsumingEnumerable(_stop.Token))
        {
            if (error is not null) throw new IOException(error.Message, error);
            yield return new ArraySegment<byte>(buffer!, 0, length);
            _free.Add(buffer!);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join();
        _stop.Dispose();
        _full.Dispose();
        _free.Dispose();
    }
}
