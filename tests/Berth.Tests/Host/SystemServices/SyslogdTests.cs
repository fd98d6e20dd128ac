using System.Net;
using System.Net.Sockets;
using System.Text;
using Berth.Runtime.Interop;
using Berth.SystemServices.Syslog;
using Xunit;
using Xunit.Abstractions;

namespace Berth.Tests.Host.SystemServices;

/// <summary>syslogd as a plain process on paths in a temporary directory (forwarding only to 127.0.0.1).</summary>
public sealed class SyslogdTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private static string ReadLog(string path) => File.Exists(path) ? File.ReadAllText(path) : "";

    private static void SendDatagram(string socketPath, string message)
    {
        using var s = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        s.Connect(new UnixDomainSocketEndPoint(socketPath));
        s.Send(Encoding.UTF8.GetBytes(message));
    }

    [Fact]
    public void Datagrams_stream_lines_and_kernel_records_land_in_the_log_and_are_forwarded_over_udp()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["kmsg"], "6,0,1500000,-;Linux version test\n SUBSYSTEM=x\n3,1,2000000,-;oops \\x5c here\n");
        using var collector = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)collector.Client.LocalEndPoint!).Port;
        using var syslogd = new ServiceProcess("syslogd",
        [
            "--socket", dir["log"], "--kmsg", dir["kmsg"], "--kmsg-state", dir["kmsg.state"], "--stream", dir["stream"],
            "--out", dir["var/log/messages"], "--hostname", "testhost", "--forward", $"udp://127.0.0.1:{port}",
        ]);
        Assert.True(HostRun.Until(() => File.Exists(dir["log"]) && File.Exists(dir["stream"]), Timeout), syslogd.Stderr);
        Assert.Equal(0x1b6, (int)File.GetUnixFileMode(dir["log"]));

        SendDatagram(dir["log"], "<30>Dec  1 21:55:00 myapp[42]: hello over dgram");
        using (var stream = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            stream.Connect(new UnixDomainSocketEndPoint(dir["stream"]));
            stream.Send("websvc pid=7\nfrom stdout\n<3>it broke\n"u8.ToArray());
        }

        string log = dir["var/log/messages"];
        Assert.True(HostRun.Until(() => ReadLog(log).Contains("it broke", StringComparison.Ordinal), Timeout), ReadLog(log) + syslogd.Stderr);
        string text = ReadLog(log);
        output.WriteLine(text);
        Assert.Contains(" testhost daemon.info myapp[42]: hello over dgram\n", text, StringComparison.Ordinal);
        Assert.Contains(" testhost daemon.info websvc[7]: from stdout\n", text, StringComparison.Ordinal);
        Assert.Contains(" testhost daemon.err websvc[7]: it broke\n", text, StringComparison.Ordinal);
        Assert.Contains(" testhost kern.info kernel: Linux version test\n", text, StringComparison.Ordinal);
        Assert.Contains(" testhost kern.err kernel: oops \\ here\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("SUBSYSTEM", text, StringComparison.Ordinal);
        Assert.True(HostRun.Until(() => File.Exists(dir["kmsg.state"]), Timeout), "the kernel log position is recorded after the sync");
        Assert.Equal("1", File.ReadAllText(dir["kmsg.state"]).Split(' ')[1].Trim());

        var forwarded = new List<string>();
        collector.Client.ReceiveTimeout = 5000;
        while (!forwarded.Any(f => f.Contains("hello over dgram", StringComparison.Ordinal)))
        {
            var from = new IPEndPoint(IPAddress.Any, 0);
            forwarded.Add(Encoding.UTF8.GetString(collector.Receive(ref from)));
        }
        var hello = SyslogParser.Parse(forwarded.Single(f => f.Contains("hello over dgram", StringComparison.Ordinal)), DateTimeOffset.UnixEpoch);
        Assert.Equal(("myapp", "42", "testhost", 30), (hello.AppName, hello.ProcId, hello.Hostname, hello.Priority));
        Assert.StartsWith("<30>1 ", forwarded.Single(f => f.Contains("hello over dgram", StringComparison.Ordinal)), StringComparison.Ordinal);

        syslogd.Signal(Consts.SIGTERM);
        Assert.Equal(0, syslogd.WaitForExit(Timeout));
        Assert.False(File.Exists(dir["log"]), "the datagram socket is removed on SIGTERM");
        Assert.False(File.Exists(dir["stream"]));
        Assert.EndsWith("stopping (SIGTERM)\n", ReadLog(log), StringComparison.Ordinal);
    }

    [Fact]
    public void Rotation_keeps_n_files_under_the_size_limit()
    {
        using var dir = new TempDir();
        using var syslogd = new ServiceProcess("syslogd",
            ["--socket", dir["log"], "--kmsg", "none", "--out", dir["messages"], "--max-size", "4K", "--rotate", "2"]);
        Assert.True(HostRun.Until(() => File.Exists(dir["log"]), Timeout), syslogd.Stderr);
        // Sent in one burst: most land in one batch, which must still be split at the size limit.
        for (int i = 0; i < 200; i++) SendDatagram(dir["log"], $"<13>app: message {i:D4} " + new string('x', 60));
        Assert.True(HostRun.Until(() => ReadLog(dir["messages"]).Contains("message 0199", StringComparison.Ordinal), Timeout), syslogd.Stderr);
        syslogd.Signal(Consts.SIGTERM);
        Assert.Equal(0, syslogd.WaitForExit(Timeout));

        Assert.True(File.Exists(dir["messages.1"]));
        Assert.True(File.Exists(dir["messages.2"]));
        Assert.False(File.Exists(dir["messages.3"]));
        foreach (var f in new[] { "messages", "messages.1", "messages.2" })
            Assert.InRange(new FileInfo(dir[f]).Length, 1, 4096);
        // The newest messages are in the current file, the older ones in .1 then .2, none twice.
        var numbers = new[] { "messages.2", "messages.1", "messages" }
            .SelectMany(f => File.ReadAllLines(dir[f]))
            .Where(l => l.Contains("message ", StringComparison.Ordinal))
            .Select(l => int.Parse(l.Split("message ")[1][..4], System.Globalization.CultureInfo.InvariantCulture))
            .ToList();
        Assert.Equal(numbers.Order(), numbers);
        Assert.Equal(numbers.Distinct().Count(), numbers.Count);
        Assert.Equal(199, numbers[^1]);
    }

    [Fact]
    public void Tcp_forwarding_uses_octet_counting_and_reconnects_after_the_collector_restarts()
    {
        using var dir = new TempDir();
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var syslogd = new ServiceProcess("syslogd",
            ["--socket", dir["log"], "--kmsg", "none", "--out", dir["messages"], "--forward", $"tcp://127.0.0.1:{port}"]);
        Assert.True(HostRun.Until(() => File.Exists(dir["log"]), Timeout), syslogd.Stderr);

        using (var first = listener.AcceptTcpClient())
        {
            SendDatagram(dir["log"], "<13>app: first über");
            var frames = ReadFramesUntil(first.GetStream(), "first über");
            Assert.Contains(frames, f => f.EndsWith("app - - - first über", StringComparison.Ordinal));
        }
        listener.Stop();
        // The collector is down: local logging goes on.
        SendDatagram(dir["log"], "<13>app: while down");
        Assert.True(HostRun.Until(() => ReadLog(dir["messages"]).Contains("while down", StringComparison.Ordinal), Timeout));

        listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        try
        {
            using var second = AcceptWithin(listener, TimeSpan.FromSeconds(20));
            SendDatagram(dir["log"], "<13>app: after reconnect");
            var frames = ReadFramesUntil(second.GetStream(), "after reconnect");
            Assert.Contains(frames, f => f.Contains("after reconnect", StringComparison.Ordinal));
            // Taken in while the collector was down, held, and sent once it was back.
            Assert.Contains(frames, f => f.Contains("while down", StringComparison.Ordinal));
        }
        finally { listener.Stop(); }
        syslogd.Signal(Consts.SIGTERM);
        Assert.Equal(0, syslogd.WaitForExit(Timeout));
    }

    [Fact]
    public void Sighup_reopens_the_log_after_it_was_moved_away()
    {
        using var dir = new TempDir();
        using var syslogd = new ServiceProcess("syslogd", ["--socket", dir["log"], "--kmsg", "none", "--out", dir["messages"]]);
        Assert.True(HostRun.Until(() => File.Exists(dir["log"]), Timeout), syslogd.Stderr);
        SendDatagram(dir["log"], "<13>app: before the move");
        Assert.True(HostRun.Until(() => ReadLog(dir["messages"]).Contains("before the move", StringComparison.Ordinal), Timeout));
        File.Move(dir["messages"], dir["messages.old"]);
        syslogd.Signal(Consts.SIGHUP);
        Assert.True(HostRun.Until(() => File.Exists(dir["messages"]), Timeout), "SIGHUP reopens (creates) the log by name");
        SendDatagram(dir["log"], "<13>app: after the move");
        Assert.True(HostRun.Until(() => ReadLog(dir["messages"]).Contains("after the move", StringComparison.Ordinal), Timeout), syslogd.Stderr);
        Assert.DoesNotContain("after the move", ReadLog(dir["messages.old"]), StringComparison.Ordinal);
        syslogd.Signal(Consts.SIGTERM);
        Assert.Equal(0, syslogd.WaitForExit(Timeout));
    }

    [Fact]
    public void Stdin_lines_are_logged_under_the_given_name()
    {
        using var dir = new TempDir();
        using var syslogd = new ServiceProcess("syslogd",
            ["--socket", "none", "--kmsg", "none", "--out", dir["messages"], "--stdin", "piped"], redirectStdin: true);
        syslogd.StandardInput.Write("one\n<4>two\n");
        syslogd.StandardInput.Flush();
        Assert.True(HostRun.Until(() => ReadLog(dir["messages"]).Contains("two", StringComparison.Ordinal), Timeout), syslogd.Stderr);
        Assert.Contains(" daemon.info piped: one\n", ReadLog(dir["messages"]), StringComparison.Ordinal);
        Assert.Contains(" daemon.warning piped: two\n", ReadLog(dir["messages"]), StringComparison.Ordinal);
        syslogd.Signal(Consts.SIGTERM);
        Assert.Equal(0, syslogd.WaitForExit(Timeout));
    }

    [Fact]
    public void Real_kernel_log_is_read_from_the_start_and_not_logged_twice_after_a_restart()
    {
        using var dir = new TempDir();
        string[] args = ["--socket", "none", "--kmsg", "/dev/kmsg", "--kmsg-state", dir["state"], "--out", dir["messages"]];
        string firstLine = File.ReadLines("/dev/kmsg").First(); // the oldest record still in the ring buffer
        Assert.True(KernelLogRecord.TryParse(Encoding.UTF8.GetBytes(firstLine), out var oldest));
        string expect = "kernel: " + oldest.Text;
        int Count() => ReadLog(dir["messages"]).Split('\n').Count(l => l.EndsWith(expect, StringComparison.Ordinal));

        int afterFirstRun = 0;
        for (int run = 0; run < 2; run++)
        {
            using var syslogd = new ServiceProcess("syslogd", args);
            Assert.True(HostRun.Until(() => Count() >= 1 && File.Exists(dir["state"]), Timeout), syslogd.Stderr);
            Thread.Sleep(300);
            if (run == 0) output.WriteLine($"RSS syslogd idle: {syslogd.RssKiB()} KiB");
            syslogd.Signal(Consts.SIGTERM);
            Assert.Equal(0, syslogd.WaitForExit(Timeout));
            if (run == 0) afterFirstRun = Count();
        }
        Assert.Equal(afterFirstRun, Count());
    }

    private static TcpClient AcceptWithin(TcpListener listener, TimeSpan timeout)
    {
        var task = listener.AcceptTcpClientAsync();
        Assert.True(task.Wait(timeout), "syslogd did not reconnect");
        return task.Result;
    }

    /// <summary>Reads RFC 6587 octet-counted frames until one contains <paramref name="needle"/>.</summary>
    private static List<string> ReadFramesUntil(NetworkStream stream, string needle)
    {
        stream.ReadTimeout = 10_000;
        var frames = new List<string>();
        while (!frames.Any(f => f.Contains(needle, StringComparison.Ordinal)))
        {
            var digits = new StringBuilder();
            int b;
            while ((b = stream.ReadByte()) != ' ')
            {
                Assert.InRange(b, '0', '9');
                digits.Append((char)b);
            }
            var frame = new byte[int.Parse(digits.ToString(), System.Globalization.CultureInfo.InvariantCulture)];
            stream.ReadExactly(frame);
            frames.Add(Encoding.UTF8.GetString(frame));
        }
        return frames;
    }
}
