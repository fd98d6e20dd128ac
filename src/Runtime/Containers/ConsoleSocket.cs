using System.Net.Sockets;
using Berth.Runtime.Interop;
using Berth.Runtime.Linux;

namespace Berth.Runtime.Containers;

/// <summary>
/// The receiving end of --console-socket: a unix stream socket on which the container's init
/// sends its pty master (SCM_RIGHTS), as containerd's shim or `runc`'s recvtty receive it.
/// </summary>
public sealed class ConsoleSocket : IDisposable
{
    private readonly Socket _listener;
    public string Path { get; }

    public ConsoleSocket(string path)
    {
        Path = path;
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        _listener.Listen(1);
    }

    /// <summary>Waits for the runtime to connect and returns the pty master it sends.</summary>
    public unsafe FileDescriptor ReceiveMaster(TimeSpan timeout)
    {
        var accept = _listener.AcceptAsync();
        if (!accept.Wait(timeout)) throw new RuntimeException($"console socket {Path}: nobody connected within {timeout.TotalSeconds:0} s");
        using var connection = accept.Result;
        byte* data = stackalloc byte[64];
        byte* control = stackalloc byte[64];
        LibC.IoVec iov;
        iov.Base = data;
        iov.Length = 64;
        LibC.MsgHdr msg = default;
        msg.Iov = &iov;
        msg.IovLen = 1;
        msg.Control = control;
        msg.ControlLen = 64;
        nint n = LibC.RecvMsg((int)connection.Handle, &msg, 0x40000000 /* MSG_CMSG_CLOEXEC */);
        if (n < 0) throw SyscallException.Last("recvmsg", Path);
        // struct cmsghdr: len (8), level (4), type (4), then the descriptor.
        if (msg.ControlLen < 20 || *(int*)(control + 8) != 1 || *(int*)(control + 12) != 1)
            throw new RuntimeException($"console socket {Path}: the message carried no descriptor");
        return new FileDescriptor(*(int*)(control + 16), $"pty master from {Path}");
    }

    public void Dispose()
    {
        _listener.Dispose();
        try { File.Delete(Path); } catch (IOException) { }
    }
}
