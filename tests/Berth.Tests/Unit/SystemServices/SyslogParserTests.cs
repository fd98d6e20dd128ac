using Berth.SystemServices.Syslog;
using Xunit;

namespace Berth.Tests.Unit.SystemServices;

public class SyslogParserTests
{
    private static readonly DateTimeOffset Received = new(2026, 12, 1, 21, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Rfc5424_message_with_every_field()
    {
        var m = SyslogParser.Parse(
            "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 42 ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\"] An application event",
            Received);
        Assert.Equal(20, m.Facility); // local4
        Assert.Equal(5, m.Severity);
        Assert.Equal(new DateTimeOffset(2003, 10, 11, 22, 14, 15, 3, TimeSpan.Zero), m.Timestamp);
        Assert.Equal("mymachine.example.com", m.Hostname);
        Assert.Equal("evntslog", m.AppName);
        Assert.Equal("42", m.ProcId);
        Assert.Equal("ID47", m.MsgId);
        var sd = Assert.Single(m.StructuredData);
        Assert.Equal("exampleSDID@32473", sd.Id);
        Assert.Equal([new("iut", "3"), new("eventSource", "Application")], sd.Parameters);
        Assert.Equal("An application event", m.Text);
    }

    [Fact]
    public void Rfc5424_nil_values_offset_timestamp_and_bom()
    {
        var m = SyslogParser.Parse("<34>1 2003-10-11T22:14:15.003-07:00 - su - - - \uFEFF'su root' failed", Received);
        Assert.Equal(4, m.Facility);
        Assert.Equal(2, m.Severity);
        Assert.Equal(new DateTimeOffset(2003, 10, 12, 5, 14, 15, 3, TimeSpan.Zero), m.Timestamp.ToUniversalTime());
        Assert.Null(m.Hostname);
        Assert.Equal("su", m.AppName);
        Assert.Null(m.ProcId);
        Assert.Null(m.MsgId);
        Assert.Empty(m.StructuredData);
        Assert.Equal("'su root' failed", m.Text);
    }

    [Fact]
    public void Rfc5424_structured_data_escapes_and_several_elements_without_message()
    {
        var m = SyslogParser.Parse("<13>1 - host app - - [a x=\"q\\\"uote\\]d\\\\\"][b@1 y=\"\"]", Received);
        Assert.Equal(Received, m.Timestamp);
        Assert.Equal(2, m.StructuredData.Count);
        Assert.Equal("q\"uote]d\\", m.StructuredData[0].Parameters[0].Value);
        Assert.Equal("b@1", m.StructuredData[1].Id);
        Assert.Equal("", m.StructuredData[1].Parameters[0].Value);
        Assert.Equal("", m.Text);
    }

    [Fact]
    public void Glibc_syslog_format_without_hostname()
    {
        var m = SyslogParser.Parse("<30>Dec  1 21:55:00 dhcpcd[412]: eth0: leased 10.0.2.15\n", Received);
        Assert.Equal(3, m.Facility);
        Assert.Equal(6, m.Severity);
        Assert.Null(m.Hostname);
        Assert.Equal("dhcpcd", m.AppName);
        Assert.Equal("412", m.ProcId);
        Assert.Equal("eth0: leased 10.0.2.15", m.Text);
        Assert.Equal(Received, m.Timestamp); // a year-less BSD stamp is not trusted
    }

    [Fact]
    public void Rfc3164_with_hostname_and_tag_without_pid()
    {
        var m = SyslogParser.Parse("<13>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick", Received);
        Assert.Equal("mymachine", m.Hostname);
        Assert.Equal("su", m.AppName);
        Assert.Null(m.ProcId);
        Assert.Equal("'su root' failed for lonvick", m.Text);
    }

    [Fact]
    public void Busybox_logger_without_timestamp()
    {
        var m = SyslogParser.Parse("<12>root: hello there", Received);
        Assert.Equal(1, m.Facility);
        Assert.Equal(4, m.Severity);
        Assert.Equal("root", m.AppName);
        Assert.Equal("hello there", m.Text);
    }

    [Theory]
    [InlineData("just some text")]
    [InlineData("<999>too big a priority")]
    [InlineData("<13>Dec  1 21:55:00 two words")]
    public void Anything_else_is_kept_whole_as_user_notice(string raw)
    {
        var m = SyslogParser.Parse(raw, Received);
        Assert.Null(m.AppName);
        Assert.True(raw.EndsWith(m.Text, StringComparison.Ordinal), m.Text);
        if (!raw.StartsWith("<13>", StringComparison.Ordinal))
        {
            Assert.Equal(raw, m.Text);
            Assert.Equal(13, m.Priority);
        }
    }

    [Fact]
    public void Broken_rfc5424_header_falls_back_to_text()
    {
        var m = SyslogParser.Parse("<13>1 not-a-time host app - - - msg", Received);
        Assert.Equal(Received, m.Timestamp);
        Assert.Contains("msg", m.Text, StringComparison.Ordinal);
        Assert.Null(m.MsgId);
    }
}

public class KernelLogRecordTests
{
    [Fact]
    public void Kmsg_record_fields_and_escapes()
    {
        Assert.True(KernelLogRecord.TryParse("6,339,5140900,-;NET: Registered protocol family 10\\x0a\\x5c done\n"u8, out var r));
        Assert.Equal(6, r.Priority);
        Assert.Equal(339UL, r.Sequence);
        Assert.Equal(5140900UL, r.Microseconds);
        Assert.False(r.Continuation);
        Assert.Equal("NET: Registered protocol family 10\n\\ done", r.Text);
    }

