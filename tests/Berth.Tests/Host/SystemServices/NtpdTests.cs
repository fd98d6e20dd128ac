using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Berth.Runtime.Interop;
using Berth.Runtime.Linux;
using Berth.SystemServices.Time;
using Xunit;
using Xunit.Abstractions;

namespace Berth.Tests.Host.SystemServices;

/// <summary>
/// A tiny SNTP server on 127.0.0.1 whose clock runs <see cref="Offset"/> ahead of ours. ntpd runs
/// with --dry-run: CLOCK_REALTIME is not namespaced (time namespaces cover only the monotonic and
/// boot clocks), so a test may not let it touch the host's clock.
/// </summary>
public sealed class FakeSntpServer : IDisposable
{
    private readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly Thread _thread;
    private volatile bool _stop;

    public TimeSpan Offset { get; init; }
    public int Stratum { get; init; } = 2;
    public bool EchoOrigin { get; init; } = true;
    public int Requests;

    public FakeSntpServer()
    {
        _udp.Client.ReceiveTimeout = 200;
        _thread = new Thread(Serve) { IsBackground = true };
        _thread.Start();
    }

    public int Port => ((IPEndPoint)_udp.Client.LocalEndPoint!).Port;

    private void Serve()
    {
        while (!_stop)
        {
            var from = new IPEndPoint(IPAddress.Any, 0);
            byte[] request;
            try { request = _udp.Receive(ref from); }
            catch (SocketException) { continue; }
            var received = DateTimeOffset.UtcNow + Offset;
            var req = NtpPacket.TryParse(request)!;
            Interlocked.Increment(ref Requests);
            var answer = new NtpPacket
            {
                Version = 4,
                Mode = NtpMode.Server,
                Stratum = Stratum,
                RootDelay = 0.001,
                RootDispersion = 0.001,
                ReferenceId = 0x7F000001,
                OriginTime = EchoOrigin ? req.TransmitTime : new NtpTimestamp(req.TransmitTime.Raw ^ 0xFFFF),
                ReceiveTime = NtpTimestamp.From(received),
                TransmitTime = NtpTimestamp.From(DateTimeOffset.UtcNow + Offset),
            };
            _udp.Send(answer.ToBytes(), from);
        }
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
        _udp.Dispose();
    }
}

