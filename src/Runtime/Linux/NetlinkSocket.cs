using Berth.Runtime.Interop;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Runtime.Linux;

/// <summary>
/// A netlink socket bound to multicast groups of one protocol, for protocols whose messages are
/// not netlink-framed, as NETLINK_KOBJECT_UEVENT ("add@/devices/...\0KEY=VALUE\0...").
/// Only datagrams the kernel sent (source port 0) are returned: a process may not forge them.
/// </summary>
public sealed class NetlinkSocket : IDisposable
{
    /// <summary>The errno of a receive after the kernel dropped messages for a full queue.</summary>
    public const int ENOBUFS = 105;

    private readonly FileDescriptor _fd;

    private NetlinkSocket(FileDescriptor fd) => _fd = fd;

    public string Name => _fd.Path;

    /// <summary>The kernel's uevents (group 1), the stream udev reads; in the initial network namespace that is every device.</summary>
    public static NetlinkSocket KobjectUevents(int receiveBuffer = 8 << 20) =>
        Open(LibC.NETLINK_KOBJECT_UEVENT, 1, receiveBuffer, "kobject-uevent");

    public static unsafe NetlinkSocket Open(int protocol, uint groups, int receiveBuffer, string name)
    {
        const int SOCK_DGRAM_ = 2;
        int raw = LibC.Socket(AF_NETLINK, SOCK_DGRAM_ | SOCK_CLOEXEC, protocol);
        if (raw < 0) throw SyscallException.Last("socket", "AF_NETLINK " + name);
        var fd = new FileDescriptor(raw, "netlink " + name);
        try
        {
            // A burst (coldplug replays every device) must not overflow the queue: SO_RCVBUFFORCE
            // passes rmem_max with CAP_NET_ADMIN; without it SO_RCVBUF gets what rmem_max allows.
            int size = receiveBuffer;
            if (LibC.SetSockOpt(raw, LibC.SOL_SOCKET, LibC.SO_RCVBUFFORCE, &size, sizeof(int)) != 0)
                LibC.SetSockOpt(raw, LibC.SOL_SOCKET, LibC.SO_RCVBUF, &size, sizeof(int));
            var address = new LibC.SockAddrNl { Family = AF_NETLINK, Groups = groups };
            if (LibC.BindNetlink(raw, &address, (uint)sizeof(LibC.SockAddrNl)) != 0)
                throw SyscallException.Last("bind", fd.Path);
            return new NetlinkSocket(fd);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for one datagram from the kernel; returns its length,
    /// or 0 when none came. ENOBUFS (events were lost) is thrown as a <see cref="SyscallException"/>.
    /// </summary>
    public unsafe int Receive(Span<byte> buffer, TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (true)
        {
            long left = Math.Max(0, deadline - Environment.TickCount64);
            var pfd = new LibC.PollFd { Fd = _fd.Fd, Events = LibC.POLLIN };
            int ready = LibC.Poll(&pfd, 1, (int)Math.Min(left, int.MaxValue));
            if (ready < 0)
            {
                var e = SyscallException.Last("poll", _fd.Path);
                if (e.Errno == EINTR) continue;
                throw e;
            }
            if (ready == 0) return 0;
            LibC.SockAddrNl source;
            uint sourceLength = (uint)sizeof(LibC.SockAddrNl);
            nint n;
            fixed (byte* p = buffer)
                n = LibC.RecvFromNetlink(_fd.Fd, p, buffer.Length, 0x40 /* MSG_DONTWAIT */, &source, &sourceLength);
            if (n < 0)
            {
                var e = SyscallException.Last("recvfrom", _fd.Path);
                if (e.Errno is EINTR or EAGAIN) continue;
                throw e;
            }
            if (source.Pid != 0) continue;
            if (n > 0) return (int)n;
        }
    }

    public void Dispose() => _fd.Dispose();
}
