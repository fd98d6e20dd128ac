using Berth.SystemServices;
using Berth.SystemServices.Time;
using Xunit;

namespace Berth.Tests.Unit.SystemServices;

public class NtpTimestampTests
{
    [Fact]
    public void Unix_epoch_is_2208988800_seconds_after_1900()
    {
        var t = NtpTimestamp.From(DateTimeOffset.UnixEpoch);
        Assert.Equal(2208988800u, t.Seconds);
        Assert.Equal(0u, t.Fraction);
        Assert.Equal(DateTimeOffset.UnixEpoch, t.ToDateTimeOffset());
    }

    [Fact]
    public void Fraction_is_binary_and_round_trips_to_the_microsecond()
    {
        var when = new DateTimeOffset(2026, 12, 1, 21, 0, 0, TimeSpan.Zero).AddTicks(5_000_000 + 1234);
        var t = NtpTimestamp.From(when);
        Assert.Equal(0x8000_0000u, t.Fraction & 0xFFF0_0000u); // .5 s and a little
        Assert.InRange((t.ToDateTimeOffset() - when).Duration().Ticks, 0, 10);
    }

    [Fact]
    public void After_2036_the_seconds_wrap_into_era_1()
    {
        var when = new DateTimeOffset(2040, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var t = NtpTimestamp.From(when);
        Assert.True(t.Seconds < 0x8000_0000u);
        Assert.Equal(when, t.ToDateTimeOffset());
    }
}

public class NtpPacketTests
{
    [Fact]
    public void Client_request_is_version_4_mode_3_with_only_the_transmit_time()
    {
        var bytes = NtpPacket.ClientRequest(new NtpTimestamp(0x0102030405060708)).ToBytes();
        Assert.Equal(48, bytes.Length);
        Assert.Equal(0x23, bytes[0]);
        Assert.All(bytes[1..40], b => Assert.Equal(0, b));
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }, bytes[40..]);
    }

    [Fact]
    public void Parses_a_server_answer_field_by_field()
    {
        byte[] b = new byte[48];
        b[0] = 0b01_100_100; // leap 1, version 4, mode 4
        b[1] = 2;
        b[2] = 6;
        b[3] = 0xEC; // -20
        b[4] = 0x00; b[5] = 0x01; b[6] = 0x80; b[7] = 0x00; // root delay 1.5 s
        b[8] = 0x00; b[9] = 0x00; b[10] = 0x40; b[11] = 0x00; // root dispersion 0.25 s
        b[12] = (byte)'G'; b[13] = (byte)'P'; b[14] = (byte)'S';
        b[24] = 0xAA; b[47] = 0x01;
        var p = NtpPacket.TryParse(b)!;
        Assert.Equal((1, 4, NtpMode.Server, 2, 6, -20), (p.Leap, p.Version, p.Mode, p.Stratum, p.Poll, p.Precision));
        Assert.Equal(1.5, p.RootDelay);
        Assert.Equal(0.25, p.RootDispersion);
        Assert.Equal("GPS", p.KissCode);
        Assert.Equal(0xAA00_0000_0000_0000UL, p.OriginTime.Raw);
        Assert.Equal(1UL, p.TransmitTime.Raw);
        Assert.Equal(b, p.ToBytes());
    }

    [Fact]
    public void Short_packets_are_not_parsed() => Assert.Null(NtpPacket.TryParse(new byte[47]));
}

public class SntpCalculationTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    internal static SntpSample Sample(TimeSpan trueOffset, TimeSpan outbound, TimeSpan inbound, TimeSpan processing, int stratum = 2, string server = "s")
    {
        var t1 = T0;
        var t2 = t1 + outbound + trueOffset;
        var t3 = t2 + processing;
        var t4 = t3 - trueOffset + inbound;
        return new SntpSample(server, new NtpPacket { Mode = NtpMode.Server, Stratum = stratum, RootDelay = 0.01, RootDispersion = 0.01 }, t1, t2, t3, t4);
    }

    [Fact]
    public void Symmetric_paths_give_the_exact_offset_and_the_round_trip_without_server_time()
    {
        var s = Sample(TimeSpan.FromSeconds(3600.25), TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(5));
        Assert.Equal(TimeSpan.FromSeconds(3600.25), s.Offset);
        Assert.Equal(TimeSpan.FromMilliseconds(40), s.Delay);
    }

    [Fact]
    public void Asymmetry_errs_by_half_the_difference_and_a_clock_ahead_gives_a_negative_offset()
    {
        var s = Sample(TimeSpan.FromSeconds(-2), TimeSpan.FromMilliseconds(30), TimeSpan.FromMilliseconds(10), TimeSpan.Zero);
        Assert.Equal(TimeSpan.FromSeconds(-2) + TimeSpan.FromMilliseconds(10), s.Offset);
        Assert.Equal(TimeSpan.FromMilliseconds(40), s.Delay);
    }

    [Fact]
    public void Best_prefers_low_stratum_then_short_round_trip_and_skips_distant_servers()
    {
        var far = Sample(TimeSpan.Zero, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2), TimeSpan.Zero, stratum: 1, server: "far");
        var s3 = Sample(TimeSpan.Zero, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(1), TimeSpan.Zero, stratum: 3, server: "s3");
        var s2slow = Sample(TimeSpan.Zero, TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(50), TimeSpan.Zero, stratum: 2, server: "s2slow");
        var s2fast = Sample(TimeSpan.Zero, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(5), TimeSpan.Zero, stratum: 2, server: "s2fast");
        Assert.Equal("s2fast", SntpResponseCheck.Best([far, s3, s2slow, s2fast])!.Server);
        Assert.Null(SntpResponseCheck.Best([far]));
    }
}