    [Fact]
    public void Extra_header_fields_and_continuation_flag()
    {
        Assert.True(KernelLogRecord.TryParse("30,1,2,c,caller=T1;systemd[1]: hi"u8, out var r));
        Assert.True(r.Continuation);
        var m = r.ToMessage(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), "h");
        Assert.Equal(3, m.Facility);
        Assert.Equal(6, m.Severity);
        Assert.Equal("kernel", m.AppName);
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(20), m.Timestamp);
        Assert.Equal(1UL, m.KernelSequence);
    }

    [Theory]
    [InlineData(" SUBSYSTEM=pci")]
    [InlineData("no header here")]
    [InlineData("6,x,1,-;bad seq")]
    public void Not_records(string line) => Assert.False(KernelLogRecord.TryParse(System.Text.Encoding.ASCII.GetBytes(line), out _));
}

public class LogFormattingTests
{
    private static readonly SyslogMessage Sample = new()
    {
        Facility = 3,
        Severity = 3,
        Timestamp = new DateTimeOffset(2026, 12, 1, 21, 55, 0, 123, TimeSpan.FromHours(1)).AddTicks(4560),
        AppName = "netconf",
        ProcId = "77",
        Text = "line one\nline two",
    };

    [Fact]
    public void Log_line_is_one_line_with_utc_time_facility_and_severity()
    {
        Assert.Equal("2026-12-01T20:55:00.123456Z berth daemon.err netconf[77]: line one#012line two\n",
            LogLineFormatter.Format(Sample, "berth"));
    }

    [Fact]
    public void Rfc5424_output_parses_back_to_the_same_message()
    {
        var m = Sample with
        {
            MsgId = "DHCP",
            Hostname = "host one",
            StructuredData = [new StructuredDataElement("lease@1", [new("ip", "10.0.2.15"), new("q", "a\"]b")])],
        };
        string wire = Rfc5424Formatter.Format(m, "ignored");
        Assert.StartsWith("<27>1 2026-12-01T20:55:00.123456Z host_one netconf 77 DHCP [lease@1 ip=\"10.0.2.15\" q=\"a\\\"\\]b\"] line one", wire);
        var back = SyslogParser.Parse(wire, DateTimeOffset.UnixEpoch);
        Assert.Equal(m.Timestamp, back.Timestamp);
        Assert.Equal(m.StructuredData[0].Parameters, back.StructuredData[0].Parameters);
        Assert.Equal(m.Text, back.Text);
        Assert.Equal("host_one", back.Hostname);
    }

