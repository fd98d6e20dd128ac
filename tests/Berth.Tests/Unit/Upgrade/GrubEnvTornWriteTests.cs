using Berth.Init.Upgrade;
using Xunit;

namespace Berth.Tests.Unit.Upgrade;

/// <summary>
/// Power cuts inside grubenv writes: every write PID 1 makes is cut at every byte offset (the first
/// k bytes new, the rest as before), in either copy. After each cut the copies must still load,
/// GRUB must boot the slot it booted before or the one the change asked for, and the change must
/// be repeatable to completion.
/// </summary>
public sealed class GrubEnvTornWriteTests
{
    /// <summary>Two blocks in memory; a write can be told to stop after some bytes ("the cut").</summary>
    private sealed class MemoryCopies : IEnvBlockCopies
    {
        public readonly byte[][] Blocks = new byte[2][];
        public int WritesBeforeCut = int.MaxValue, CutAtByte;
        public int Writes;

        public MemoryCopies(byte[] initial) { Blocks[0] = (byte[])initial.Clone(); Blocks[1] = (byte[])initial.Clone(); }

        public string Describe(int copy) => copy == 0 ? "grubenv" : "grubenv.bak";
        public byte[] Read(int copy) => (byte[])Blocks[copy].Clone();

        public void Write(int copy, byte[] block)
        {
            if (Writes == WritesBeforeCut)
            {
                Array.Copy(block, Blocks[copy], CutAtByte);
                throw new PowerCut();
            }
            Writes++;
            Blocks[copy] = (byte[])block.Clone();
        }
    }

    private sealed class PowerCut : Exception;

    // mkimage.sh's layout (grub-editenv's warning line, then OK before TRIES before ORDER)
    private static byte[] Block(int aOk, int bOk, int aTries, int bTries, string order) =>
        GrubEnvironment.Parse(Editenv, "grub-editenv").Set("A_OK", aOk.ToString()).Set("B_OK", bOk.ToString()).Set("A_TRIES", aTries.ToString())
            .Set("B_TRIES", bTries.ToString()).Set("ORDER", order).Format();

    private static readonly byte[] Editenv = MakeEditenvBlock();

    private static byte[] MakeEditenvBlock()
    {
        string path = Path.Combine(Path.GetTempPath(), "grubenv-" + Guid.NewGuid().ToString("N"));
        try
        {
            Berth.Qemu.HostTools.Checked("grub-editenv", path, "create");
            Berth.Qemu.HostTools.Checked("grub-editenv", path, "set", "A_OK=1", "B_OK=0", "A_TRIES=0", "B_TRIES=0", "ORDER=A B");
            return File.ReadAllBytes(path);
        }
        finally { File.Delete(path); }
    }

    public static TheoryData<string, byte[], char> Changes() => new()
    {
        // name, starting block, slot the change is about
        { "mark-bad", Block(1, 1, 0, 0, "A B"), 'B' },
        { "mark-bad", Block(1, 1, 0, 0, "B A"), 'A' },
        { "activate", Block(1, 0, 0, 0, "A B"), 'B' },
        { "activate", Block(0, 1, 0, 0, "B A"), 'A' },
        { "commit", Block(1, 0, 0, 2, "B A"), 'B' },
        { "commit", Block(0, 1, 1, 0, "A B"), 'A' },
        { "health-failed", Block(1, 0, 0, 2, "B A"), 'B' },
        { "rollback", Block(1, 1, 0, 0, "B A"), 'A' },
        { "rollback", Block(1, 1, 0, 0, "A B"), 'B' },
    };

