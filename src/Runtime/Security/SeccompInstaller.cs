using System.Runtime.InteropServices;
using Berth.Runtime.Interop;
using Berth.Runtime.Linux;

namespace Berth.Runtime.Security;

/// <summary>
/// Installs a compiled filter on the calling thread (and so on everything it execs or spawns).
/// Meant for the container init just before execve; filters stack and cannot be removed.
/// </summary>
public static unsafe class SeccompInstaller
{
    private const long SYS_seccomp = 317;
    private const int SECCOMP_SET_MODE_FILTER = 1;
    private const int PR_SET_NO_NEW_PRIVS = 38, PR_GET_NO_NEW_PRIVS = 39;

    /// <summary>struct sock_fprog: a 16-bit length, padding, then the pointer.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct SockFprog
    {
        public ushort Length;
        public SockFilter* Filter;
    }

    /// <summary>
    /// PR_SET_NO_NEW_PRIVS: execve can no longer grant privileges (setuid bits, file capabilities).
    /// Without it, only a thread with CAP_SYS_ADMIN may install a filter.
    /// </summary>
    public static void SetNoNewPrivileges()
    {
        if (LibC.Prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) throw SyscallException.Last("prctl(PR_SET_NO_NEW_PRIVS)");
    }

    public static bool NoNewPrivileges
    {
        get
        {
            int r = LibC.Prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
            return r < 0 ? throw SyscallException.Last("prctl(PR_GET_NO_NEW_PRIVS)") : r == 1;
        }
    }

    /// <summary>
    /// seccomp(SECCOMP_SET_MODE_FILTER, flags, prog). Returns the notification fd when the program
    /// needs a listener (hand it to linux.seccomp.listenerPath), else -1.
    /// </summary>
    public static int Install(SeccompProgram program)
    {
        var instructions = program.Instructions.ToArray();
        fixed (SockFilter* filter = instructions)
        {
            var prog = new SockFprog { Length = checked((ushort)instructions.Length), Filter = filter };
            long r = LibC.SyscallSeccomp(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (nint)program.Flags, &prog);
            if (r < 0)
                throw SyscallException.Last("seccomp(SECCOMP_SET_MODE_FILTER)", $"{instructions.Length} instructions, flags 0x{program.Flags:x}");
            return program.NeedsListener ? (int)r : -1;
        }
    }
}
