using System.Net.Sockets;
using System.Text;
using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.SystemServices.Syslog;

/// <summary>
/// A unix socket syslogd owns: a stale one from a previous run is replaced, the node gets its mode,
/// and it is removed when syslogd stops.
/// </summary>
public abstract class LogSocket : IDisposable
{
    protected Socket Socket { get; }
    public string Path { get; }

    protected LogSocket(string path, SocketType type, UnixFileMode mode)
    {
        Path = path;
        if (Files.TryStat(path) is { } st && (st.Mode & S_IFMT) == 0xC000 /* S_IFSOCK */) File.Delete(path);
        string? dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (dir is not null) Files.MakeDirectories(dir);
        Socket = new Socket(AddressFamily.Unix, type, ProtocolType.Unspecified);
        Socket.Bind(new UnixDomainSocketEndPoint(path));
        // The umask must not decide who may log: set the mode on the node explicitly.
        File.SetUnixFileMode(path, mode);
    }

    /// <summary>The errors a blocked call gets when syslogd closes the socket to stop.</summary>
    protected static bool IsClosing(SocketException e) =>
        e.SocketErrorCode is SocketError.OperationAborted or SocketError.Shutdown or SocketError.NotSocket or SocketError.Interrupted;

    public void Dispose()
    {
        try { File.Delete(Path); } catch (IOException) { }
        Socket.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>/dev/log: one datagram, one message; anyone may write (mode 0666), as glibc's syslog(3) expects.</summary>
public sealed class DatagramLogSocket : LogSocket
{
    public DatagramLogSocket(string path) : base(path, SocketType.Dgram, (UnixFileMode)0x1b6 /* 0666 */)
    {
        // Bursts (a service starting, a crash dump) should wait in the kernel, not be refused.
        Socket.ReceiveBufferSize = 1 << 20;
    }

    public void Run(Action<SyslogMessage> deliver)
    {
        var buffer = BlockingReadBuffer.Allocate(64 * 1024);
        while (true)
        {
            int n;
            try { n = Socket.Receive(buffer); }
            catch (SocketException e) when (!IsClosing(e))
            {
                // Transient (ENOMEM, ENOBUFS): /dev/log must not go deaf because of one bad moment.
                ServiceLog.Warn($"{Path}: {e.Message}");
                Thread.Sleep(100);
                continue;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { return; }
            if (n == 0) continue;
            deliver(SyslogParser.Parse(Encoding.UTF8.GetString(buffer, 0, n), DateTimeOffset.UtcNow));
        }
    }
}

/// <summary>
/// The stream socket the supervisor connects to, once per service output, to pipe lines in
/// (<see cref="ServiceOutputStream"/>). Root only (0600): the header names the sender, so whoever may
/// connect may speak for any service.
/// </summary>
public sealed class ServiceOutputSocket : LogSocket
{
    private const int MaxConnections = 256;
    private int _connections;

    public ServiceOutputSocket(string path) : base(path, SocketType.Stream, UnixFileMode.UserRead | UnixFileMode.UserWrite)
    {
        Socket.Listen(16);
    }

    public void Run(Action<SyslogMessage> deliver)
    {
        while (true)
        {
            Socket client;
            try { client = Socket.Accept(); }
            catch (SocketException e) when (!IsClosing(e))
            {
                // EMFILE and the like: wait rather than spin, then go on accepting.
                ServiceLog.Warn($"{Path}: {e.Message}");
                Thread.Sleep(100);
                continue;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { return; }
            if (Interlocked.Increment(ref _connections) > MaxConnections)
            {
                Interlocked.Decrement(ref _connections);
                client.Dispose();
                continue;
            }
            new Thread(() =>
            {
                try
                {
                    using var stream = new NetworkStream(client, ownsSocket: true);
                    if (!ServiceOutputStream.Pump(stream, null, deliver))
                        ServiceLog.Warn($"{Path}: a connection did not start with a header line (NAME [priority=N] [pid=N]); closed");
                }
                finally { Interlocked.Decrement(ref _connections); }
            }) { Name = "syslog-stream", IsBackground = true }.Start();
        }
    }
}

/// <summary>
/// /dev/kmsg from its first record (so the boot messages are kept), then live. Each read(2) of
/// /dev/kmsg returns one record; a regular file of records (tests) works too and ends at its end.
/// </summary>
public sealed class KernelLogReader
{
    private readonly string _path;
    private readonly ulong? _skipThrough;

    /// <param name="skipThrough">Records up to this sequence number were logged by an earlier run.</param>
    public KernelLogReader(string path, ulong? skipThrough)
    {
        _path = path;
        _skipThrough = skipThrough;
    }

    public void Run(Action<KernelLogRecord> deliver)
    {
        using var fd = FileDescriptor.Open(_path, O_RDONLY);
        var buffer = BlockingReadBuffer.Allocate(16 * 1024);
        int filled = 0;
        while (true)
        {
            int n;
            try { n = fd.Read(buffer.AsSpan(filled)); }
            catch (SyscallException e) when (e.Errno == EPIPE)
            {
                // The ring buffer overwrote records before we read them; the next read goes on after the gap.
                continue;
            }
            if (n == 0) return;
            filled += n;
            int start = 0;
            while (true)
            {
                int nl = Array.IndexOf(buffer, (byte)'\n', start, filled - start);
                if (nl < 0)
                {
                    if (start == 0 && filled == buffer.Length) { filled = 0; } // a record this long is not one
                    break;
                }
                var line = buffer.AsSpan(start, nl - start);
                start = nl + 1;
                if (line.Length == 0 || line[0] == ' ') continue; // dictionary (continuation) lines
                if (KernelLogRecord.TryParse(line, out var record) && !(record.Sequence <= _skipThrough))
                    deliver(record);
            }
            if (filled > 0)
            {
                Buffer.BlockCopy(buffer, start, buffer, 0, filled - start);
                filled -= start;
            }
        }
    }
}
