namespace Berth.SystemServices.Time;

/// <summary>ntpd's settings, all from its command line.</summary>
public sealed record NtpdOptions
{
    public IReadOnlyList<NtpServer> Servers { get; init; } = [new("pool.ntp.org", 123)];
    public string StatusPath { get; init; } = "/run/berth/ntp.status";
    public bool DryRun { get; init; }
    public bool Once { get; init; }
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(2);
    public TimeSpan MinPoll { get; init; } = TimeSpan.FromSeconds(64);
    public TimeSpan MaxPoll { get; init; } = TimeSpan.FromSeconds(1024);
    public TimeSpan RetryMax { get; init; } = TimeSpan.FromSeconds(64);
    public TimeSpan StepThreshold { get; init; } = TimeSpan.FromSeconds(0.5);

    public const string Usage = """
        usage: ntpd [options]

          --server HOST[:PORT]   an SNTP server (several allowed; default pool.ntp.org); the usable answer
                                 with the lowest stratum, then the shortest round trip, wins
          --status PATH          state for health checks, JSON (default /run/berth/ntp.status)
          --step-threshold DUR   step the clock (clock_settime) when off by more, else slew (default 0.5s)
          --timeout DUR          wait this long for each server's answer (default 2s)
          --min-poll DUR         poll interval once synchronized; doubles up to --max-poll (64s, 1024s)
          --retry-max DUR        while unsynchronized retry after 2s, doubling up to this (default 64s)
          --dry-run              compute and report, never touch the clock
          --once                 one round, then exit: 0 synchronized, 1 not

        Runs in the background and never waits for the network: status says synced or not.
        SIGTERM/SIGINT: exit 0.
        """;

    public static NtpdOptions FromArguments(IReadOnlyList<string> args)
    {
        var a = ServiceArguments.Parse(args,
            ["server", "status", "step-threshold", "timeout", "min-poll", "max-poll", "retry-max"], ["dry-run", "once"]);
        var d = new NtpdOptions();
        var o = new NtpdOptions
        {
            Servers = a.Values("server") is { Count: > 0 } s ? s.Select(NtpServer.Parse).ToList() : d.Servers,
            StatusPath = a.Value("status", d.StatusPath),
            DryRun = a.Flag("dry-run"),
            Once = a.Flag("once"),
            Timeout = a.Duration("timeout", d.Timeout),
            MinPoll = a.Duration("min-poll", d.MinPoll),
            MaxPoll = a.Duration("max-poll", d.MaxPoll),
            RetryMax = a.Duration("retry-max", d.RetryMax),
            StepThreshold = a.Duration("step-threshold", d.StepThreshold),
        };
        if (o.Timeout <= TimeSpan.Zero) throw new UsageException("--timeout must be positive");
        if (o.MinPoll <= TimeSpan.Zero || o.MaxPoll < o.MinPoll) throw new UsageException("--min-poll must be positive and at most --max-poll");
        return o;
    }
}