    [Fact]
    public void Rfc5424_output_uses_nil_values()
    {
        var m = new SyslogMessage { Timestamp = DateTimeOffset.UnixEpoch, Text = "x" };
        Assert.Equal("<13>1 1970-01-01T00:00:00.000000Z h - - - - x", Rfc5424Formatter.Format(m, "h"));
    }
}

public class ServiceOutputStreamTests
{
    [Theory]
    [InlineData("ntpd", "ntpd", 30, null)]
    [InlineData("web priority=27 pid=412", "web", 27, "412")]
    public void Header_lines(string line, string name, int priority, string? pid)
    {
        var h = ServiceOutputStream.ParseHeader(line);
        Assert.NotNull(h);
        Assert.Equal((name, priority, pid), (h!.Name, h.Priority, h.ProcId));
    }

    [Theory]
    [InlineData("")]
    [InlineData("web colour=red")]
    [InlineData("web priority=500")]
    [InlineData("priority=3")]
    public void Not_header_lines(string line) => Assert.Null(ServiceOutputStream.ParseHeader(line));

    [Fact]
    public void Severity_prefix_keeps_the_facility_and_full_pri_replaces_it()
    {
        var s = new ServiceOutputStream("web", 16 * 8 + 6);
        var warn = s.ToMessage("<4>disk almost full\r", DateTimeOffset.UnixEpoch);
        Assert.Equal((16, 4, "disk almost full"), (warn.Facility, warn.Severity, warn.Text));
        var full = s.ToMessage("<27>broken", DateTimeOffset.UnixEpoch);
        Assert.Equal((3, 3), (full.Facility, full.Severity));
        Assert.Equal("web", full.AppName);
    }

    [Fact]
    public void Pump_reads_the_header_then_lines_and_splits_overlong_ones()
    {
        var longLine = new string('x', ServiceOutputStream.MaxLine + 10);
        var input = new MemoryStream(System.Text.Encoding.UTF8.GetBytes($"svc pid=9\nfirst\n<3>second\n{longLine}\nlast-without-newline"));
        var got = new List<SyslogMessage>();
        Assert.True(ServiceOutputStream.Pump(input, null, got.Add));
        Assert.Equal(["first", "second"], got.Take(2).Select(m => m.Text));
        Assert.Equal(3, got[1].Severity);
        Assert.Equal(ServiceOutputStream.MaxLine, got[2].Text.Length);
        Assert.Equal(new string('x', 10), got[3].Text);
        Assert.Equal("last-without-newline", got[^1].Text);
        Assert.All(got, m => Assert.Equal(("svc", "9"), (m.AppName!, m.ProcId!)));
    }

    [Fact]
    public void Pump_refuses_a_stream_without_header()
    {
        var got = new List<SyslogMessage>();
        Assert.False(ServiceOutputStream.Pump(new MemoryStream("=bad\nline\n"u8.ToArray()), null, got.Add));
        Assert.Empty(got);
    }
}

public class ForwardTargetTests
{
    [Theory]
    [InlineData("udp://127.0.0.1:5514", ForwardProtocol.Udp, "127.0.0.1", 5514)]
    [InlineData("tcp://logs.example", ForwardProtocol.Tcp, "logs.example", 514)]
    [InlineData("tcp://[::1]:601", ForwardProtocol.Tcp, "::1", 601)]
    [InlineData("udp://[::1]", ForwardProtocol.Udp, "::1", 514)]
    public void Parses(string url, ForwardProtocol protocol, string host, int port) =>
        Assert.Equal(new ForwardTarget(protocol, host, port), ForwardTarget.Parse(url));

    [Theory]
    [InlineData("http://x")]
    [InlineData("udp://:514")]
    [InlineData("tcp://host:0")]
    [InlineData("tcp://host:99999")]
    public void Rejects(string url) => Assert.Throws<Berth.SystemServices.UsageException>(() => ForwardTarget.Parse(url));
}
