using Berth.Init.Stage1;
using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Init.Upgrade;

/// <summary>Where the copies of the env block live: read and written whole, in place.</summary>
public interface IEnvBlockCopies
{
    /// <summary>Copy 0 is grub/grubenv (GRUB's first choice), copy 1 grub/grubenv.bak.</summary>
    string Describe(int copy);
    byte[] Read(int copy);
    /// <summary>Overwrites the block in place and makes it durable (pwrite + fsync) before returning.</summary>
    void Write(int copy, byte[] block);
}

/// <summary>
/// grubenv kept in two copies, grub/grubenv then grub/grubenv.bak; grub.cfg loads the second when
/// the first does not load. Every change writes the first copy, then the second, each whole and
/// durable before the next, after making sure the second holds what the first held: a cut at any
/// moment leaves one copy with the old or the new block and the other intact.
/// <para>
/// Inside one copy, a torn block (first bytes new, the rest old) still has a valid header and
/// layout, because every A/B value is one character and the variables keep their places: such a
/// block is a mix of old and new values. The variables are laid out so that every such mix boots
/// a working slot (mkimage.sh writes <c>A_OK B_OK A_TRIES B_TRIES ORDER</c>: an activation raises
/// TRIES before it changes ORDER; a commit sets OK before it clears TRIES), and grub.cfg walks
/// <c>$ORDER A B</c> so a half-written ORDER ("B B") still names both slots. The host test
/// GrubEnvTornWriteTests cuts every write at every byte offset.
/// </para>
/// </summary>
public sealed class GrubEnvStore
{
    private readonly IEnvBlockCopies _copies;

    public GrubEnvStore(IEnvBlockCopies copies) => _copies = copies;

    public sealed record Loaded(GrubEnvironment Env, int Copy, byte[] Raw, IReadOnlyList<string> Problems)
    {
        public AbState State => AbState.From(Env);
    }

    /// <summary>The first copy that parses (GRUB's choice too); throws naming both problems when neither does.</summary>
    public Loaded Load()
    {
        var problems = new List<string>();
        for (int copy = 0; copy < 2; copy++)
        {
            try
            {
                var raw = _copies.Read(copy);
                return new Loaded(GrubEnvironment.Parse(raw, _copies.Describe(copy)), copy, raw, problems);
            }
            catch (Exception e) when (e is GrubEnvironmentException or IOException) { problems.Add(e.Message); }
        }
        throw new GrubEnvironmentException("no valid grubenv copy: " + string.Join("; ", problems));
    }

    /// <summary>Applies <paramref name="change"/> to the current block and writes it to both copies; returns the new state.</summary>
    public AbState Update(Action<GrubEnvironment> change)
    {
        var current = Load();
        var next = current.Env.Clone();
        change(next);
        var block = next.Format();
        // The second copy must hold the state the first one holds before the first is touched:
        // GRUB's own save_env only writes the copy it loaded.
        if (current.Copy == 0 && !SameAs(1, current.Raw)) _copies.Write(1, current.Raw);
        _copies.Write(0, block);
        _copies.Write(1, block);
        return AbState.From(next);
    }

    /// <summary>What <see cref="Repair"/> did: a routine sync (GRUB counted a try in the first copy only) or a restore of a corrupt copy.</summary>
    public sealed record Repaired(string Message, bool WasCorrupt);

    /// <summary>
    /// Brings both copies to the one GRUB reads (at boot: GRUB counted a try in one copy only, or
    /// a cut tore one). Returns what was done, or null when both already agree.
    /// </summary>
    public Repaired? Repair()
    {
        var current = Load();
        int other = 1 - current.Copy;
        if (SameAs(other, current.Raw)) return null;
        _copies.Write(other, current.Raw);
        return current.Copy == 0
            ? new Repaired($"{_copies.Describe(1)} brought up to date with {_copies.Describe(0)}", false)
            : new Repaired($"{_copies.Describe(0)} was invalid ({string.Join("; ", current.Problems)}); restored from {_copies.Describe(1)}", true);
    }

