using Berth.Runtime.Interop;

namespace Berth.Runtime.Linux;

public static unsafe class Pipes
{
    /// <summary>A pipe whose ends close on exec (a child gets one end by dup2, which clears the flag).</summary>
    public static (FileDescriptor Read, FileDescriptor Write) Create(string what)
    {
        int* fds = stackalloc int[2];
        if (LibC.Pipe2(fds, Consts.O_CLOEXEC) < 0) throw SyscallException.Last("pipe2", what);
        return (new FileDescriptor(fds[0], what + " (read end)"), new FileDescriptor(fds[1], what + " (write end)"));
    }
}
