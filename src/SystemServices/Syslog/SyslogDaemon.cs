using System.Runtime.InteropServices;
using System.Text;

namespace Berth.SystemServices.Syslog;

/// <summary>
/// syslogd: inputs on their own threads feed one queue; one writer turns each batch into lines, writes
/// it to the log with one write(2) (so a crash of syslogd loses nothing it took in), hands it to the
/// forwarder, and fdatasyncs at most <see cref="SyslogdOptions.SyncInterval"/> later, at once for
/// crit and worse (what comes right before a crash), on rotation and on SIGTERM.
/// </summary>
public sealed class SyslogDaemon
{
    private const int BatchMessages = 512;
    private const int BatchBytes = 64 * 1024;

    private readonly SyslogdOptions _options;
    private readonly MessageQueue<SyslogMessage> _queue = new(100_000);
    private volatile bool _reopen;

    public SyslogDaemon(SyslogdOptions options) => _options = options;

    public void Deliver(SyslogMessage message) => _queue.TryAdd(message);

    public int Run(ServiceShutdown shutdown)
    {
        using var hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, ctx =>
        {
            ctx.Cancel = true;
            _reopen = true;
            _queue.Wake();
        });
        shutdown.OnRequest(_queue.Wake);

        using var file = new RotatingLogFile(_options.Out, _options.MaxSize, _options.Rotate);
        using var forwarder = _options.Forward is { } target ? new SyslogForwarder(target, _options.Hostname) : null;
        forwarder?.Start();

        var sockets = new List<LogSocket>();
        KernelLogPosition? kernelPosition = null;
        try
        {
            if (_options.Socket is { } dgramPath)
            {
                var s = new DatagramLogSocket(dgramPath);
                sockets.Add(s);
                StartThread("syslog-dgram", () => s.Run(Deliver));
            }
            if (_options.StreamSocket is { } streamPath)
            {
                var s = new ServiceOutputSocket(streamPath);
                sockets.Add(s);
                StartThread("syslog-accept", () => s.Run(Deliver));
            }
            if (_options.StdinName is { } stdinName)
            {
                var source = new ServiceOutputStream(stdinName);
                StartThread("syslog-stdin", () => ServiceOutputStream.Pump(System.Console.OpenStandardInput(), source, Deliver));
            }
            if (_options.Kmsg is { } kmsgPath)
            {
                kernelPosition = new KernelLogPosition(_options.KmsgState);
                var reader = new KernelLogReader(kmsgPath, kernelPosition.Load());
                var bootTime = BootTime();
                StartThread("syslog-kmsg", () =>
                {
                    try { reader.Run(r => Deliver(r.ToMessage(bootTime, _options.Hostname))); }
                    catch (IOException e) { ServiceLog.Error($"kernel log: {e.Message}"); }
                });
            }
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException)
        {
            ServiceLog.Error(e.Message);
            foreach (var s in sockets) s.Dispose();
            return 1;
        }

        Deliver(Own(Severities.Info, $"started (log {_options.Out}"
            + (_options.Socket is null ? "" : $", socket {_options.Socket}")
            + (_options.Kmsg is null ? "" : $", kernel log {_options.Kmsg}")
            + (_options.StreamSocket is null ? "" : $", stream {_options.StreamSocket}")
            + (_options.Forward is null ? "" : $", forwarding to {_options.Forward}") + ")"));

        WriteUntilShutdown(file, forwarder, kernelPosition, shutdown);