    private bool SameAs(int copy, byte[] raw)
    {
        try { return _copies.Read(copy).AsSpan().SequenceEqual(raw); }
        catch (IOException) { return false; }
    }
}

/// <summary>The two grubenv copies on the ESP partition (found by its GPT label), written through their FAT extents.</summary>
public sealed class EspEnvCopies : IEnvBlockCopies, IDisposable
{
    public const string EspLabel = "esp";
    public static readonly string[] Paths = ["grub/grubenv", "grub/grubenv.bak"];

    private readonly FileDescriptor _fd;
    private readonly IReadOnlyList<FileExtent>[] _extents = new IReadOnlyList<FileExtent>[2];

    /// <param name="baseOffset">Where the ESP starts in <paramref name="device"/>: 0 for the partition, its offset in a disk image.</param>
    public EspEnvCopies(string device, bool writable, long baseOffset = 0)
    {
        _fd = FileDescriptor.Open(device, writable ? O_RDWR : O_RDONLY);
        try
        {
            var fat = new FatVolume(_fd, device, baseOffset);
            for (int i = 0; i < 2; i++)
            {
                var (extents, size) = fat.Locate(Paths[i]);
                if (size != GrubEnvironment.BlockSize)
                    throw new GrubEnvironmentException($"{device}: {Paths[i]} has {size} bytes, not {GrubEnvironment.BlockSize}");
                _extents[i] = extents;
            }
        }
        catch
        {
            _fd.Dispose();
            throw;
        }
    }

    /// <summary>Opens the ESP of the running machine.</summary>
    public static EspEnvCopies OpenSystem(bool writable, PartitionFinder? finder = null)
    {
        var esp = (finder ?? new PartitionFinder()).Scan().FirstOrDefault(d => d.PartitionLabel == EspLabel)
            ?? throw new GrubEnvironmentException($"no partition labelled '{EspLabel}' (the ESP holding grubenv)");
        return new EspEnvCopies(esp.DevicePath, writable);
    }

    public string Describe(int copy) => $"{_fd.Path}:{Paths[copy]}";

    public byte[] Read(int copy)
    {
        var block = new byte[GrubEnvironment.BlockSize];
        int pos = 0;
        foreach (var e in _extents[copy])
        {
            int n = _fd.PRead(block.AsSpan(pos, e.Length), e.Offset);
            if (n != e.Length) throw new IOException($"{Describe(copy)}: short read at byte {e.Offset}");
            pos += n;
        }
        return block;
    }

    public void Write(int copy, byte[] block)
    {
        if (block.Length != GrubEnvironment.BlockSize) throw new ArgumentException("not a 1024-byte block", nameof(block));
        int pos = 0;
        foreach (var e in _extents[copy])
        {
            _fd.PWriteAll(block.AsSpan(pos, e.Length), e.Offset);
            pos += e.Length;
        }
        _fd.FSync();
    }

    public void Dispose() => _fd.Dispose();
}

/// <summary>
/// Test hook for power-cut tests (BERTH_TEST_PAUSE_BEFORE_ENV_WRITE=N): before the N-th block
/// write of this process it says so on stderr and waits, so a test can cut the power exactly
/// between two grubenv writes. Not set, it is not in the path at all.
/// </summary>
public sealed class PausingEnvCopies(IEnvBlockCopies inner, int pauseBefore) : IEnvBlockCopies
{
    public const string Variable = "BERTH_TEST_PAUSE_BEFORE_ENV_WRITE";
    private int _writes;

    public static IEnvBlockCopies Wrap(IEnvBlockCopies inner) =>
        int.TryParse(Environment.GetEnvironmentVariable(Variable), out int n) && n > 0 ? new PausingEnvCopies(inner, n) : inner;

    public string Describe(int copy) => inner.Describe(copy);
    public byte[] Read(int copy) => inner.Read(copy);

    public void Write(int copy, byte[] block)
    {
        if (++_writes == pauseBefore)
        {
            Console.Error.WriteLine($"berth-test: paused before grubenv write {_writes} ({Describe(copy)})");
            Console.Error.Flush();
            Thread.Sleep(TimeSpan.FromMinutes(10));
        }
        inner.Write(copy, block);
    }
}
