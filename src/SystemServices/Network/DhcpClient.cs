using System.Net;
using System.Text;

namespace Berth.SystemServices.Network;

/// <summary>
/// The client side of RFC 2131: DISCOVER → OFFER → REQUEST → ACK to get a lease, REQUEST with our
/// address to keep it (unicast to its server at T1, broadcast to any server at T2). Retransmission
/// waits 4 s, then 8, 16, 32, 64 (§4.1), each ±1 s so that many machines booting together spread out.
/// </summary>
public sealed class DhcpClient
{
    private static readonly byte[] RequestedParameters =
        [DhcpMessage.OptSubnetMask, DhcpMessage.OptRouter, DhcpMessage.OptDns, DhcpMessage.OptDomain,
         DhcpMessage.OptBroadcast, DhcpMessage.OptLeaseTime, DhcpMessage.OptRenewalTime, DhcpMessage.OptRebindingTime];

    private readonly DhcpSocket _socket;
    private readonly byte[] _mac;
    private readonly string? _hostname;

    public DhcpClient(DhcpSocket socket, byte[] mac, string? hostname)
    {
        _socket = socket;
        _mac = mac;
        _hostname = hostname;
    }

    /// <summary>A new lease, or null if none came before <paramref name="giveUpAfter"/> (or shutdown).</summary>
    public DhcpLease? Acquire(TimeSpan giveUpAfter, CancellationToken cancel)
    {
        var deadline = DateTime.UtcNow + giveUpAfter;
        int attempt = 0;
        while (!cancel.IsCancellationRequested && DateTime.UtcNow < deadline)
        {
            uint xid = (uint)Random.Shared.NextInt64(1, uint.MaxValue);
            if (!_socket.Send(Message(xid, DhcpMessageType.Discover), IPAddress.Broadcast))
            {
                var pause = Min(Backoff(attempt++), deadline - DateTime.UtcNow);
                if (pause > TimeSpan.Zero) cancel.WaitHandle.WaitOne(pause);
                continue;
            }
            var offer = _socket.Receive(xid, _mac, Min(Backoff(attempt++), deadline - DateTime.UtcNow), cancel);
            if (offer is not { Type: DhcpMessageType.Offer } || offer.Address(DhcpMessage.OptServerId) is not { } serverId) continue;
            ServiceLog.Info($"offer of {offer.YourAddress} from {serverId}");

            for (int i = 0; i < 3 && !cancel.IsCancellationRequested; i++)
            {
                var request = Message(xid, DhcpMessageType.Request);
                request.Options[DhcpMessage.OptRequestedIp] = offer.YourAddress.GetAddressBytes();
                request.Options[DhcpMessage.OptServerId] = serverId.GetAddressBytes();
                _socket.Send(request, IPAddress.Broadcast);
                var reply = _socket.Receive(xid, _mac, Backoff(i), cancel);
                if (reply is null) continue;
                if (reply.Type == DhcpMessageType.Nak)
                {
                    ServiceLog.Warn($"{serverId} refused the request (NAK); starting over");
                    break;
                }
                if (DhcpLease.From(reply) is { } lease) return lease;
            }
        }
        return null;
    }

    /// <summary>Extends <paramref name="lease"/>: the new lease, null without an answer, or a NAK as an exception.</summary>
    public DhcpLease? Renew(DhcpLease lease, bool rebinding, TimeSpan wait, CancellationToken cancel)
    {
        uint xid = (uint)Random.Shared.NextInt64(1, uint.MaxValue);
        // RFC 2131 §4.3.2: RENEWING/REBINDING put the address in ciaddr and carry no requested-IP or server id.
        var request = Message(xid, DhcpMessageType.Request) with { ClientAddress = lease.Address, Broadcast = false };
        if (!_socket.Send(request, rebinding ? IPAddress.Broadcast : lease.ServerId)) return null;
        var reply = _socket.Receive(xid, _mac, wait, cancel);
        if (reply?.Type == DhcpMessageType.Nak) throw new DhcpNakException(reply.Address(DhcpMessage.OptServerId) ?? IPAddress.Any);
        return reply is null ? null : DhcpLease.From(reply);
    }

    private DhcpMessage Message(uint xid, DhcpMessageType type)
    {
        var m = new DhcpMessage { TransactionId = xid, HardwareAddress = _mac };
        m.Options[DhcpMessage.OptMessageType] = [(byte)type];
        m.Options[DhcpMessage.OptClientId] = [1, .. _mac];
        m.Options[DhcpMessage.OptParameters] = RequestedParameters;
        if (_hostname is { Length: > 0 }) m.Options[DhcpMessage.OptHostname] = Encoding.ASCII.GetBytes(_hostname);
        return m;
    }

    private static TimeSpan Backoff(int attempt) =>
        TimeSpan.FromSeconds(Math.Min(64, 4 << Math.Min(attempt, 4)) + Random.Shared.NextDouble() * 2 - 1);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}

public sealed class DhcpNakException(IPAddress server) : Exception($"{server} refused the renewal (NAK)");
