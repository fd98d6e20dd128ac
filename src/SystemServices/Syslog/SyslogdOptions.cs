namespace Berth.SystemServices.Syslog;

/// <summary>syslogd's settings, all from its command line.</summary>
public sealed record SyslogdOptions
{
    public string? Socket { get; init; } = "/dev/log";
    public string? Kmsg { get; init; } = "/dev/kmsg";
    public string KmsgState { get; init; } = "/run/berth/syslogd.kmsg";
    public string? StreamSocket { get; init; }
    public string? StdinName { get; init; }
    public string Out { get; init; } = "/var/log/messages";
    public long MaxSize { get; init; } = 1 << 20;
    public int Rotate { get; init; } = 5;
    public TimeSpan SyncInterval { get; init; } = TimeSpan.FromSeconds(1);
    public ForwardTarget? Forward { get; init; }
    public string Hostname { get; init; } = "localhost";

    public const string Usage = """
        usage: syslogd [options]

          --socket PATH        unix datagram socket for syslog(3) (default /dev/log, mode 0666; "none" to disable)
          --kmsg PATH          kernel log, read from its first record, then live (default /dev/kmsg; "none")
          --kmsg-state PATH    last kernel record logged, so a restart logs none twice (default /run/berth/syslogd.kmsg)
          --stream PATH        unix stream socket for service output: first line "NAME [priority=N] [pid=N]",
                               then one message per line ("<N>" prefix: severity 0-7 or a full PRI)
          --stdin NAME         read lines from stdin as service NAME (the same line format, no header)
          --out PATH           log file (default /var/log/messages)
          --max-size SIZE      rotate when the file would grow past SIZE (default 1M; 0: never)
          --rotate N           keep PATH.1 .. PATH.N (default 5; 0: truncate instead)
          --sync-interval DUR  fdatasync at most this long after a write (default 1s); crit and worse, rotation
                               and SIGTERM sync at once
          --forward URL        also send every message to udp://host[:port] or tcp://host[:port] (RFC 5424)
          --hostname NAME      host name in the log (default: the kernel's)

        SIGTERM/SIGINT: flush, fdatasync, remove the sockets, exit 0. SIGHUP: reopen the log file.
        """;

    public static SyslogdOptions FromArguments(IReadOnlyList<string> args)
    {
        var a = ServiceArguments.Parse(args,
            ["socket", "kmsg", "kmsg-state", "stream", "stdin", "out", "max-size", "rotate", "sync-interval", "forward", "hostname"],
            []);
        static string? OrNone(string? v) => v is "none" or "" ? null : v;
        var defaults = new SyslogdOptions();
        return new SyslogdOptions
        {
            Socket = OrNone(a.Value("socket", defaults.Socket!)),
            Kmsg = OrNone(a.Value("kmsg", defaults.Kmsg!)),
            KmsgState = a.Value("kmsg-state", defaults.KmsgState),
            StreamSocket = OrNone(a.Value("stream")),
            StdinName = OrNone(a.Value("stdin")),
            Out = a.Value("out", defaults.Out),
            MaxSize = a.Size("max-size", defaults.MaxSize),
            Rotate = a.Int("rotate", defaults.Rotate, 0, 1000),
            SyncInterval = a.Duration("sync-interval", defaults.SyncInterval),
            Forward = a.Value("forward") is { } f ? ForwardTarget.Parse(f) : null,
            Hostname = a.Value("hostname") ?? KernelHostname(),
        };
    }

    private static string KernelHostname()
    {
        try { return File.ReadAllText("/proc/sys/kernel/hostname").Trim() is { Length: > 0 } h ? h : "localhost"; }
        catch (IOException) { return "localhost"; }
    }
}
