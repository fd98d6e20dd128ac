namespace Berth.SystemServices.Time;

/// <summary>
/// The SNTP client loop: ask every server, take the best usable answer, step the clock when it is off
/// by more than the threshold (boot without an RTC: anything goes), slew otherwise; then poll at the
/// minimum interval, doubling while answers keep coming, or retry sooner while none do.
/// </summary>
public sealed class NtpDaemon
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(2);

    private readonly NtpdOptions _options;
    private readonly IClockAdjuster _clock;
    private readonly Func<NtpServer, TimeSpan, (SntpSample?, string?)> _query;
    private DateTimeOffset? _lastSync;
    private TimeSpan _poll;
    private TimeSpan _retry = FirstRetry;

    public NtpDaemon(NtpdOptions options, IClockAdjuster clock, Func<NtpServer, TimeSpan, (SntpSample?, string?)>? query = null)
    {
        _options = options;
        _clock = clock;
        _query = query ?? SntpClient.Query;
        _poll = options.MinPoll;
    }

    /// <summary>One round; returns the status it wrote.</summary>
    public NtpStatus Round()
    {
        var samples = new List<SntpSample>();
        var problems = new List<KeyValuePair<string, string>>();
        foreach (var server in _options.Servers)
        {
            var (sample, problem) = _query(server, _options.Timeout);
            if (sample is not null) samples.Add(sample);
            else problems.Add(new(server.ToString(), problem ?? "unusable"));
        }
        foreach (var s in samples.Where(s => s.RootDistance >= SntpResponseCheck.MaxDistance))
            problems.Add(new(s.Server, $"root distance {s.RootDistance.TotalSeconds:0.###}s is too large"));

        var best = SntpResponseCheck.Best(samples);
        string? action = null;
        TimeSpan next;
        if (best is not null)
        {
            bool step = best.Offset.Duration() > _options.StepThreshold;
            try
            {
                if (step) _clock.Step(best.Offset);
                else _clock.Slew(best.Offset);
                _clock.MarkSynchronized(best.RootDistance);
                action = (step ? "step" : "slew") + (_options.DryRun ? " (dry run)" : "");
                ServiceLog.Info($"{best.Server} stratum {best.Response.Stratum}: offset {best.Offset.TotalSeconds:+0.000000;-0.000000}s, " +
                    $"delay {best.Delay.TotalMilliseconds:0.###}ms: {action}");
                // After a first sync or a step, measure again soon; while it holds, back off.
                _poll = step || _lastSync is null ? _options.MinPoll : Min(_poll * 2, _options.MaxPoll);
                _lastSync = DateTimeOffset.UtcNow;
                _retry = FirstRetry;
            }
            catch (IOException e)
            {
                problems.Add(new("clock", e.Message));
                ServiceLog.Error($"cannot set the clock: {e.Message}");
                best = null;
            }
        }
        if (best is null)
        {
            foreach (var (server, problem) in problems) ServiceLog.Warn($"{server}: {problem}");
            next = _retry;
            _retry = Min(_retry * 2, _options.RetryMax);
        }
        else next = _poll;

        // One lost round does not make the clock wrong: synchronized until two maximum poll intervals pass without an answer.
        bool synced = best is not null || (_lastSync is { } last && DateTimeOffset.UtcNow - last < _options.MaxPoll * 2);
        return new NtpStatus
        {
            Synced = synced,
            DryRun = _options.DryRun,
            Sample = best,
            Action = action,
            LastSync = _lastSync,
            LastAttempt = DateTimeOffset.UtcNow,
            NextPoll = _options.Once ? TimeSpan.Zero : next,
            Problems = problems,
        };
    }

    public int Run(ServiceShutdown shutdown)
    {
        ServiceLog.Info($"servers {string.Join(", ", _options.Servers)}; {_clock.Describe}");
        while (true)
        {
            var status = Round();
            status.WriteTo(_options.StatusPath);
            if (_options.Once) return status.Synced ? 0 : 1;
            if (shutdown.Token.WaitHandle.WaitOne(status.NextPoll)) return 0;
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
