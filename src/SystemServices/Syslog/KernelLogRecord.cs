using System.Globalization;
using System.Text;

namespace Berth.SystemServices.Syslog;

/// <summary>
/// One record of /dev/kmsg: <c>prio,seq,usec,flags[,...];message</c>, followed by dictionary lines that
/// start with a space (<c> SUBSYSTEM=pci</c>), which the log does not keep. The kernel escapes
/// non-printable bytes as <c>\xHH</c>.
/// </summary>
public readonly record struct KernelLogRecord(int Priority, ulong Sequence, ulong Microseconds, bool Continuation, string Text)
{
    public static bool TryParse(ReadOnlySpan<byte> line, out KernelLogRecord record)
    {
        record = default;
        int semi = line.IndexOf((byte)';');
        if (semi <= 0) return false;
        string header = Encoding.ASCII.GetString(line[..semi]);
        var fields = header.Split(',');
        if (fields.Length < 4
            || !int.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out int prio)
            || !ulong.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out ulong seq)
            || !ulong.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out ulong usec))
            return false;
        var body = line[(semi + 1)..];
        int nl = body.IndexOf((byte)'\n');
        if (nl >= 0) body = body[..nl];
        record = new KernelLogRecord(prio, seq, usec, fields[3].Contains('c', StringComparison.Ordinal), Unescape(body));
        return true;
    }

    private static string Unescape(ReadOnlySpan<byte> s)
    {
        if (s.IndexOf("\\x"u8) < 0) return Encoding.UTF8.GetString(s);
        var bytes = new List<byte>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 3 < s.Length && s[i + 1] == 'x'
                && byte.TryParse(Encoding.ASCII.GetString(s.Slice(i + 2, 2)), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out byte b))
            {
                bytes.Add(b);
                i += 3;
            }
            else bytes.Add(s[i]);
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <summary>The message this record becomes; the kernel's clock counts from boot.</summary>
    public SyslogMessage ToMessage(DateTimeOffset bootTime, string hostname) => new()
    {
        // Userspace may write to /dev/kmsg with any facility; the kernel's own messages are facility 0.
        Facility = (Priority >> 3) & 0x7f,
        Severity = Priority & 7,
        Timestamp = bootTime.AddTicks((long)Microseconds * 10),
        Hostname = hostname,
        AppName = "kernel",
        Text = Text,
        KernelSequence = Sequence,
    };
}
