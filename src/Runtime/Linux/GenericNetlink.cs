using System.Buffers.Binary;
using System.Text;
using Berth.Runtime.Interop;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Runtime.Linux;

/// <summary>
/// A generic-netlink socket subscribed to one multicast group of one family, both looked up by name
/// through the controller (CTRL_CMD_GETFAMILY), as the kernel assigns their numbers at run time.
/// </summary>
public sealed class GenericNetlink : IDisposable
{
    private const int NETLINK_GENERIC = 16, SOCK_RAW = 3, SOL_NETLINK = 270, NETLINK_ADD_MEMBERSHIP = 1;
    private const ushort GENL_ID_CTRL = 0x10, NLMSG_ERROR = 2, NLM_F_REQUEST = 1;
    private const byte CTRL_CMD_GETFAMILY = 3;
    private const ushort CTRL_ATTR_FAMILY_ID = 1, CTRL_ATTR_FAMILY_NAME = 2, CTRL_ATTR_MCAST_GROUPS = 7,
        CTRL_ATTR_MCAST_GRP_NAME = 1, CTRL_ATTR_MCAST_GRP_ID = 2;

    private readonly FileDescriptor _fd;

    public ushort FamilyId { get; }

    public string Family { get; }

    private GenericNetlink(FileDescriptor fd, string family, ushort familyId)
    {
        _fd = fd;
        Family = family;
        FamilyId = familyId;
    }

    /// <summary>Subscribes to <paramref name="group"/> of <paramref name="family"/>; ENOENT when the kernel has no such family.</summary>
    public static unsafe GenericNetlink Subscribe(string family, string group)
    {
        int raw = LibC.Socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
        if (raw < 0) throw SyscallException.Last("socket", "AF_NETLINK generic");
        var fd = new FileDescriptor(raw, "genetlink " + family);
        try
        {
            var (familyId, groups) = ResolveFamily(fd, family);
            if (!groups.TryGetValue(group, out uint groupId)) throw new SyscallException("genetlink group", $"{family}/{group}", ENOENT);
            if (LibC.SetSockOpt(fd.Fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &groupId, sizeof(uint)) != 0)
                throw SyscallException.Last("NETLINK_ADD_MEMBERSHIP", $"{family}/{group}");
            return new GenericNetlink(fd, family, familyId);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>Blocks for the next datagram (one or more netlink messages).</summary>
    public int Receive(Span<byte> buffer) => _fd.Read(buffer);

    private static (ushort, Dictionary<string, uint>) ResolveFamily(FileDescriptor fd, string family)
    {
        var name = Encoding.ASCII.GetBytes(family + "\0");
        int attrLen = 4 + name.Length;
        int len = 16 + 4 + ((attrLen + 3) & ~3);
        var msg = new byte[len];
        BinaryPrimitives.WriteUInt32LittleEndian(msg, (uint)len);
        BinaryPrimitives.WriteUInt16LittleEndian(msg.AsSpan(4), GENL_ID_CTRL);
        BinaryPrimitives.WriteUInt16LittleEndian(msg.AsSpan(6), NLM_F_REQUEST);
        BinaryPrimitives.WriteUInt32LittleEndian(msg.AsSpan(8), 1);
        msg[16] = CTRL_CMD_GETFAMILY;
        msg[17] = 1; // version
        BinaryPrimitives.WriteUInt16LittleEndian(msg.AsSpan(20), (ushort)attrLen);
        BinaryPrimitives.WriteUInt16LittleEndian(msg.AsSpan(22), CTRL_ATTR_FAMILY_NAME);
        name.CopyTo(msg, 24);
        fd.WriteAll(msg);

        var reply = new byte[8192];
        int n = fd.Read(reply);
        if (n < 20) throw new SyscallException("genetlink", family, EIO);
        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(reply.AsSpan(4));
        if (type == NLMSG_ERROR)
            throw new SyscallException("genetlink family", family, -BinaryPrimitives.ReadInt32LittleEndian(reply.AsSpan(16)));
        int total = Math.Min(n, (int)BinaryPrimitives.ReadUInt32LittleEndian(reply));
        ushort familyId = 0;
        var groups = new Dictionary<string, uint>(StringComparer.Ordinal);
        foreach (var (atype, payload) in Attributes(reply.AsSpan(20, total - 20).ToArray()))
        {
            if (atype == CTRL_ATTR_FAMILY_ID && payload.Length >= 2) familyId = BinaryPrimitives.ReadUInt16LittleEndian(payload);
            if (atype != CTRL_ATTR_MCAST_GROUPS) continue;
            foreach (var (_, grp) in Attributes(payload))
            {
                string? gname = null;
                uint? gid = null;
                foreach (var (gtype, gvalue) in Attributes(grp))
                {
                    if (gtype == CTRL_ATTR_MCAST_GRP_NAME) gname = Encoding.ASCII.GetString(gvalue).TrimEnd('\0');
                    if (gtype == CTRL_ATTR_MCAST_GRP_ID && gvalue.Length >= 4) gid = BinaryPrimitives.ReadUInt32LittleEndian(gvalue);
                }
                if (gname is not null && gid is { } id) groups[gname] = id;
            }
        }
        return (familyId, groups);
    }

    /// <summary>The attributes (struct nlattr: length, type, payload, padded to 4) in <paramref name="data"/>.</summary>
    public static IEnumerable<(ushort Type, byte[] Payload)> Attributes(byte[] data)
    {
        for (int off = 0; off + 4 <= data.Length;)
        {
            int alen = BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(off));
            if (alen < 4 || off + alen > data.Length) yield break;
            ushort atype = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(off + 2)) & 0x3fff); // without NLA_F_NESTED/NET_BYTEORDER
            yield return (atype, data.AsSpan(off + 4, alen - 4).ToArray());
            off += (alen + 3) & ~3;
        }
    }

    public void Dispose() => _fd.Dispose();
}
