using Berth.Runtime.Interop;

namespace Berth.Runtime.Linux;

/// <summary>Who is at the other end of a connected unix socket, as the kernel vouches (SO_PEERCRED).</summary>
public readonly record struct PeerCredentials(int Pid, uint Uid, uint Gid)
{
    public static unsafe PeerCredentials Of(nint socket, string what)
    {
        LibC.UCred cred;
        uint length = (uint)sizeof(LibC.UCred);
        if (LibC.GetSockOpt((int)socket, LibC.SOL_SOCKET, LibC.SO_PEERCRED, &cred, &length) < 0)
            throw SyscallException.Last("getsockopt(SO_PEERCRED)", what);
        return new PeerCredentials(cred.Pid, cred.Uid, cred.Gid);
    }
}
