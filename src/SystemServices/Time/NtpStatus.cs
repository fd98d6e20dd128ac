using System.Text.Json;
using Berth.Runtime.Linux;

namespace Berth.SystemServices.Time;

/// <summary>
/// /run/berth/ntp.status: whether the clock is synchronized and from what, for health checks and
/// `berth` (JSON, replaced atomically so a reader never sees half of it).
/// </summary>
public sealed record NtpStatus
{
    public bool Synced { get; init; }
    public bool DryRun { get; init; }
    public SntpSample? Sample { get; init; }
    public string? Action { get; init; }
    public DateTimeOffset? LastSync { get; init; }
    public DateTimeOffset LastAttempt { get; init; }
    public TimeSpan NextPoll { get; init; }
    public IReadOnlyList<KeyValuePair<string, string>> Problems { get; init; } = [];

    public byte[] ToJson()
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteBoolean("synced", Synced);
            w.WriteBoolean("dry_run", DryRun);
            if (Sample is { } s)
            {
                w.WriteString("server", s.Server);
                w.WriteNumber("stratum", s.Response.Stratum);
                w.WriteNumber("offset_seconds", Math.Round(s.Offset.TotalSeconds, 6));
                w.WriteNumber("delay_seconds", Math.Round(s.Delay.TotalSeconds, 6));
                w.WriteNumber("root_distance_seconds", Math.Round(s.RootDistance.TotalSeconds, 6));
            }
            if (Action is not null) w.WriteString("action", Action);
            if (LastSync is { } ls) w.WriteString("last_sync", ls.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("last_attempt", LastAttempt.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteNumber("next_poll_seconds", Math.Round(NextPoll.TotalSeconds, 3));
            w.WriteStartObject("problems");
            foreach (var (server, problem) in Problems) w.WriteString(server, problem);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        ms.WriteByte((byte)'\n');
        return ms.ToArray();
    }

    public void WriteTo(string path)
    {
        try
        {
            string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
            if (dir is not null) Files.MakeDirectories(dir);
            Files.WriteAtomically(path, ToJson());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { ServiceLog.Warn($"cannot write {path}: {e.Message}"); }
    }
}
