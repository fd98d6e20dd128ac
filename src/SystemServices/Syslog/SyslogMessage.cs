namespace Berth.SystemServices.Syslog;

/// <summary>One SD-ELEMENT of RFC 5424: <c>[id name="value" ...]</c>.</summary>
public sealed record StructuredDataElement(string Id, IReadOnlyList<KeyValuePair<string, string>> Parameters);

/// <summary>A log message, whichever way it came in (RFC 3164, RFC 5424, kernel log, a service's stdout).</summary>
public sealed record SyslogMessage
{
    public int Facility { get; init; } = Facilities.User;
    public int Severity { get; init; } = Severities.Notice;
    /// <summary>The time the message carries in the log: its own when it has a trustworthy one, else when it arrived.</summary>
    public DateTimeOffset Timestamp { get; init; }
    public string? Hostname { get; init; }
    public string? AppName { get; init; }
    public string? ProcId { get; init; }
    public string? MsgId { get; init; }
    public IReadOnlyList<StructuredDataElement> StructuredData { get; init; } = [];
    public string Text { get; init; } = "";
    /// <summary>For kernel records: their /dev/kmsg sequence number, remembered so a restart does not log them twice.</summary>
    public ulong? KernelSequence { get; init; }

    public int Priority => Facility * 8 + Severity;
}

public static class Facilities
{
    public const int Kernel = 0, User = 1, Daemon = 3, Syslog = 5;

    private static readonly string[] Names =
        ["kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
         "ntp", "security", "console", "solaris-cron", "local0", "local1", "local2", "local3", "local4", "local5",
         "local6", "local7"];

    public static string Name(int facility) => facility >= 0 && facility < Names.Length ? Names[facility] : facility.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

public static class Severities
{
    public const int Emergency = 0, Alert = 1, Critical = 2, Error = 3, Warning = 4, Notice = 5, Info = 6, Debug = 7;

    private static readonly string[] Names = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];

    public static string Name(int severity) => Names[severity & 7];
}
