using Berth.Init.Upgrade;
using Xunit;

namespace Berth.Tests.Unit.Upgrade;

/// <summary>PID 1's commit of a trial boot, with a health check the test controls.</summary>
public sealed class BootCommitterTests
{
    private sealed class Copies(byte[] block) : IEnvBlockCopies
    {
        public readonly byte[][] Blocks = [(byte[])block.Clone(), (byte[])block.Clone()];
        public string Describe(int copy) => copy == 0 ? "grubenv" : "grubenv.bak";
        public byte[] Read(int copy) => (byte[])Blocks[copy].Clone();
        public void Write(int copy, byte[] b) => Blocks[copy] = (byte[])b.Clone();
    }

    private sealed class Health(Func<int, bool> healthyAtCall) : IBootHealth
    {
        public int Calls;
        public bool Check(out string detail)
        {
            detail = "console backing-off";
            return healthyAtCall(++Calls);
        }
    }

    private static byte[] Block(int aOk, int bOk, int aTries, int bTries, string order) =>
        new GrubEnvironment().Set("A_OK", aOk.ToString()).Set("B_OK", bOk.ToString()).Set("A_TRIES", aTries.ToString())
            .Set("B_TRIES", bTries.ToString()).Set("ORDER", order).Format();

    private static (BootCommitter.Outcome, Copies, List<string> Reboots) Run(byte[] start, char booted, IBootHealth health, TimeSpan timeout)
    {
        var copies = new Copies(start);
        var reboots = new List<string>();
        var committer = new BootCommitter(() => copies, booted, "0.2.0", health, timeout, reboots.Add, _ => { }, _ => { },
            poll: TimeSpan.FromMilliseconds(10));
        return (committer.Run(), copies, reboots);
    }

    [Fact]
    public void A_trial_boot_is_committed_once_healthy()
    {
        var health = new Health(call => call >= 3);
        var (outcome, copies, reboots) = Run(Block(1, 0, 0, 2, "B A"), 'B', health, TimeSpan.FromSeconds(30));
        Assert.Equal(BootCommitter.Outcome.Committed, outcome);
        Assert.Equal(3, health.Calls);
        Assert.Empty(reboots);
        var state = new GrubEnvStore(copies).Load().State;
        Assert.Equal(new SlotFlags(true, 0), state.B);
        Assert.Equal(new SlotFlags(true, 0), state.A);
        Assert.Equal(copies.Blocks[0], copies.Blocks[1]);
    }

    [Fact]
    public void A_trial_boot_that_never_gets_healthy_is_given_up_and_rebooted()
    {
        var (outcome, copies, reboots) = Run(Block(1, 0, 0, 2, "B A"), 'B', new Health(_ => false), TimeSpan.FromMilliseconds(200));
        Assert.Equal(BootCommitter.Outcome.HealthFailed, outcome);
        var reboot = Assert.Single(reboots);
        Assert.Contains("slot B not healthy within", reboot);
        Assert.Contains("console backing-off", reboot);
        var state = new GrubEnvStore(copies).Load().State;
        Assert.Equal(new SlotFlags(false, 0), state.B);
        Assert.Equal('A', state.NextBoot());
    }

    [Fact]
    public void A_committed_boot_writes_nothing_and_never_asks_health()
    {
        var start = Block(1, 0, 0, 0, "A B");
        var health = new Health(_ => throw new InvalidOperationException("must not be asked"));
        var (outcome, copies, reboots) = Run(start, 'A', health, TimeSpan.FromSeconds(1));
        Assert.Equal(BootCommitter.Outcome.AlreadyCommitted, outcome);
        Assert.Equal(start, copies.Blocks[0]);
        Assert.Empty(reboots);
    }

    [Fact]
    public void Unreadable_grubenv_is_a_warning_not_a_crash()
    {
        var copies = new Copies(new byte[1024]);
        var warnings = new List<string>();
        var committer = new BootCommitter(() => copies, 'A', "0.1.0", new Health(_ => true), TimeSpan.FromSeconds(1),
            _ => { }, _ => { }, warnings.Add);
        Assert.Equal(BootCommitter.Outcome.Error, committer.Run());
        Assert.Contains("no valid grubenv copy", Assert.Single(warnings));
    }
}
