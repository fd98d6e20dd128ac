using System.Collections.Concurrent;

namespace Berth.Init.Upgrade;

/// <summary>
/// Reads a source in chunks on its own thread, a few chunks ahead of the consumer, so that the
/// disk or the network (QEMU's I/O thread, on a VM) works while the consumer hashes or writes.
/// With one CPU this still overlaps: a thread blocked on I/O does not use it.
/// </summary>
public sealed class ReadAhead : IDisposable
{
    /// <summary>Reads some bytes at that offset, as read(2) does: 0 at the source's end.</summary>
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
    public static ReadAhead Of(Stream stream, long size, int chunkBytes) => new((buffer, _) => stream.Read(buffer), size, chunkBytes);

    private void Produce(ChunkReader read, long size)
    {
        try
        {
            long offset = 0;
            while (offset < size)
            {
                var buffer = _free.Take(_stop.Token);
                int want = (int)Math.Min(buffer.Length, size - offset);
                int got = 0;
                while (got < want)
                {
                    int n = read(buffer.AsSpan(got, want - got), offset + got);
                    if (n <= 0) break;
                    got += n;
                }
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
