using System.Runtime.InteropServices;

namespace Berth.Runtime.Interop;

// ==== containers (Berth.Runtime.Containers): the forked container child ====
// Everything the child runs between clone3 and execve. These take raw pointers only: the child
// is a copy of a multi-threaded process and must not allocate or marshal (see ContainerChild).
internal static unsafe partial class LibC
{
    internal const long SYS_pivot_root = 155;
    internal const long SYS_setns = 308;
    internal const long SYS_clone3 = 435;
    internal const long SYS_close_range = 436;
    internal const long SYS_openat2 = 437;
    internal const long SYS_pidfd_open = 434;
    internal const long SYS_capset = 126;

    /// <summary>struct clone_args of clone3(2), up to and including cgroup (CLONE_ARGS_SIZE_VER2).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct CloneArgs
    {
        public ulong Flags;
        public ulong PidFd;
        public ulong ChildTid;
        public ulong ParentTid;
        public ulong ExitSignal;
        public ulong Stack;
        public ulong StackSize;
        public ulong Tls;
        public ulong SetTid;
        public ulong SetTidSize;
        public ulong Cgroup;
    }

    /// <summary>clone3 without SetLastError: the child must not touch thread-local marshalling state before it knows it is the child.</summary>
    [LibraryImport(Lib, EntryPoint = "syscall")]
    internal static partial long RawSyscall2(long number, nint a1, nint a2);

    [LibraryImport(Lib, EntryPoint = "syscall")]
    internal static partial long RawSyscall3(long number, nint a1, nint a2, nint a3);

    [LibraryImport(Lib, EntryPoint = "syscall")]
    internal static partial long RawSyscall4(long number, nint a1, nint a2, nint a3, nint a4);

    [LibraryImport(Lib, EntryPoint = "__errno_location")]
    internal static partial int* ErrnoLocation();

    [LibraryImport(Lib, EntryPoint = "strerror")]
    internal static partial byte* StrErrorRaw(int errnum);

    [LibraryImport(Lib, EntryPoint = "_exit")]
    internal static partial void Exit(int status);

    [LibraryImport(Lib, EntryPoint = "mount")]
    internal static partial int MountRaw(byte* source, byte* target, byte* fstype, ulong flags, byte* data);

    [LibraryImport(Lib, EntryPoint = "umount2")]
    internal static partial int Umount2Raw(byte* target, int flags);

    [LibraryImport(Lib, EntryPoint = "openat")]
    internal static partial int OpenAtRaw(int dirfd, byte* path, int flags, int mode);

    [LibraryImport(Lib, EntryPoint = "mkdirat")]
    internal static partial int MkdirAtRaw(int dirfd, byte* path, int mode);

    [LibraryImport(Lib, EntryPoint = "mknodat")]
    internal static partial int MknodAtRaw(int dirfd, byte* path, int mode, ulong dev);

    [LibraryImport(Lib, EntryPoint = "symlinkat")]
    internal static partial int SymlinkAtRaw(byte* target, int dirfd, byte* linkpath);

    [LibraryImport(Lib, EntryPoint = "fchmodat")]
    internal static partial int FchmodAtRaw(int dirfd, byte* path, int mode, int flags);

    [LibraryImport(Lib, EntryPoint = "readlinkat")]
    internal static partial nint ReadlinkAtRaw(int dirfd, byte* path, byte* buf, nint size);

    [LibraryImport(Lib, EntryPoint = "fchownat")]
    internal static partial int FchownAtRaw(int dirfd, byte* path, uint uid, uint gid, int flags);

    [LibraryImport(Lib, EntryPoint = "faccessat")]
    internal static partial int FAccessAtRaw(int dirfd, byte* path, int mode, int flags);

    [LibraryImport(Lib, EntryPoint = "fstat")]
    internal static partial int FStatRaw(int fd, Stat* buf);

    [LibraryImport(Lib, EntryPoint = "statfs")]
    internal static partial int StatFsRaw(byte* path, StatFsBuf* buf);

    [LibraryImport(Lib, EntryPoint = "chdir")]
    internal static partial int ChdirRaw(byte* path);

    [LibraryImport(Lib, EntryPoint = "fchdir")]
    internal static partial int FChdir(int fd);

    [LibraryImport(Lib, EntryPoint = "chroot")]
    internal static partial int ChrootRaw(byte* path);

    [LibraryImport(Lib, EntryPoint = "open")]
    internal static partial int OpenRaw(byte* path, int flags, int mode);

    [LibraryImport(Lib, EntryPoint = "close")]
    internal static partial int CloseRaw(int fd);

