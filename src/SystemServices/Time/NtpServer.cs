using System.Globalization;
using System.Net;

namespace Berth.SystemServices.Time;

/// <summary><c>host[:port]</c> (port 123 by default; IPv6 as <c>[::1]:123</c>).</summary>
public sealed record NtpServer(string Host, int Port)
{
    public static NtpServer Parse(string s)
    {
        string host = s;
        string? portText = null;
        if (s.StartsWith('['))
        {
            int close = s.IndexOf(']', StringComparison.Ordinal);
            if (close < 0) throw new UsageException($"--server: '{s}': unclosed [");
            host = s[1..close];
            if (close + 1 < s.Length)
            {
                if (s[close + 1] != ':') throw new UsageException($"--server: '{s}': expected :port after ]");
                portText = s[(close + 2)..];
            }
        }
        else if (s.Count(c => c == ':') == 1)
        {
            int colon = s.IndexOf(':', StringComparison.Ordinal);
            (host, portText) = (s[..colon], s[(colon + 1)..]);
        }
        int port = 123;
        if (portText is not null && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
            throw new UsageException($"--server: '{s}': bad port");
        if (host.Length == 0) throw new UsageException($"--server: '{s}': no host");
        return new NtpServer(host, port);
    }

    /// <summary>Resolved at each poll: a pool name may point elsewhere next time, and DNS may only work later in boot.</summary>
    public IPEndPoint Resolve() =>
        new(IPAddress.TryParse(Host, out var ip) ? ip : Dns.GetHostAddresses(Host)[0], Port);

    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
