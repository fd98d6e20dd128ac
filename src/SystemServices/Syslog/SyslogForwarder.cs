using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Berth.SystemServices.Syslog;

/// <summary>
/// Sends messages to a remote syslog as RFC 5424: one datagram each over UDP (RFC 5426), octet-counted
/// frames over TCP (RFC 6587 <c>LEN SP MSG</c>). It runs on its own thread behind its own bounded queue,
/// so a slow, unreachable or refusing collector costs forwarded messages (oldest first), never local
/// logging. TCP reconnects with exponential backoff (1 s doubling to 60 s).
/// </summary>
public sealed class SyslogForwarder : IDisposable
{
    private static readonly TimeSpan MinBackoff = TimeSpan.FromSeconds(1), MaxBackoff = TimeSpan.FromSeconds(60);
    private const int MaxDatagram = 8192;

    private readonly ForwardTarget _target;
    private readonly string _hostname;
    private readonly MessageQueue<SyslogMessage> _queue;
    private readonly Thread _thread;
    private volatile bool _stopping;
    private Socket? _socket;
    private TimeSpan _backoff = MinBackoff;
    private DateTime _retryAt = DateTime.MinValue;
    private readonly Queue<byte[]> _pending = new();

    public SyslogForwarder(ForwardTarget target, string hostname, int capacity = 10_000)
    {
        _target = target;
        _hostname = hostname;
        _queue = new MessageQueue<SyslogMessage>(capacity);
        _thread = new Thread(Run) { Name = "syslog-forward", IsBackground = true };
    }

    public long Sent { get; private set; }

    public long Dropped { get; private set; }

    public void Start() => _thread.Start();

    public void Offer(SyslogMessage message) => _queue.AddDroppingOldest(message);

    /// <summary>Gives queued messages up to <paramref name="grace"/> to go out, then stops.</summary>
    public void Stop(TimeSpan grace)
    {
        var deadline = DateTime.UtcNow + grace;
        while ((_queue.Count > 0 || _pending.Count > 0) && _socket is not null && DateTime.UtcNow < deadline) Thread.Sleep(10);
        _stopping = true;
        _queue.Wake();
        _thread.Join(TimeSpan.FromMilliseconds(200));
    }

    private void Run()
    {
        var batch = new List<SyslogMessage>(64);
        while (!_stopping)
        {
            if (_socket is null && !TryConnect())
            {
                Thread.Sleep(TimeSpan.FromMilliseconds(Math.Min(250, Math.Max(1, (_retryAt - DateTime.UtcNow).TotalMilliseconds))));
                Dropped += _queue.TakeDropped();
                continue;
            }
            if (PeerClosed())
            {
                _socket!.Dispose();
                _socket = null;
                Backoff($"{_target} closed the connection");
                continue;
            }
            if (_pending.Count == 0)
            {
                batch.Clear();
                _queue.TakeBatch(batch, 64, TimeSpan.FromSeconds(1));
                Dropped += _queue.TakeDropped();
                foreach (var m in batch) _pending.Enqueue(Frame(m));
            }
            // Delivered at least once: a frame whose TCP send failed may or may not have reached the
            // peer, and is sent again on the next connection.
            while (_pending.Count > 0 && !PeerClosed() && TrySend(_pending.Peek())) _pending.Dequeue();
        }
        _socket?.Dispose();
    }

    private byte[] Frame(SyslogMessage m)
    {
        byte[] payload = Encoding.UTF8.GetBytes(Rfc5424Formatter.Format(m, _hostname));
        if (_target.Protocol == ForwardProtocol.Udp)
            return payload.Length <= MaxDatagram ? payload : payload[..MaxDatagram];
        byte[] prefix = Encoding.ASCII.GetBytes($"{payload.Length} ");
        return [.. prefix, .. payload];
    }

    /// <summary>
    /// A collector never sends anything, so a readable TCP socket means it closed (or reset) the connection.
    /// Checked before sending, since a send after the peer's FIN still succeeds and the message is lost.
    /// </summary>
    private bool PeerClosed()
    {
        if (_socket is null || _target.Protocol != ForwardProtocol.Tcp) return false;
        try { return _socket.Poll(0, SelectMode.SelectRead) && _socket.Available == 0; }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { return true; }
    }

    private bool TryConnect()
    {
        if (DateTime.UtcNow < _retryAt) return false;
        Socket? socket = null;
        try
        {
            var address = IPAddress.TryParse(_target.Host, out var ip) ? ip : Dns.GetHostAddresses(_target.Host)[0];
            socket = _target.Protocol == ForwardProtocol.Udp
                ? new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp)
                : new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, SendTimeout = 10_000 };
            socket.Connect(new IPEndPoint(address, _target.Port));
            _socket = socket;
            return true;
        }
        catch (Exception e) when (e is SocketException or IndexOutOfRangeException)
        {
            socket?.Dispose();
            Backoff($"cannot connect to {_target}: {e.Message}");
            return false;
        }
    }

    private bool TrySend(byte[] frame)
    {
        try
        {
            int sent = 0;
            while (sent < frame.Length) sent += _socket!.Send(frame, sent, frame.Length - sent, SocketFlags.None);
            Sent++;
            _backoff = MinBackoff;
            return true;
        }
        catch (SocketException e) when (_target.Protocol == ForwardProtocol.Udp)
        {
            // An ICMP port unreachable from an earlier datagram: the collector is down, this message is lost.
            _ = e;
            Dropped++;
            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            _socket?.Dispose();
            _socket = null;
            Backoff($"sending to {_target} failed: {e.Message}");
            return false;
        }
    }

    private void Backoff(string why)
    {
        ServiceLog.Warn($"{why}; retrying in {_backoff.TotalSeconds:0}s");
        _retryAt = DateTime.UtcNow + _backoff;
        _backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, _backoff.Ticks * 2));
    }

    public void Dispose()
    {
        _stopping = true;
        _queue.Wake();
        _socket?.Dispose();
    }
}