    private static Action<GrubEnvironment> Change(string name, char slot) => name switch
    {
        "mark-bad" => e => AbState.Apply(e, slot, new SlotFlags(false, 0)),
        "activate" => e => { AbState.Apply(e, slot, new SlotFlags(false, AbState.MaxTries)); AbState.ApplyOrder(e, slot); },
        "commit" => e => AbState.Apply(e, slot, new SlotFlags(true, 0)),
        "health-failed" => e => AbState.Apply(e, slot, new SlotFlags(false, 0)),
        "rollback" => e => AbState.ApplyOrder(e, slot),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Changes))]
    public void A_cut_at_any_byte_of_any_write_boots_the_old_or_the_new_slot(string name, byte[] start, char slot)
    {
        var change = Change(name, slot);
        var reference = new MemoryCopies(start);
        var store = new GrubEnvStore(reference);
        char before = store.Load().State.NextBoot();
        var after = store.Update(change);
        int writes = reference.Writes;
        Assert.InRange(writes, 2, 3);
        Assert.Equal(reference.Blocks[0], reference.Blocks[1]);

        int cuts = 0;
        for (int w = 0; w < writes; w++)
        {
            for (int k = 0; k <= GrubEnvironment.BlockSize; k++)
            {
                var disk = new MemoryCopies(start) { WritesBeforeCut = w, CutAtByte = k };
                Assert.Throws<PowerCut>(() => new GrubEnvStore(disk).Update(change));
                cuts++;
                disk.WritesBeforeCut = int.MaxValue;
                var loaded = new GrubEnvStore(disk).Load();
                // torn blocks keep their layout: GRUB's load_env reads the same copy PID 1 does
                Assert.Equal(0, loaded.Copy);
                char next = loaded.State.NextBoot();
                Assert.True(next == before || next == after.NextBoot(),
                    $"{name} cut in write {w} at byte {k}: GRUB would boot {next} ({loaded.State.Describe()}), not {before} or {after.NextBoot()}");
                // after the reboot: repair, then the same change goes through
                new GrubEnvStore(disk).Repair();
                Assert.Equal(disk.Blocks[0], disk.Blocks[1]);
                var redone = new GrubEnvStore(disk).Update(change);
                Assert.Equal(after, redone with { Order = redone.Order }, new AbStateComparer());
            }
        }
        Assert.Equal(writes * 1025, cuts);
    }

    [Fact]
    public void A_corrupt_first_copy_is_read_from_the_second_and_repaired()
    {
        var disk = new MemoryCopies(Block(1, 0, 0, 0, "A B"));
        disk.Blocks[0][3] = (byte)'X';
        var store = new GrubEnvStore(disk);
        var loaded = store.Load();
        Assert.Equal(1, loaded.Copy);
        Assert.Contains("header", loaded.Problems.Single());
        var repaired = store.Repair();
        Assert.NotNull(repaired);
        Assert.True(repaired.WasCorrupt);
        Assert.Contains("restored from grubenv.bak", repaired.Message);
        Assert.Equal(disk.Blocks[1], disk.Blocks[0]);
        Assert.Null(store.Repair());
    }

    [Fact]
    public void An_update_first_brings_the_second_copy_to_the_first()
    {
        // GRUB counted a try in grubenv only; the .bak still says 3
        var disk = new MemoryCopies(Block(1, 0, 0, 3, "B A"));
        disk.Blocks[0] = Block(1, 0, 0, 2, "B A");
        new GrubEnvStore(disk).Update(Change("commit", 'B'));
        Assert.Equal(3, disk.Writes);
        Assert.Equal(Block(1, 1, 0, 0, "B A"), disk.Blocks[0]);
        Assert.Equal(disk.Blocks[0], disk.Blocks[1]);
    }

    [Fact]
    public void Both_copies_corrupt_is_a_clear_error()
    {
        var disk = new MemoryCopies(new byte[1024]);
        var e = Assert.Throws<GrubEnvironmentException>(() => new GrubEnvStore(disk).Load());
        Assert.Contains("no valid grubenv copy", e.Message);
        Assert.Contains("grubenv.bak", e.Message);
    }

    private sealed class AbStateComparer : IEqualityComparer<AbState>
    {
        public bool Equals(AbState? x, AbState? y) =>
            x is not null && y is not null && x.A == y.A && x.B == y.B && x.Order.SequenceEqual(y.Order);
        public int GetHashCode(AbState obj) => 0;
    }
}