        foreach (var s in sockets) s.Dispose();
        if (forwarder is not null)
        {
            forwarder.Stop(TimeSpan.FromSeconds(2));
            ServiceLog.Info($"forwarded {forwarder.Sent} messages to {_options.Forward}, dropped {forwarder.Dropped}");
        }
        return 0;
    }

    private void WriteUntilShutdown(RotatingLogFile file, SyslogForwarder? forwarder, KernelLogPosition? kernelPosition, ServiceShutdown shutdown)
    {
        var batch = new List<SyslogMessage>(BatchMessages);
        var buffer = new MemoryStream(BatchBytes * 2);
        ulong? kernelSequence = null;
        DateTime syncDue = DateTime.MaxValue;
        bool failing = false;
        bool stopping = false;
        while (true)
        {
            if (shutdown.Requested && !stopping)
            {
                stopping = true;
                Deliver(Own(Severities.Info, "stopping (SIGTERM)"));
            }
            var now = DateTime.UtcNow;
            var wait = stopping ? TimeSpan.Zero
                : syncDue == DateTime.MaxValue ? TimeSpan.FromMinutes(1)
                : syncDue > now ? syncDue - now : TimeSpan.Zero;
            batch.Clear();
            _queue.TakeBatch(batch, BatchMessages, wait);
            long dropped = _queue.TakeDropped();
            if (dropped > 0) batch.Add(Own(Severities.Warning, $"{dropped} messages dropped: the log could not keep up"));

            bool urgent = false;
            buffer.SetLength(0);
            foreach (var m in batch)
            {
                byte[] line = Encoding.UTF8.GetBytes(LogLineFormatter.Format(m, _options.Hostname));
                // Rotation happens between writes: write what fits before the line that would not.
                if (buffer.Length > 0 && file.WouldOverflow(buffer.Length + line.Length)) failing = Write(file, buffer, failing);
                buffer.Write(line);
                if (m.KernelSequence is { } seq) kernelSequence = seq;
                urgent |= m.Severity <= Severities.Critical;
                forwarder?.Offer(m);
                if (buffer.Length >= BatchBytes) failing = Write(file, buffer, failing);
            }
            if (buffer.Length > 0) failing = Write(file, buffer, failing);
            if (file.Dirty && syncDue == DateTime.MaxValue) syncDue = DateTime.UtcNow + _options.SyncInterval;

            bool drained = _queue.Count == 0;
            if (urgent || DateTime.UtcNow >= syncDue || (stopping && drained) || _reopen)
            {
                failing = Sync(file, failing);
                syncDue = DateTime.MaxValue;
                if (kernelSequence is { } s) kernelPosition?.Save(s);
            }
            if (_reopen)
            {
                _reopen = false;
                try { file.Reopen(); }
                catch (IOException e) { ServiceLog.Error($"reopening {file.Path}: {e.Message}"); }
            }
            if (stopping && drained && batch.Count == 0) return;
        }
    }

    /// <summary>A full or failing disk must not stop syslogd: report once, drop the batch, go on.</summary>
    private static bool Write(RotatingLogFile file, MemoryStream buffer, bool failing)
    {
        try
        {
            file.Append(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
            if (failing) ServiceLog.Info($"writing {file.Path} works again");
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (!failing) ServiceLog.Error($"writing {file.Path}: {e.Message}; messages are lost until it works again");
            return true;
        }
        finally { buffer.SetLength(0); }
    }

    private static bool Sync(RotatingLogFile file, bool failing)
    {
        try { file.Sync(); return failing; }
        catch (IOException e)
        {
            if (!failing) ServiceLog.Error($"fdatasync {file.Path}: {e.Message}");
            return true;
        }
    }

    private SyslogMessage Own(int severity, string text) => new()
    {
        Facility = Facilities.Syslog,
        Severity = severity,
        Timestamp = DateTimeOffset.UtcNow,
        Hostname = _options.Hostname,
        AppName = "syslogd",
        ProcId = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Text = text,
    };

    /// <summary>Wall-clock time of boot: the kernel log counts microseconds on the monotonic clock.</summary>
    private static DateTimeOffset BootTime() =>
        DateTimeOffset.UtcNow - TimeSpan.FromSeconds(System.Diagnostics.Stopwatch.GetTimestamp() / (double)System.Diagnostics.Stopwatch.Frequency);

    private static void StartThread(string name, Action body) =>
        new Thread(() => body()) { Name = name, IsBackground = true }.Start();
}
