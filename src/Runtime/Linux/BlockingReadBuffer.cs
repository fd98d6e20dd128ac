namespace Berth.Runtime.Linux;

/// <summary>
/// Buffers for reads that block for the life of a process (log pipes, sockets, netlink, input events).
/// A blocked read pins its buffer; a pinned array in gen0 keeps the whole region around it from being
/// compacted or given back, so a few 4 KiB buffers held several MiB resident in PID 1 (5 MiB of gen0
/// fragmentation behind seven log pipes, measured with GC.GetGCMemoryInfo after ready). The pinned object
/// heap keeps them out of the way.
/// </summary>
public static class BlockingReadBuffer
{
    public static byte[] Allocate(int size) => GC.AllocateUninitializedArray<byte>(size, pinned: true);
}
