using System.Globalization;

namespace Berth.SystemServices.Syslog;

/// <summary>
/// Parses what arrives on /dev/log: RFC 5424 (<c>&lt;PRI&gt;1 TIMESTAMP HOST APP PROCID MSGID SD MSG</c>),
/// RFC 3164 as glibc, busybox and others send it (<c>&lt;PRI&gt;Mmm dd hh:mm:ss [HOST] TAG[PID]: MSG</c>, the
/// host usually absent on a local socket), and anything else as plain text. Never fails: a message
/// that fits no format is kept whole, since losing a log line is worse than mis-splitting one.
/// </summary>
public static class SyslogParser
{
    private const int DefaultPriority = Facilities.User * 8 + Severities.Notice;

    public static SyslogMessage Parse(string raw, DateTimeOffset received)
    {
        string s = raw.TrimEnd('\n', '\r', '\0');
        int priority = DefaultPriority;
        int pos = 0;
        if (TryParsePriority(s, out int pri, out int afterPri))
        {
            priority = pri;
            pos = afterPri;
        }
        var baseMessage = new SyslogMessage { Facility = priority >> 3, Severity = priority & 7, Timestamp = received };
        if (pos > 0 && s.Length > pos + 1 && s[pos] == '1' && s[pos + 1] == ' '
            && TryParse5424(s, pos + 2, baseMessage, out var m5424))
            return m5424;
        return Parse3164(s, pos, baseMessage, received);
    }

    /// <summary><c>&lt;N&gt;</c> with 1 to 3 digits and N ≤ 191 (facility 23, severity 7).</summary>
    public static bool TryParsePriority(string s, out int priority, out int end)
    {
        priority = 0;
        end = 0;
        if (s.Length < 3 || s[0] != '<') return false;
        int i = 1;
        while (i < s.Length && i <= 4 && char.IsAsciiDigit(s[i])) priority = priority * 10 + (s[i++] - '0');
        if (i == 1 || i > 4 || i >= s.Length || s[i] != '>' || priority > 191) return false;
        if (i > 2 && s[1] == '0') return false; // RFC 5424: no leading zeros
        end = i + 1;
        return true;
    }

    private static bool TryParse5424(string s, int pos, SyslogMessage baseMessage, out SyslogMessage message)
    {
        message = baseMessage;
        if (!NextField(s, ref pos, out string? timestamp)
            || !NextField(s, ref pos, out string? host)
            || !NextField(s, ref pos, out string? app)
            || !NextField(s, ref pos, out string? procId)
            || !NextField(s, ref pos, out string? msgId))
            return false;
        DateTimeOffset when = baseMessage.Timestamp;
        if (timestamp is not null
            && !DateTimeOffset.TryParse(timestamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out when))
            return false;
        var sd = new List<StructuredDataElement>();
        if (pos < s.Length && s[pos] == '-')
            pos++;
        else if (!StructuredDataParser.TryParse(s, ref pos, sd))
            return false;
        if (pos < s.Length && s[pos] != ' ') return false;
        string text = pos < s.Length ? s[(pos + 1)..] : "";
        if (text.StartsWith('\uFEFF')) text = text[1..];
        message = baseMessage with
        {
            Timestamp = when,
            Hostname = host,
            AppName = app,
            ProcId = procId,
            MsgId = msgId,
            StructuredData = sd,
            Text = text,
        };
        return true;
    }

    /// <summary>A space-terminated header field; "-" (NILVALUE) is null.</summary>
    private static bool NextField(string s, ref int pos, out string? value)
    {
        value = null;
        int space = s.IndexOf(' ', pos);
        if (space <= pos) return false;
        string field = s[pos..space];
        pos = space + 1;
        value = field == "-" ? null : field;
        return true;
    }

    private static SyslogMessage Parse3164(string s, int pos, SyslogMessage baseMessage, DateTimeOffset received)
    {
        // The RFC 3164 stamp has no year, zone or fraction: it only tells where the header ends, and
        // the log keeps the time of arrival, which is at least as accurate on a local socket.
        if (IsBsdTimestamp(s, pos))
        {
            pos += 15;
            if (pos < s.Length && s[pos] == ' ') pos++;
        }
        string? host = null;
        int firstEnd = s.IndexOf(' ', pos);
        if (firstEnd > pos && !LooksLikeTag(s, pos, firstEnd) && firstEnd + 1 < s.Length)
        {
            int secondEnd = s.IndexOf(' ', firstEnd + 1);
            if (secondEnd < 0) secondEnd = s.Length;
            if (LooksLikeTag(s, firstEnd + 1, secondEnd))
            {
                host = s[pos..firstEnd];
                pos = firstEnd + 1;
            }
        }
        string? app = null, procId = null;
        int tagEnd = s.IndexOf(' ', pos);
        if (tagEnd < 0) tagEnd = s.Length;
        if (LooksLikeTag(s, pos, tagEnd))
        {
            string tag = s[pos..(tagEnd - 1)]; // without the colon
            int bracket = tag.IndexOf('[', StringComparison.Ordinal);
            if (bracket >= 0)
            {
                app = tag[..bracket];
                procId = tag[(bracket + 1)..^1];
            }
            else app = tag;
            pos = Math.Min(tagEnd + 1, s.Length);
        }
        return baseMessage with
        {
            Timestamp = received,
            Hostname = host,
            AppName = app is { Length: > 0 } ? app : null,
            ProcId = procId is { Length: > 0 } ? procId : null,
            Text = s[pos..],
        };
    }

    private static readonly string[] Months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    /// <summary><c>Mmm dd hh:mm:ss</c>, the day padded with a space.</summary>
    public static bool IsBsdTimestamp(string s, int pos)
    {
        if (s.Length < pos + 15) return false;
        var t = s.AsSpan(pos, 15);
        if (Array.IndexOf(Months, t[..3].ToString()) < 0 || t[3] != ' ') return false;
        if (!(t[4] == ' ' || char.IsAsciiDigit(t[4])) || !char.IsAsciiDigit(t[5]) || t[6] != ' ') return false;
        return char.IsAsciiDigit(t[7]) && char.IsAsciiDigit(t[8]) && t[9] == ':' && char.IsAsciiDigit(t[10])
            && char.IsAsciiDigit(t[11]) && t[12] == ':' && char.IsAsciiDigit(t[13]) && char.IsAsciiDigit(t[14]);
    }

    /// <summary><c>name:</c> or <c>name[pid]:</c>, name without spaces, brackets or colons (at most 48 characters).</summary>
    private static bool LooksLikeTag(string s, int start, int end)
    {
        int len = end - start;
        if (len < 2 || len > 48 + 130 || s[end - 1] != ':') return false;
        var tag = s.AsSpan(start, len - 1);
        int bracket = tag.IndexOf('[');
        var name = bracket >= 0 ? tag[..bracket] : tag;
        if (name.Length == 0 || name.Length > 48 || name.ContainsAny(":[]")) return false;
        if (bracket < 0) return true;
        var pid = tag[(bracket + 1)..];
        return pid.Length >= 2 && pid[^1] == ']' && !pid[..^1].ContainsAny("[]");
    }
}
