using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Berth.SystemServices.Network;

/// <summary>
/// UDP port 68 on one interface (SO_BINDTODEVICE): broadcasts go out of that interface even before
/// it has an address, and only its traffic comes back. The client sets the broadcast flag, so
/// answers reach us while the interface has no address to take unicast on.
/// </summary>
public sealed class DhcpSocket : IDisposable
{
    private const int SOL_SOCKET = 1, SO_BINDTODEVICE = 25;
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

    public DhcpSocket(string interfaceName)
    {
        _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _socket.EnableBroadcast = true;
        _socket.SetRawSocketOption(SOL_SOCKET, SO_BINDTODEVICE, Encoding.ASCII.GetBytes(interfaceName + "\0"));
        _socket.Bind(new IPEndPoint(IPAddress.Any, 68));
    }

    /// <summary>False when the kernel refused (link down, no route for a unicast renewal): the caller retries as for a lost answer.</summary>
    public bool Send(DhcpMessage message, IPAddress to)
    {
        try
        {
            _socket.SendTo(message.ToBytes(), new IPEndPoint(to, 67));
            return true;
        }
        catch (SocketException e)
        {
            ServiceLog.Warn($"sending to {to}:67: {e.Message}");
            return false;
        }
    }

    /// <summary>The next server reply to transaction <paramref name="xid"/> for our hardware address, or null at the deadline.</summary>
    public DhcpMessage? Receive(uint xid, byte[] hardwareAddress, TimeSpan timeout, CancellationToken cancel)
    {
        var buffer = new byte[1500];
        long start = Stopwatch.GetTimestamp();
        while (!cancel.IsCancellationRequested)
        {
            var left = timeout - Stopwatch.GetElapsedTime(start);
            if (left <= TimeSpan.Zero) return null;
            // Short slices, so that a shutdown is noticed within a quarter second.
            _socket.ReceiveTimeout = (int)Math.Clamp(left.TotalMilliseconds, 1, 250);
            int n;
            try { n = _socket.Receive(buffer); }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock or SocketError.Interrupted) { continue; }
            catch (SocketException)
            {
                // An ICMP error from an earlier unicast (ECONNREFUSED): not an answer, keep waiting.
                continue;
            }
            var m = DhcpMessage.TryParse(buffer.AsSpan(0, n));
            if (m is { Op: 2 } && m.TransactionId == xid && m.HardwareAddress.AsSpan().SequenceEqual(hardwareAddress)) return m;
        }
        return null;
    }

    public void Dispose() => _socket.Dispose();
}
