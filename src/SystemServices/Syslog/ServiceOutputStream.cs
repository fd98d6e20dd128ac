using Berth.Runtime.Linux;
using System.Globalization;
using System.Text;

namespace Berth.SystemServices.Syslog;

/// <summary>
/// The interface for a service's stdout/stderr, which the supervisor pipes in: plain lines, one
/// message each. On the stream socket the first line names the sender:
/// <code>
/// NAME [priority=N] [pid=N]\n      (once, e.g. "ntpd priority=27 pid=412"; N is facility*8+severity)
/// a message\n
/// &lt;4&gt;a warning\n                     ("&lt;0&gt;".."&lt;7&gt;": severity only, as sd-daemon(3) prefixes; "&lt;8&gt;" and up: a full PRI)
/// </code>
/// With <c>--stdin NAME</c> syslogd reads stdin the same way minus the header. The default priority
/// is daemon.info. A line longer than <see cref="MaxLine"/> bytes is split; invalid UTF-8 is replaced.
/// </summary>
public sealed class ServiceOutputStream
{
    public const int MaxLine = 16 * 1024;

    public string Name { get; }
    public int Priority { get; }
    public string? ProcId { get; }

    public ServiceOutputStream(string name, int priority = Facilities.Daemon * 8 + Severities.Info, string? procId = null)
    {
        Name = name;
        Priority = priority;
        ProcId = procId;
    }

    /// <summary>Parses the header line; null when it is not one (no name, unknown key, bad number).</summary>
    public static ServiceOutputStream? ParseHeader(string line)
    {
        var words = line.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0 || words[0].Length > 48 || words[0].Contains('=', StringComparison.Ordinal)) return null;
        int priority = Facilities.Daemon * 8 + Severities.Info;
        string? pid = null;
        foreach (var word in words.Skip(1))
        {
            int eq = word.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) return null;
            string key = word[..eq], value = word[(eq + 1)..];
            switch (key)
            {
                case "priority" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int p) && p <= 191:
                    priority = p;
                    break;
                case "pid" when value.Length > 0 && value.All(char.IsAsciiDigit):
                    pid = value;
                    break;
                default:
                    return null;
            }
        }
        return new ServiceOutputStream(words[0], priority, pid);
    }

    public SyslogMessage ToMessage(string line, DateTimeOffset received)
    {
        int priority = Priority;
        string text = line.TrimEnd('\r');
        if (SyslogParser.TryParsePriority(text, out int p, out int end))
        {
            priority = p < 8 ? (Priority & ~7) | p : p;
            text = text[end..];
        }
        return new SyslogMessage
        {
            Facility = priority >> 3,
            Severity = priority & 7,
            Timestamp = received,
            AppName = Name,
            ProcId = ProcId,
            Text = text,
        };
    }

    /// <summary>
    /// Reads lines until end of stream. With <paramref name="expectHeader"/>, the first line becomes
    /// the header (and a stream whose first line is not one is refused, returning false).
    /// </summary>
    public static bool Pump(Stream input, ServiceOutputStream? source, Action<SyslogMessage> deliver)
    {
        var buffer = BlockingReadBuffer.Allocate(MaxLine);
        int filled = 0;
        while (true)
        {
            int n;
            try { n = input.Read(buffer, filled, buffer.Length - filled); }
            catch (IOException) { n = 0; }
            if (n <= 0)
            {
                if (filled > 0 && source is not null) deliver(source.ToMessage(Decode(buffer.AsSpan(0, filled)), DateTimeOffset.UtcNow));
                return source is not null;
            }
            filled += n;
            int start = 0;
            while (true)
            {
                int nl = Array.IndexOf(buffer, (byte)'\n', start, filled - start);
                if (nl < 0)
                {
                    if (start == 0 && filled == buffer.Length) nl = filled; // too long: split here
                    else break;
                }
                string line = Decode(buffer.AsSpan(start, nl - start));
                start = Math.Min(nl + 1, filled);
                if (source is null)
                {
                    source = ParseHeader(line);
                    if (source is null) return false;
                    continue;
                }
                deliver(source.ToMessage(line, DateTimeOffset.UtcNow));
            }
            Buffer.BlockCopy(buffer, start, buffer, 0, filled - start);
            filled -= start;
        }
    }

    private static string Decode(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);
}