public class SntpResponseCheckTests
{
    private static readonly NtpTimestamp Sent = NtpTimestamp.From(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));

    private static NtpPacket Good => new()
    {
        Mode = NtpMode.Server,
        Version = 4,
        Stratum = 2,
        OriginTime = Sent,
        ReceiveTime = new NtpTimestamp(Sent.Raw + 100),
        TransmitTime = new NtpTimestamp(Sent.Raw + 200),
    };

    [Fact]
    public void A_proper_answer_passes() => Assert.Null(SntpResponseCheck.Problem(Good, Sent));

    public static TheoryData<string, NtpPacket> Bad => new()
    {
        { "origin", Good with { OriginTime = new NtpTimestamp(Sent.Raw + 1) } },
        { "kiss-o'-death RATE", Good with { Stratum = 0, ReferenceId = 0x52415445 } },
        { "stratum 16", Good with { Stratum = 16 } },
        { "leap indicator 3", Good with { Leap = 3 } },
        { "mode 3", Good with { Mode = NtpMode.Client } },
        { "version 2", Good with { Version = 2 } },
        { "transmit timestamp is zero", Good with { TransmitTime = NtpTimestamp.Zero } },
        { "before it received", Good with { TransmitTime = new NtpTimestamp(Sent.Raw + 50) } },
    };

    [Theory]
    [MemberData(nameof(Bad))]
    public void Unusable_answers_are_named(string expected, NtpPacket response) =>
        Assert.Contains(expected, SntpResponseCheck.Problem(response, Sent) ?? "(accepted)", StringComparison.Ordinal);
}

public class NtpDaemonTests
{
    private static NtpdOptions Options(params string[] servers) => new()
    {
        Servers = servers.Select(NtpServer.Parse).ToList(),
        DryRun = true,
        StatusPath = "/nonexistent/unused",
        MinPoll = TimeSpan.FromSeconds(64),
        MaxPoll = TimeSpan.FromSeconds(256),
    };

    [Fact]
    public void Large_offset_steps_small_offset_slews_and_polling_backs_off_while_answers_come()
    {
        var offset = TimeSpan.FromSeconds(10);
        var clock = new DryRunClockAdjuster();
        var daemon = new NtpDaemon(Options("a"), clock, (server, _) =>
            (SntpCalculationTests.Sample(offset, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(1), TimeSpan.Zero, server: server.ToString()), null));

        var first = daemon.Round();
        Assert.True(first.Synced);
        Assert.Equal("step (dry run)", first.Action);
        Assert.Equal(TimeSpan.FromSeconds(64), first.NextPoll);
        offset = TimeSpan.FromMilliseconds(30);
        var second = daemon.Round();
        Assert.Equal("slew (dry run)", second.Action);
        Assert.Equal(TimeSpan.FromSeconds(128), second.NextPoll);
        Assert.Equal(TimeSpan.FromSeconds(256), daemon.Round().NextPoll);
        Assert.Equal(TimeSpan.FromSeconds(256), daemon.Round().NextPoll);
        Assert.Equal([("step", TimeSpan.FromSeconds(10)), ("slew", TimeSpan.FromMilliseconds(30))], clock.Actions.Take(2));
    }

    [Fact]
    public void Without_answers_it_retries_sooner_and_stays_unsynchronized()
    {
        var clock = new DryRunClockAdjuster();
        var daemon = new NtpDaemon(Options("a", "b:124"), clock, (_, _) => (null, "no answer"));
        var s = daemon.Round();
        Assert.False(s.Synced);
        Assert.Equal(TimeSpan.FromSeconds(2), s.NextPoll);
        Assert.Equal(["a:123", "b:124"], s.Problems.Select(p => p.Key));
        Assert.Equal(TimeSpan.FromSeconds(4), daemon.Round().NextPoll);
        for (int i = 0; i < 10; i++) daemon.Round();
        Assert.Equal(TimeSpan.FromSeconds(64), daemon.Round().NextPoll);
        Assert.Empty(clock.Actions);
        Assert.Contains("\"synced\": false", System.Text.Encoding.UTF8.GetString(s.ToJson()), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[::1]:1123", "::1", 1123)]
    [InlineData("time.example", "time.example", 123)]
    [InlineData("127.0.0.1:5123", "127.0.0.1", 5123)]
    public void Server_arguments(string arg, string host, int port) => Assert.Equal(new NtpServer(host, port), NtpServer.Parse(arg));

    [Fact]
    public void Bad_server_argument_is_a_usage_error() => Assert.Throws<UsageException>(() => NtpServer.Parse("host:0"));
}
