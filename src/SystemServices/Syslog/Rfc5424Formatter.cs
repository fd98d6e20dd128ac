using System.Text;

namespace Berth.SystemServices.Syslog;

/// <summary>A message as RFC 5424 puts it on the wire, for forwarding.</summary>
public static class Rfc5424Formatter
{
    public static string Format(SyslogMessage m, string localHostname)
    {
        var b = new StringBuilder(80 + m.Text.Length);
        b.Append('<').Append(m.Priority).Append(">1 ");
        LogLineFormatter.AppendTimestamp(b, m.Timestamp);
        b.Append(' ').Append(Field(m.Hostname ?? localHostname, 255));
        b.Append(' ').Append(Field(m.AppName, 48));
        b.Append(' ').Append(Field(m.ProcId, 128));
        b.Append(' ').Append(Field(m.MsgId, 32));
        b.Append(' ');
        if (m.StructuredData.Count == 0) b.Append('-');
        else StructuredDataParser.Format(m.StructuredData, b);
        if (m.Text.Length > 0) b.Append(' ').Append(m.Text);
        return b.ToString();
    }

    /// <summary>PRINTUSASCII (33..126) up to the field's length, or the NILVALUE.</summary>
    private static string Field(string? value, int max)
    {
        if (string.IsNullOrEmpty(value)) return "-";
        var b = new StringBuilder(Math.Min(value.Length, max));
        foreach (char c in value)
        {
            if (b.Length == max) break;
            b.Append(c is > ' ' and < (char)127 ? c : '_');
        }
        return b.ToString();
    }
}