    [LibraryImport(Lib, EntryPoint = "read")]
    internal static partial nint ReadRaw(int fd, byte* buf, nint count);

    [LibraryImport(Lib, EntryPoint = "write")]
    internal static partial nint WriteRaw(int fd, byte* buf, nint count);

    [LibraryImport(Lib, EntryPoint = "lseek")]
    internal static partial long LSeekRaw(int fd, long offset, int whence);

    [LibraryImport(Lib, EntryPoint = "dup2")]
    internal static partial int Dup2Raw(int oldfd, int newfd);

    [LibraryImport(Lib, EntryPoint = "dup3")]
    internal static partial int Dup3Raw(int oldfd, int newfd, int flags);

    [LibraryImport(Lib, EntryPoint = "fcntl")]
    internal static partial int FcntlRaw(int fd, int cmd, int arg);

    [LibraryImport(Lib, EntryPoint = "ioctl")]
    internal static partial int IoctlRaw(int fd, ulong request, void* arg);

    [LibraryImport(Lib, EntryPoint = "sethostname")]
    internal static partial int SetHostnameRaw(byte* name, nuint len);

    [LibraryImport(Lib, EntryPoint = "setdomainname")]
    internal static partial int SetDomainnameRaw(byte* name, nuint len);

    [LibraryImport(Lib, EntryPoint = "setgroups")]
    internal static partial int SetGroupsRaw(nuint size, uint* list);

    // The raw system calls, not glibc's setresuid: glibc broadcasts set*id to every thread
    // (SIGSETXID) and this process's copies of the parent's other threads do not exist.
    internal const long SYS_setresuid = 117;
    internal const long SYS_setresgid = 119;
    internal const long SYS_setgroups = 116;

    [LibraryImport(Lib, EntryPoint = "prctl")]
    internal static partial int PrctlRaw(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [LibraryImport(Lib, EntryPoint = "setrlimit")]
    internal static partial int SetRlimitRaw(int resource, ulong* limits);

    [LibraryImport(Lib, EntryPoint = "setsid")]
    internal static partial int SetSidRaw();

    [LibraryImport(Lib, EntryPoint = "umask")]
    internal static partial int UmaskRaw(int mask);

    [LibraryImport(Lib, EntryPoint = "execve")]
    internal static partial int ExecveRaw(byte* path, byte** argv, byte** envp);

    [LibraryImport(Lib, EntryPoint = "wait4")]
    internal static partial int Wait4Raw(int pid, int* status, int options, void* rusage);

    [LibraryImport(Lib, EntryPoint = "kill")]
    internal static partial int KillRaw(int pid, int sig);

    [LibraryImport(Lib, EntryPoint = "poll")]
    internal static partial int PollRaw(PollFd* fds, nuint nfds, int timeoutMs);

    [LibraryImport(Lib, EntryPoint = "sendmsg")]
    internal static partial nint SendMsgRaw(int fd, MsgHdr* msg, int flags);

    [LibraryImport(Lib, EntryPoint = "recvmsg", SetLastError = true)]
    internal static partial nint RecvMsg(int fd, MsgHdr* msg, int flags);

    [LibraryImport(Lib, EntryPoint = "signal")]
    internal static partial nint SignalRaw(int sig, nint handler);

    [LibraryImport(Lib, EntryPoint = "pthread_sigmask")]
    internal static partial int PthreadSigmask(int how, ulong* set, ulong* oldset);

    [LibraryImport(Lib, EntryPoint = "pipe2", SetLastError = true)]
    internal static partial int Pipe2(int* fds, int flags);

    [LibraryImport(Lib, EntryPoint = "mkfifo", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int MkFifo(string path, int mode);

    [LibraryImport(Lib, EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int MemfdCreate(string name, uint flags);

    [LibraryImport(Lib, EntryPoint = "getuid")]
    internal static partial uint GetUid();

    [LibraryImport(Lib, EntryPoint = "getgid")]
    internal static partial uint GetGid();

    [LibraryImport(Lib, EntryPoint = "ftruncate", SetLastError = true)]
    internal static partial int FTruncate(int fd, long length);

    [LibraryImport(Lib, EntryPoint = "setns", SetLastError = true)]
    internal static partial int Setns(int fd, int nstype);

    [StructLayout(LayoutKind.Sequential)]
    internal struct PollFd
    {
        public int Fd;
        public short Events;
        public short REvents;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct MsgHdr
    {
        public void* Name;
        public uint NameLen;
        public IoVec* Iov;
        public nuint IovLen;
        public void* Control;
        public nuint ControlLen;
        public int Flags;
    }

    /// <summary>struct open_how of openat2(2), for the child's raw calls.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct OpenHowRaw
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }
}
