using System.Text;

namespace Berth.SystemServices.Syslog;

/// <summary>
/// The line a message becomes in /var/log/messages:
/// <c>2026-12-01T21:55:00.123456Z host daemon.info app[pid]: [sd] text</c>. One message, one line:
/// control characters are escaped rsyslog-style (<c>#012</c> for a newline), so grep and tail work.
/// </summary>
public static class LogLineFormatter
{
    public static string Format(SyslogMessage m, string localHostname)
    {
        var b = new StringBuilder(64 + m.Text.Length);
        AppendTimestamp(b, m.Timestamp);
        b.Append(' ').Append(Clean(m.Hostname ?? localHostname));
        b.Append(' ').Append(Facilities.Name(m.Facility)).Append('.').Append(Severities.Name(m.Severity));
        b.Append(' ').Append(Clean(m.AppName ?? "-"));
        if (m.ProcId is not null) b.Append('[').Append(Clean(m.ProcId)).Append(']');
        b.Append(':');
        if (m.MsgId is not null) b.Append(' ').Append(Clean(m.MsgId));
        if (m.StructuredData.Count > 0)
        {
            b.Append(' ');
            var sd = new StringBuilder();
            StructuredDataParser.Format(m.StructuredData, sd);
            AppendEscaped(b, sd.ToString());
        }
        b.Append(' ');
        AppendEscaped(b, m.Text);
        b.Append('\n');
        return b.ToString();
    }

    /// <summary>RFC 3339 in UTC with microseconds, the form both the log and RFC 5424 use.</summary>
    public static void AppendTimestamp(StringBuilder b, DateTimeOffset t) =>
        b.Append(t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture));

    private static void AppendEscaped(StringBuilder b, string s)
    {
        foreach (char c in s)
        {
            if (c < ' ' && c != '\t' || c == '\x7f')
                b.Append('#').Append(Convert.ToString(c, 8).PadLeft(3, '0'));
            else b.Append(c);
        }
    }

    /// <summary>Header fields are single words: anything else in them would break the line's columns.</summary>
    private static string Clean(string field)
    {
        if (!field.AsSpan().ContainsAnyInRange('\0', ' ')) return field;
        var chars = field.ToCharArray();
        for (int i = 0; i < chars.Length; i++) if (chars[i] <= ' ') chars[i] = '_';
        return new string(chars);
    }
}
