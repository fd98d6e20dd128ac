using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Berth.SystemServices.Time;

/// <summary>One SNTP request and its answer (RFC 4330 client side), over a connected UDP socket.</summary>
public static class SntpClient
{
    /// <summary>The sample, or why there is none.</summary>
    public static (SntpSample? Sample, string? Problem) Query(NtpServer server, TimeSpan timeout)
    {
        IPEndPoint endpoint;
        try { endpoint = server.Resolve(); }
        catch (Exception e) when (e is SocketException or IndexOutOfRangeException) { return (null, $"cannot resolve {server.Host}: {e.Message}"); }

        using var socket = new Socket(endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        var t1 = DateTimeOffset.UtcNow;
        long started = Stopwatch.GetTimestamp();
        var sent = NtpTimestamp.From(t1);
        try
        {
            // Connected: the kernel drops datagrams from anyone but the server. Fails with no route (early boot).
            socket.Connect(endpoint);
            socket.Send(NtpPacket.ClientRequest(sent).ToBytes());
        }
        catch (SocketException e) { return (null, e.Message); }

        var buffer = new byte[512];
        string problem = "no answer";
        while (true)
        {
            var left = timeout - Stopwatch.GetElapsedTime(started);
            if (left <= TimeSpan.Zero) return (null, problem == "no answer" ? $"no answer within {timeout.TotalSeconds:0.###}s" : problem);
            socket.ReceiveTimeout = Math.Max(1, (int)left.TotalMilliseconds);
            int n;
            try { n = socket.Receive(buffer); }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut) { continue; }
            catch (SocketException e) { return (null, e.SocketErrorCode == SocketError.ConnectionRefused ? "connection refused" : e.Message); }
            // T4 from the monotonic clock: a clock step by someone else mid-exchange must not show up as delay.
            var t4 = t1 + Stopwatch.GetElapsedTime(started);
            var response = NtpPacket.TryParse(buffer.AsSpan(0, n));
            if (response is null) { problem = $"short answer ({n} bytes)"; continue; }
            if (SntpResponseCheck.Problem(response, sent) is { } p)
            {
                problem = p;
                // A kiss-o'-death or unsynchronized server will not change its mind; a bad origin may be a stale answer.
                if (response.OriginTime == sent) return (null, p);
                continue;
            }
            return (new SntpSample(server.ToString(), response, t1, response.ReceiveTime.ToDateTimeOffset(),
                response.TransmitTime.ToDateTimeOffset(), t4), null);
        }
    }
}
