using System.Buffers.Binary;
using System.Net;
using Berth.Runtime.Interop;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Runtime.Linux;

/// <summary>
/// IPv4 addresses and routes through rtnetlink (what `ip addr` and `ip route` do): one request per
/// call, acknowledged by the kernel (NLM_F_ACK), its error turned into a <see cref="SyscallException"/>.
/// </summary>
public sealed class RouteNetlink : IDisposable
{
    private const int NETLINK_ROUTE = 0, SOCK_RAW = 3;
    private const ushort RTM_NEWADDR = 20, RTM_DELADDR = 21, RTM_NEWROUTE = 24, NLMSG_ERROR = 2;
    private const ushort NLM_F_REQUEST = 1, NLM_F_ACK = 4, NLM_F_REPLACE = 0x100, NLM_F_CREATE = 0x400;
    private const ushort IFA_ADDRESS = 1, IFA_LOCAL = 2, IFA_BROADCAST = 4, IFA_CACHEINFO = 6;
    private const ushort RTA_GATEWAY = 5, RTA_OIF = 4, RTA_PREFSRC = 7;
    private const byte RT_TABLE_MAIN = 254, RTPROT_DHCP = 16, RT_SCOPE_UNIVERSE = 0, RTN_UNICAST = 1;

    private readonly FileDescriptor _fd;
    private uint _sequence;

    public RouteNetlink()
    {
        int fd = LibC.Socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0) throw SyscallException.Last("socket", "AF_NETLINK");
        _fd = new FileDescriptor(fd, "rtnetlink");
    }

    /// <summary>The interface's index, from sysfs (the network namespace's own /sys).</summary>
    public static int InterfaceIndex(string name)
    {
        string path = $"/sys/class/net/{name}/ifindex";
        try { return int.Parse(File.ReadAllText(path).Trim(), System.Globalization.CultureInfo.InvariantCulture); }
        catch (IOException) { throw new SyscallException("if_nametoindex", name, ENODEV); }
    }

    /// <summary>Adds or replaces ADDRESS/PREFIX; with lifetimes the kernel drops it when the lease runs out.</summary>
    public void SetAddress(int ifIndex, IPAddress address, int prefixLength, IPAddress? broadcast, TimeSpan? validLifetime)
    {
        var attrs = new List<byte>();
        Attribute(attrs, IFA_LOCAL, address.GetAddressBytes());
        Attribute(attrs, IFA_ADDRESS, address.GetAddressBytes());
        if (broadcast is not null) Attribute(attrs, IFA_BROADCAST, broadcast.GetAddressBytes());
        if (validLifetime is { } life)
        {
            var ci = new byte[16];
            uint seconds = (uint)Math.Clamp(life.TotalSeconds, 1, uint.MaxValue - 1);
            BinaryPrimitives.WriteUInt32LittleEndian(ci, seconds); // preferred
            BinaryPrimitives.WriteUInt32LittleEndian(ci.AsSpan(4), seconds); // valid
            Attribute(attrs, IFA_CACHEINFO, ci);
        }
        var ifa = new byte[8];
        ifa[0] = AF_INET;
        ifa[1] = (byte)prefixLength;
        ifa[3] = RT_SCOPE_UNIVERSE;
        BinaryPrimitives.WriteInt32LittleEndian(ifa.AsSpan(4), ifIndex);
        Request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, ifa, attrs, $"address {address}/{prefixLength}");
    }

    public void DeleteAddress(int ifIndex, IPAddress address, int prefixLength)
    {
        var attrs = new List<byte>();
        Attribute(attrs, IFA_LOCAL, address.GetAddressBytes());
        var ifa = new byte[8];
        ifa[0] = AF_INET;
        ifa[1] = (byte)prefixLength;
        BinaryPrimitives.WriteInt32LittleEndian(ifa.AsSpan(4), ifIndex);
        Request(RTM_DELADDR, 0, ifa, attrs, $"address {address}/{prefixLength}");
    }

    /// <summary>Adds or replaces the default route through <paramref name="gateway"/> on the interface.</summary>
    public void SetDefaultRoute(int ifIndex, IPAddress gateway, IPAddress? source)
    {
        var attrs = new List<byte>();
        Attribute(attrs, RTA_GATEWAY, gateway.GetAddressBytes());
        var oif = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(oif, ifIndex);
        Attribute(attrs, RTA_OIF, oif);
        if (source is not null) Attribute(attrs, RTA_PREFSRC, source.GetAddressBytes());
        byte[] rtm = [AF_INET, 0 /* dst_len: default */, 0, 0, RT_TABLE_MAIN, RTPROT_DHCP, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0, 0, 0, 0];
        Request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, rtm, attrs, $"default route via {gateway}");
    }

    private static void Attribute(List<byte> into, ushort type, ReadOnlySpan<byte> payload)
    {
        int len = 4 + payload.Length;
        Span<byte> header = stackalloc byte[4];
        BinaryPrimitives.WriteUInt16LittleEndian(header, (ushort)len);
        BinaryPrimitives.WriteUInt16LittleEndian(header[2..], type);
        into.AddRange(header.ToArray());
        into.AddRange(payload.ToArray());
        while (into.Count % 4 != 0) into.Add(0);
    }

    private void Request(ushort type, ushort flags, byte[] body, List<byte> attrs, string what)
    {
        uint seq = ++_sequence;
        int len = 16 + body.Length + attrs.Count;
        var msg = new byte[len];
        BinaryPrimitives.WriteUInt32LittleEndian(msg, (uint)len);
        BinaryPrimitives.WriteUInt16LittleEndian(msg.AsSpan(4), type);
        BinaryPrimitives.WriteUInt16LittleEndian(msg.AsSpan(6), (ushort)(NLM_F_REQUEST | NLM_F_ACK | flags));
        BinaryPrimitives.WriteUInt32LittleEndian(msg.AsSpan(8), seq);
        body.CopyTo(msg, 16);
        attrs.CopyTo(msg, 16 + body.Length);
        _fd.WriteAll(msg);

        var reply = new byte[8192];
        while (true)
        {
            int n = _fd.Read(reply);
            for (int off = 0; off + 16 <= n;)
            {
                int mlen = (int)BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(off));
                ushort mtype = BinaryPrimitives.ReadUInt16LittleEndian(reply.AsSpan(off + 4));
                uint mseq = BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(off + 8));
                if (mtype == NLMSG_ERROR && mseq == seq && mlen >= 20)
                {
                    int error = BinaryPrimitives.ReadInt32LittleEndian(reply.AsSpan(off + 16));
                    if (error == 0) return;
                    throw new SyscallException("rtnetlink", what, -error);
                }
                if (mlen < 16) break;
                off += (mlen + 3) & ~3;
            }
        }
    }

    public void Dispose() => _fd.Dispose();
}
