using Berth.Runtime.Interop;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Runtime.Linux;

/// <summary>The kernel's realtime clock: step (clock_settime), slew and NTP state (adjtimex).</summary>
public static class KernelClock
{
    /// <summary>What adjtimex reports; read-only, so anyone may ask.</summary>
    public readonly record struct State(int ClockState, int Status, long OffsetMicroseconds, long MaxErrorMicroseconds,
        long TickMicroseconds, long Tolerance)
    {
        public bool Synchronized => (Status & STA_UNSYNC) == 0 && ClockState != TIME_ERROR;
    }

    public static unsafe State Read()
    {
        var t = new LibC.Timex();
        int r = LibC.Adjtimex(&t);
        if (r < 0) throw SyscallException.Last("adjtimex", "read");
        return new State(r, t.Status, t.Offset, t.MaxError, t.Tick, t.Tolerance);
    }

    /// <summary>Sets CLOCK_REALTIME by adding <paramref name="offset"/> to it now.</summary>
    public static unsafe void Step(TimeSpan offset)
    {
        LibC.ClockGetTime(CLOCK_REALTIME, out var now);
        long ns = now.Nanoseconds + (offset.Ticks % TimeSpan.TicksPerSecond) * 100;
        var ts = new LibC.TimeSpec
        {
            Seconds = now.Seconds + offset.Ticks / TimeSpan.TicksPerSecond + Math.DivRem(ns, 1_000_000_000L, out long rem),
            Nanoseconds = rem,
        };
        if (ts.Nanoseconds < 0) { ts.Nanoseconds += 1_000_000_000L; ts.Seconds--; }
        if (LibC.ClockSetTime(CLOCK_REALTIME, &ts) != 0) throw SyscallException.Last("clock_settime", "CLOCK_REALTIME");
    }

    /// <summary>
    /// Slews the clock by <paramref name="offset"/> the way adjtime(3) does (the kernel skews it by at most
    /// 500 ppm until the offset is used up), which never makes time jump or run backwards.
    /// </summary>
    public static unsafe void Slew(TimeSpan offset)
    {
        var t = new LibC.Timex { Modes = ADJ_OFFSET_SINGLESHOT, Offset = offset.Ticks / 10 };
        if (LibC.Adjtimex(&t) < 0) throw SyscallException.Last("adjtimex", "ADJ_OFFSET_SINGLESHOT");
    }

    /// <summary>Tells the kernel the clock is synchronized, with an error bound (the kernel then keeps the RTC in step).</summary>
    public static unsafe void MarkSynchronized(TimeSpan maxError)
    {
        var t = new LibC.Timex
        {
            Modes = ADJ_STATUS | ADJ_MAXERROR | ADJ_ESTERROR,
            Status = 0,
            MaxError = Math.Max(1, maxError.Ticks / 10),
            EstError = Math.Max(1, maxError.Ticks / 10),
        };
        if (LibC.Adjtimex(&t) < 0) throw SyscallException.Last("adjtimex", "ADJ_STATUS");
    }
}