public sealed class NtpdTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static JsonElement Status(string path) => JsonDocument.Parse(File.ReadAllText(path)).RootElement;

    /// <summary>SNTP's error bound: the measured offset is within half the round trip of the true one.</summary>
    private static void AssertOffset(JsonElement status, double trueOffset)
    {
        double offset = status.GetProperty("offset_seconds").GetDouble();
        double delay = status.GetProperty("delay_seconds").GetDouble();
        Assert.InRange(delay, -0.001, 1.0);
        Assert.InRange(offset, trueOffset - delay / 2 - 0.002, trueOffset + delay / 2 + 0.002);
    }

    [Fact]
    public void Once_measures_the_offset_of_a_server_and_reports_a_step_in_dry_run()
    {
        using var dir = new TempDir();
        using var server = new FakeSntpServer { Offset = TimeSpan.FromSeconds(3600.5) };
        using var ntpd = new ServiceProcess("ntpd", ["--server", $"127.0.0.1:{server.Port}", "--once", "--dry-run", "--status", dir["run/ntp.status"]]);
        Assert.Equal(0, ntpd.WaitForExit(Timeout));
        var s = Status(dir["run/ntp.status"]);
        output.WriteLine(File.ReadAllText(dir["run/ntp.status"]));
        Assert.True(s.GetProperty("synced").GetBoolean());
        Assert.Equal("step (dry run)", s.GetProperty("action").GetString());
        Assert.Equal(2, s.GetProperty("stratum").GetInt32());
        AssertOffset(s, 3600.5);
    }

    [Fact]
    public void A_small_offset_is_slewed()
    {
        using var dir = new TempDir();
        using var server = new FakeSntpServer { Offset = TimeSpan.FromMilliseconds(-200) };
        using var ntpd = new ServiceProcess("ntpd", ["--server", $"127.0.0.1:{server.Port}", "--once", "--dry-run", "--status", dir["status"]]);
        Assert.Equal(0, ntpd.WaitForExit(Timeout));
        var s = Status(dir["status"]);
        Assert.Equal("slew (dry run)", s.GetProperty("action").GetString());
        AssertOffset(s, -0.2);
    }

    [Fact]
    public void Forged_and_kiss_of_death_answers_are_rejected_and_a_good_server_still_wins()
    {
        using var dir = new TempDir();
        using var forged = new FakeSntpServer { Offset = TimeSpan.FromSeconds(-1000), Stratum = 1, EchoOrigin = false };
        using var kiss = new FakeSntpServer { Offset = TimeSpan.FromSeconds(-2000), Stratum = 0 };
        using var good = new FakeSntpServer { Offset = TimeSpan.FromSeconds(42), Stratum = 3 };
        using var ntpd = new ServiceProcess("ntpd",
        [
            "--server", $"127.0.0.1:{forged.Port}", "--server", $"127.0.0.1:{kiss.Port}", "--server", $"127.0.0.1:{good.Port}",
            "--once", "--dry-run", "--timeout", "2s", "--status", dir["status"],
        ]);
        Assert.Equal(0, ntpd.WaitForExit(Timeout));
        var s = Status(dir["status"]);
        Assert.Equal($"127.0.0.1:{good.Port}", s.GetProperty("server").GetString());
        AssertOffset(s, 42);
        var problems = s.GetProperty("problems");
        Assert.Contains("origin", problems.GetProperty($"127.0.0.1:{forged.Port}").GetString(), StringComparison.Ordinal);
        Assert.Contains("kiss-o'-death", problems.GetProperty($"127.0.0.1:{kiss.Port}").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void No_answer_is_unsynchronized_exit_1_and_the_daemon_keeps_retrying_until_sigterm()
    {
        using var dir = new TempDir();
        int deadPort;
        using (var probe = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0))) deadPort = ((IPEndPoint)probe.Client.LocalEndPoint!).Port;
        using (var once = new ServiceProcess("ntpd", ["--server", $"127.0.0.1:{deadPort}", "--once", "--dry-run", "--timeout", "300ms", "--status", dir["once"]]))
        {
            Assert.Equal(1, once.WaitForExit(Timeout));
            Assert.False(Status(dir["once"]).GetProperty("synced").GetBoolean());
        }

        // The daemon does not wait for a server: it reports, retries (2 s, 4 s, ...) and syncs once one answers.
        using var server = new FakeSntpServer { Offset = TimeSpan.FromSeconds(5) };
        using var ntpd = new ServiceProcess("ntpd",
            ["--server", $"127.0.0.1:{deadPort}", "--server", $"127.0.0.1:{server.Port}", "--dry-run", "--timeout", "1s", "--status", dir["status"]]);
        Assert.True(HostRun.Until(() => File.Exists(dir["status"]) && Status(dir["status"]).GetProperty("synced").GetBoolean(), Timeout, 50), ntpd.Stderr);
        var s = Status(dir["status"]);
        Assert.Contains($"127.0.0.1:{deadPort}", s.GetProperty("problems").EnumerateObject().Select(p => p.Name));
        Assert.Equal(64, s.GetProperty("next_poll_seconds").GetDouble());
        Thread.Sleep(200);
        output.WriteLine($"RSS ntpd idle: {ntpd.RssKiB()} KiB");
        ntpd.Signal(Consts.SIGTERM);
        Assert.Equal(0, ntpd.WaitForExit(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void Without_a_network_once_fails_fast_with_the_reason()
    {
        // A fresh network namespace has no route at all, as early boot before netconf: nothing is sent.
        using var dir = new TempDir();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using var ntpd = ServiceProcess.Command("unshare",
            ["-n", ServiceProcess.BinaryPath("ntpd"), "--server", "192.0.2.1", "--once", "--dry-run", "--timeout", "10s", "--status", dir["status"]]);
        Assert.Equal(1, ntpd.WaitForExit(Timeout));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}: it waited for an answer that cannot come");
        var s = Status(dir["status"]);
        Assert.False(s.GetProperty("synced").GetBoolean());
        Assert.Contains("unreachable", s.GetProperty("problems").GetProperty("192.0.2.1:123").GetString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Kernel_clock_state_reads_back_through_adjtimex()
    {
        // Read-only adjtimex: checks the struct timex layout against values the kernel fixes.
        var state = KernelClock.Read();
        Assert.Equal(1_000_000 / 100, state.TickMicroseconds); // USER_HZ is 100 on x86
        Assert.Equal(500L << 16, state.Tolerance); // MAXFREQ, 500 ppm in 16.16
    }
}
