using System.Runtime.InteropServices;
using System.Text;
using Berth.Runtime.Interop;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Runtime.Linux;

/// <summary>Interface flags through the classic SIOC[GS]IFFLAGS ioctls.</summary>
public static class NetworkInterfaces
{
    [StructLayout(LayoutKind.Explicit, Size = 40)]
    private unsafe struct IfReqFlags
    {
        [FieldOffset(0)] public fixed byte Name[16];
        [FieldOffset(16)] public short Flags;
    }

    public static unsafe void SetUp(string name)
    {
        int sock = LibC.Socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (sock < 0) throw SyscallException.Last("socket", "AF_INET");
        using var fd = new FileDescriptor(sock, "socket");
        var req = new IfReqFlags();
        var bytes = Encoding.ASCII.GetBytes(name);
        if (bytes.Length > 15) throw new ArgumentException($"interface name too long: {name}");
        for (int i = 0; i < bytes.Length; i++) req.Name[i] = bytes[i];
        if (LibC.Ioctl(sock, SIOCGIFFLAGS, &req) != 0) throw SyscallException.Last("SIOCGIFFLAGS", name);
        req.Flags |= IFF_UP;
        if (LibC.Ioctl(sock, SIOCSIFFLAGS, &req) != 0) throw SyscallException.Last("SIOCSIFFLAGS", name);
    }
}
