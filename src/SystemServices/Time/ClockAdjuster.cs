using Berth.Runtime.Linux;

namespace Berth.SystemServices.Time;

/// <summary>What ntpd does to the clock; a dry run only says what it would do (tests, and trying a server out).</summary>
public interface IClockAdjuster
{
    void Step(TimeSpan offset);
    void Slew(TimeSpan offset);
    void MarkSynchronized(TimeSpan maxError);
    string Describe { get; }
}

/// <summary>The kernel's CLOCK_REALTIME (needs CAP_SYS_TIME).</summary>
public sealed class KernelClockAdjuster : IClockAdjuster
{
    public void Step(TimeSpan offset) => KernelClock.Step(offset);
    public void Slew(TimeSpan offset) => KernelClock.Slew(offset);
    public void MarkSynchronized(TimeSpan maxError) => KernelClock.MarkSynchronized(maxError);
    public string Describe => "kernel clock";
}

public sealed class DryRunClockAdjuster : IClockAdjuster
{
    public List<(string Action, TimeSpan Offset)> Actions { get; } = new();
    public void Step(TimeSpan offset) => Actions.Add(("step", offset));
    public void Slew(TimeSpan offset) => Actions.Add(("slew", offset));
    public void MarkSynchronized(TimeSpan maxError) { }
    public string Describe => "dry run (the clock is not touched)";
}
