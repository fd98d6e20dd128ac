namespace Berth.SystemServices.Time;

/// <summary>
/// One exchange with a server: T1 we sent, T2 it received, T3 it sent, T4 we received.
/// offset = ((T2 − T1) + (T3 − T4)) / 2 (how far our clock is behind), delay = (T4 − T1) − (T3 − T2).
/// </summary>
public sealed record SntpSample(string Server, NtpPacket Response, DateTimeOffset T1, DateTimeOffset T2, DateTimeOffset T3, DateTimeOffset T4)
{
    public TimeSpan Offset => ((T2 - T1) + (T3 - T4)) / 2;

    public TimeSpan Delay => (T4 - T1) - (T3 - T2);

    /// <summary>The error bound RFC 5905 calls root distance: half the total round trip plus the dispersion.</summary>
    public TimeSpan RootDistance =>
        TimeSpan.FromSeconds(Response.RootDelay / 2 + Response.RootDispersion) + Delay.Duration() / 2;
}

/// <summary>The checks RFC 4330 §5 and RFC 5905 ask of an answer before its time may be used.</summary>
public static class SntpResponseCheck
{
    /// <summary>The largest root distance a usable answer may have (RFC 5905's MAXDIST).</summary>
    public static readonly TimeSpan MaxDistance = TimeSpan.FromSeconds(1.5);

    /// <summary>Null when <paramref name="response"/> is a usable answer to the request sent with <paramref name="sentTransmit"/>.</summary>
    public static string? Problem(NtpPacket response, NtpTimestamp sentTransmit)
    {
        if (response.Mode != NtpMode.Server) return $"mode {(int)response.Mode}, not a server answer";
        if (response.Version is < 3 or > 4) return $"version {response.Version}";
        // An answer that does not echo our transmit time is a stale, duplicate or forged one.
        if (response.OriginTime != sentTransmit) return "origin timestamp does not match the request";
        if (response.Stratum == 0) return $"kiss-o'-death {response.KissCode}";
        if (response.Stratum >= 16) return "server is unsynchronized (stratum 16)";
        if (response.Leap == 3) return "server is unsynchronized (leap indicator 3)";
        if (response.TransmitTime.IsZero) return "transmit timestamp is zero";
        if (response.ReceiveTime.IsZero) return "receive timestamp is zero";
        // Modular difference, so that it holds across the 2036 wrap too.
        if (unchecked((long)(response.TransmitTime.Raw - response.ReceiveTime.Raw)) < 0) return "server sent before it received";
        return null;
    }

    /// <summary>Of the usable samples, the lowest stratum, then the shortest round trip (the least asymmetry error).</summary>
    public static SntpSample? Best(IEnumerable<SntpSample> samples) =>
        samples.Where(s => s.RootDistance < MaxDistance)
            .OrderBy(s => s.Response.Stratum).ThenBy(s => s.Delay).FirstOrDefault();
}
