using System.Globalization;
using System.Text;
using System.Text.Json;
using Berth.Runtime.Linux;

namespace Berth.Init;

/// <summary>One step of the boot: where it started and how long it took, in ms of uptime.</summary>
public sealed record TimelineStep(int Stage, string Name, double StartMs, double DurationMs);

/// <summary>
/// The boot timeline of both stages. Stage 1 hands its steps to stage 2 through a small text
/// file in /run (one step per line) so stage 2 needs no JSON parser on the boot path.
/// </summary>
public sealed class BootTimeline
{
    public const string Stage1HandoffPath = "/run/berth/stage1.timeline";
    public const string JsonPath = "/run/berth/boot-timeline.json";

    private readonly List<TimelineStep> _steps = new();
    private readonly int _stage;

    public BootTimeline(int stage) => _stage = stage;

    public IReadOnlyList<TimelineStep> Steps => _steps;

    public static double NowMs => SystemControl.Uptime.TotalMilliseconds;

    /// <summary>Runs and records one step.</summary>
    public void Step(string name, Action action)
    {
        double start = NowMs;
        try { action(); }
        finally { Record(name, start, NowMs - start); }
    }

    public T Step<T>(string name, Func<T> action)
    {
        double start = NowMs;
        try { return action(); }
        finally { Record(name, start, NowMs - start); }
    }

    public void Record(string name, double startMs, double durationMs)
    {
        lock (_steps) _steps.Add(new TimelineStep(_stage, name, startMs, durationMs));
    }

    public void Add(TimelineStep step)
    {
        lock (_steps) _steps.Add(step);
    }

    public string ToHandoffText()
    {
        var sb = new StringBuilder();
        foreach (var s in _steps)
            sb.Append(CultureInfo.InvariantCulture, $"{s.Stage}\t{s.Name}\t{s.StartMs:F3}\t{s.DurationMs:F3}\n");
        return sb.ToString();
    }

    public static IEnumerable<TimelineStep> ParseHandoff(string text)
    {
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split('\t');
            if (f.Length != 4) continue;
            if (int.TryParse(f[0], out int stage)
                && double.TryParse(f[2], NumberStyles.Float, CultureInfo.InvariantCulture, out double start)
                && double.TryParse(f[3], NumberStyles.Float, CultureInfo.InvariantCulture, out double dur))
                yield return new TimelineStep(stage, f[1], start, dur);
        }
    }

    public byte[] ToJson(double readyUptimeMs, int services) => ToJson(readyUptimeMs, services, []);

    /// <summary>
    /// The timeline as JSON: the boot steps, and each service from its launch to running (healthy,
    /// for one with a health check; -1 while it is not), with the services it depended on, which
    /// is what `berth boot timeline` walks for the critical chain.
    /// </summary>
    public byte[] ToJson(double readyUptimeMs, int services,
        IReadOnlyList<(string Name, double StartMs, double ReadyMs, IReadOnlyList<string> After)> serviceTimes)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("ready_uptime_ms", Math.Round(readyUptimeMs, 3));
            w.WriteNumber("services", services);
            w.WriteStartArray("steps");
            List<TimelineStep> snapshot;
            lock (_steps) snapshot = _steps.OrderBy(s => s.StartMs).ToList();
            foreach (var s in snapshot)
            {
                w.WriteStartObject();
                w.WriteNumber("stage", s.Stage);
                w.WriteString("name", s.Name);
                w.WriteNumber("start_ms", Math.Round(s.StartMs, 3));
                w.WriteNumber("duration_ms", Math.Round(s.DurationMs, 3));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("service_starts");
            foreach (var (name, start, ready, after) in serviceTimes.OrderBy(t => t.StartMs))
            {
                w.WriteStartObject();
                w.WriteString("name", name);
                w.WriteNumber("start_ms", Math.Round(start, 3));
                w.WriteNumber("ready_ms", ready > 0 ? Math.Round(ready, 3) : -1);
                w.WriteStartArray("after");
                foreach (var a in after) w.WriteStringValue(a);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return ms.ToArray();
    }
}
