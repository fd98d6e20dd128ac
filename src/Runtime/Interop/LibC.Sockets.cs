using System.Runtime.InteropServices;

namespace Berth.Runtime.Interop;

// ==== sockets (Berth.Runtime.Linux.PeerCredentials) ====
internal static unsafe partial class LibC
{
    internal const int SOL_SOCKET = 1, SO_PEERCRED = 17;

    [StructLayout(LayoutKind.Sequential)]
    internal struct UCred
    {
        public int Pid;
        public uint Uid;
        public uint Gid;
    }

    [LibraryImport(Lib, EntryPoint = "getsockopt", SetLastError = true)]
    internal static partial int GetSockOpt(int fd, int level, int name, void* value, uint* length);
}
