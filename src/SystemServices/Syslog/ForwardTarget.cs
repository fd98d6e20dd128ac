using System.Globalization;

namespace Berth.SystemServices.Syslog;

public enum ForwardProtocol { Udp, Tcp }

/// <summary><c>udp://host[:port]</c> or <c>tcp://host[:port]</c> (port 514 by default; IPv6 as <c>[::1]:514</c>).</summary>
public sealed record ForwardTarget(ForwardProtocol Protocol, string Host, int Port)
{
    public static ForwardTarget Parse(string s)
    {
        ForwardProtocol protocol;
        string rest;
        if (s.StartsWith("udp://", StringComparison.OrdinalIgnoreCase)) (protocol, rest) = (ForwardProtocol.Udp, s[6..]);
        else if (s.StartsWith("tcp://", StringComparison.OrdinalIgnoreCase)) (protocol, rest) = (ForwardProtocol.Tcp, s[6..]);
        else throw new UsageException($"--forward: '{s}' is not udp://host[:port] or tcp://host[:port]");
        rest = rest.TrimEnd('/');
        string host = rest;
        int port = 514;
        string? portText = null;
        if (rest.StartsWith('['))
        {
            int close = rest.IndexOf(']', StringComparison.Ordinal);
            if (close < 0) throw new UsageException($"--forward: '{s}': unclosed [");
            host = rest[1..close];
            if (close + 1 < rest.Length)
            {
                if (rest[close + 1] != ':') throw new UsageException($"--forward: '{s}': expected :port after ]");
                portText = rest[(close + 2)..];
            }
        }
        else if (rest.Count(c => c == ':') == 1)
        {
            int colon = rest.IndexOf(':', StringComparison.Ordinal);
            (host, portText) = (rest[..colon], rest[(colon + 1)..]);
        }
        if (portText is not null && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
            throw new UsageException($"--forward: '{s}': bad port");
        if (host.Length == 0) throw new UsageException($"--forward: '{s}': no host");
        return new ForwardTarget(protocol, host, port);
    }

    public override string ToString() => $"{(Protocol == ForwardProtocol.Udp ? "udp" : "tcp")}://{(Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host)}:{Port}";
}
