using System.Runtime.InteropServices;

namespace Berth.Runtime.Interop;

// ==== devices (Berth.Runtime.Linux.NetlinkSocket, DeviceFiles): kobject uevents, device nodes ====
internal static unsafe partial class LibC
{
    internal const int NETLINK_KOBJECT_UEVENT = 15;
    internal const int SO_RCVBUF = 8, SO_RCVBUFFORCE = 33;
    internal const short POLLIN = 1;

    /// <summary>struct sockaddr_nl.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct SockAddrNl
    {
        public ushort Family;
        public ushort Pad;
        public uint Pid;
        public uint Groups;
    }

    [LibraryImport(Lib, EntryPoint = "bind", SetLastError = true)]
    internal static partial int BindNetlink(int fd, SockAddrNl* address, uint length);

    [LibraryImport(Lib, EntryPoint = "recvfrom", SetLastError = true)]
    internal static partial nint RecvFromNetlink(int fd, byte* buffer, nint length, int flags, SockAddrNl* source, uint* sourceLength);

    [LibraryImport(Lib, EntryPoint = "poll", SetLastError = true)]
    internal static partial int Poll(PollFd* fds, nuint nfds, int timeoutMs);
}
