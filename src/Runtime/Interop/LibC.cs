using System.Runtime.InteropServices;

namespace Berth.Runtime.Interop;

/// <summary>
/// The one place where Berth calls into libc. Everything here is a thin, source-generated
/// binding; callers go through the typed wrappers in <c>Berth.Runtime.Linux</c>, which turn
/// errno into <see cref="SyscallException"/> carrying the path or object involved.
/// </summary>
internal static unsafe partial class LibC
{
    private const string Lib = "libc";

    // ---- files and descriptors ----
    [LibraryImport(Lib, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Open(string path, int flags, int mode);

    [LibraryImport(Lib, EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);

    [LibraryImport(Lib, EntryPoint = "read", SetLastError = true)]
    internal static partial nint Read(int fd, byte* buf, nint count);

    [LibraryImport(Lib, EntryPoint = "write", SetLastError = true)]
    internal static partial nint Write(int fd, byte* buf, nint count);

    [LibraryImport(Lib, EntryPoint = "pread", SetLastError = true)]
    internal static partial nint PRead(int fd, byte* buf, nint count, long offset);

    [LibraryImport(Lib, EntryPoint = "pwrite", SetLastError = true)]
    internal static partial nint PWrite(int fd, byte* buf, nint count, long offset);

    [LibraryImport(Lib, EntryPoint = "fsync", SetLastError = true)]
    internal static partial int FSync(int fd);

    [LibraryImport(Lib, EntryPoint = "madvise", SetLastError = true)]
    internal static partial int MAdvise(nint address, nuint length, int advice);

    // returns the error number (not -1 + errno)
    [LibraryImport(Lib, EntryPoint = "posix_fadvise")]
    internal static partial int PosixFadvise(int fd, long offset, long len, int advice);

    [LibraryImport(Lib, EntryPoint = "dup2", SetLastError = true)]
    internal static partial int Dup2(int oldfd, int newfd);

    [LibraryImport(Lib, EntryPoint = "fcntl", SetLastError = true)]
    internal static partial int Fcntl(int fd, int cmd, int arg);

    [LibraryImport(Lib, EntryPoint = "ioctl", SetLastError = true)]
    internal static partial int Ioctl(int fd, ulong request, void* arg);

    [LibraryImport(Lib, EntryPoint = "lseek", SetLastError = true)]
    internal static partial long LSeek(int fd, long offset, int whence);

    [LibraryImport(Lib, EntryPoint = "lstat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int LStat(string path, out Stat buf);

    [LibraryImport(Lib, EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int StatPath(string path, out Stat buf);

    [LibraryImport(Lib, EntryPoint = "statfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int StatFs(string path, out StatFsBuf buf);

    [LibraryImport(Lib, EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Unlink(string path);

    [LibraryImport(Lib, EntryPoint = "rmdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Rmdir(string path);

    [LibraryImport(Lib, EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Mkdir(string path, int mode);

    [LibraryImport(Lib, EntryPoint = "mknod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Mknod(string path, int mode, ulong dev);

    [LibraryImport(Lib, EntryPoint = "symlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Symlink(string target, string linkpath);

    [LibraryImport(Lib, EntryPoint = "chmod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Chmod(string path, int mode);

    [LibraryImport(Lib, EntryPoint = "umask")]
    internal static partial int Umask(int mask);

    [LibraryImport(Lib, EntryPoint = "sync")]
    internal static partial void Sync();

    // ---- mounts and roots ----
    [LibraryImport(Lib, EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Mount(string? source, string target, string? fstype, ulong flags, string? data);

    [LibraryImport(Lib, EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Umount2(string target, int flags);

    [LibraryImport(Lib, EntryPoint = "chdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Chdir(string path);

    [LibraryImport(Lib, EntryPoint = "chroot", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Chroot(string path);

    // ---- processes ----
    [LibraryImport(Lib, EntryPoint = "getpid")]
    internal static partial int GetPid();

    [LibraryImport(Lib, EntryPoint = "kill", SetLastError = true)]
    internal static partial int Kill(int pid, int sig);

    [LibraryImport(Lib, EntryPoint = "wait4", SetLastError = true)]
    internal static partial int Wait4(int pid, out int status, int options, void* rusage);

    [LibraryImport(Lib, EntryPoint = "execve", SetLastError = true)]
    internal static partial int Execve(byte* path, byte** argv, byte** envp);

    [LibraryImport(Lib, EntryPoint = "posix_spawn", SetLastError = true)]
    internal static partial int PosixSpawn(out int pid, byte* path, void* fileActions, void* attr, byte** argv, byte** envp);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_init")]
    internal static partial int PosixSpawnFileActionsInit(void* fa);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_destroy")]
    internal static partial int PosixSpawnFileActionsDestroy(void* fa);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_addopen")]
    internal static partial int PosixSpawnFileActionsAddOpen(void* fa, int fd, byte* path, int oflag, int mode);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_adddup2")]
    internal static partial int PosixSpawnFileActionsAddDup2(void* fa, int fd, int newfd);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_addchdir_np")]
    internal static partial int PosixSpawnFileActionsAddChdir(void* fa, byte* path);

    [LibraryImport(Lib, EntryPoint = "posix_spawnattr_init")]
    internal static partial int PosixSpawnAttrInit(void* attr);

    [LibraryImport(Lib, EntryPoint = "posix_spawnattr_destroy")]
    internal static partial int PosixSpawnAttrDestroy(void* attr);

    [LibraryImport(Lib, EntryPoint = "posix_spawnattr_setflags")]
    internal static partial int PosixSpawnAttrSetFlags(void* attr, short flags);

    [LibraryImport(Lib, EntryPoint = "posix_spawnattr_setsigmask")]
    internal static partial int PosixSpawnAttrSetSigMask(void* attr, void* sigset);

    [LibraryImport(Lib, EntryPoint = "posix_spawnattr_setsigdefault")]
    internal static partial int PosixSpawnAttrSetSigDefault(void* attr, void* sigset);

    [LibraryImport(Lib, EntryPoint = "posix_spawnattr_setpgroup")]
    internal static partial int PosixSpawnAttrSetPGroup(void* attr, int pgroup);

    [LibraryImport(Lib, EntryPoint = "sigemptyset")]
    internal static partial int SigEmptySet(void* set);

    [LibraryImport(Lib, EntryPoint = "sigfillset")]
    internal static partial int SigFillSet(void* set);

    [LibraryImport(Lib, EntryPoint = "sigdelset")]
    internal static partial int SigDelSet(void* set, int sig);

    [LibraryImport(Lib, EntryPoint = "prctl", SetLastError = true)]
    internal static partial int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    // ---- system ----
    [LibraryImport(Lib, EntryPoint = "reboot", SetLastError = true)]
    internal static partial int Reboot(int cmd);

    [LibraryImport(Lib, EntryPoint = "sethostname", SetLastError = true)]
    internal static partial int SetHostname(byte* name, nuint len);

    [LibraryImport(Lib, EntryPoint = "clock_gettime", SetLastError = true)]
    internal static partial int ClockGetTime(int clockId, out TimeSpec ts);

    [LibraryImport(Lib, EntryPoint = "socket", SetLastError = true)]
    internal static partial int Socket(int domain, int type, int protocol);

    [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true)]
    internal static partial long Syscall3(long number, nint a1, nint a2, nint a3);

    [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true)]
    internal static partial long Syscall2(long number, nint a1, nint a2);

    [StructLayout(LayoutKind.Sequential)]
    internal struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    /// <summary>struct stat as laid out by glibc on x86_64.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Stat
    {
        public ulong Dev;
        public ulong Ino;
        public ulong NLink;
        public uint Mode;
        public uint Uid;
        public uint Gid;
        public int Pad0;
        public ulong RDev;
        public long Size;
        public long BlkSize;
        public long Blocks;
        public long ATime, ATimeNsec, MTime, MTimeNsec, CTime, CTimeNsec;
        public long Reserved0, Reserved1, Reserved2;
    }

    /// <summary>struct statfs as laid out by glibc on x86_64.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct StatFsBuf
    {
        public long Type;
        public long BSize;
        public ulong Blocks, BFree, BAvail, Files, FFree;
        public ulong Fsid;
        public long NameLen;
        public long FragSize;
        public long Flags;
        public long Spare0, Spare1, Spare2, Spare3;
    }

    // ==== images (Berth.Runtime.Images): *at() calls relative to a contained root, openat2, xattrs, flock ====
    // Typed wrappers live in src/Runtime/Images/AtCalls.cs.
    [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true)]
    internal static partial long Syscall4(long number, nint a1, nint a2, nint a3, nint a4);

    /// <summary>struct open_how of openat2(2).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    [LibraryImport(Lib, EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int OpenAt(int dirfd, string path, int flags, int mode);

    [LibraryImport(Lib, EntryPoint = "mkdirat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int MkdirAt(int dirfd, string path, int mode);

    [LibraryImport(Lib, EntryPoint = "mknodat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int MknodAt(int dirfd, string path, int mode, ulong dev);

    [LibraryImport(Lib, EntryPoint = "symlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int SymlinkAt(string target, int newdirfd, string linkpath);

    [LibraryImport(Lib, EntryPoint = "linkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int LinkAt(int olddirfd, string oldpath, int newdirfd, string newpath, int flags);

    [LibraryImport(Lib, EntryPoint = "unlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int UnlinkAt(int dirfd, string path, int flags);

    [LibraryImport(Lib, EntryPoint = "renameat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int RenameAt(int olddirfd, string oldpath, int newdirfd, string newpath);

    [LibraryImport(Lib, EntryPoint = "fchownat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FchownAt(int dirfd, string path, uint uid, uint gid, int flags);

    [LibraryImport(Lib, EntryPoint = "fchmodat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FchmodAt(int dirfd, string path, int mode, int flags);

    [LibraryImport(Lib, EntryPoint = "utimensat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int UtimensAt(int dirfd, string path, TimeSpec* times, int flags);

    [LibraryImport(Lib, EntryPoint = "fstatat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FstatAt(int dirfd, string path, out Stat buf, int flags);

    [LibraryImport(Lib, EntryPoint = "readlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint ReadlinkAt(int dirfd, string path, byte* buf, nint size);

    [LibraryImport(Lib, EntryPoint = "lsetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int LSetXattr(string path, string name, byte* value, nuint size, int flags);

    [LibraryImport(Lib, EntryPoint = "lgetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint LGetXattr(string path, string name, byte* value, nuint size);

    [LibraryImport(Lib, EntryPoint = "llistxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint LListXattr(string path, byte* list, nuint size);

    [LibraryImport(Lib, EntryPoint = "flock", SetLastError = true)]
    internal static partial int Flock(int fd, int operation);
    // ==== end images ====

    // ==== security: capabilities and seccomp (src/Runtime/Security) ====
    /// <summary>struct __user_cap_header_struct.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct CapUserHeader
    {
        public uint Version;
        public int Pid;
    }

    /// <summary>struct __user_cap_data_struct; version 3 takes two of them (low and high 32 bits).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct CapUserData
    {
        public uint Effective;
        public uint Permitted;
        public uint Inheritable;
    }

    [LibraryImport(Lib, EntryPoint = "capget", SetLastError = true)]
    internal static partial int CapGet(CapUserHeader* header, CapUserData* data);

    [LibraryImport(Lib, EntryPoint = "capset", SetLastError = true)]
    internal static partial int CapSet(CapUserHeader* header, CapUserData* data);

    /// <summary>seccomp(2) has no glibc wrapper: syscall(SYS_seccomp, operation, flags, args).</summary>
    [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true)]
    internal static partial long SyscallSeccomp(long number, nint operation, nint flags, void* args);
    // (prctl for PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_SET_KEEPCAPS and PR_SET_NO_NEW_PRIVS is Prctl above.)
    // ==== end security ====

    // ==== system services (src/SystemServices): clocks for ntpd, fdatasync for syslogd ====
    // Typed wrappers live in src/Runtime/Linux/KernelClock.cs and FileDescriptor.DataSync.
    [LibraryImport(Lib, EntryPoint = "clock_settime", SetLastError = true)]
    internal static partial int ClockSetTime(int clockId, TimeSpec* ts);

    [LibraryImport(Lib, EntryPoint = "adjtimex", SetLastError = true)]
    internal static partial int Adjtimex(Timex* buf);

    [LibraryImport(Lib, EntryPoint = "fdatasync", SetLastError = true)]
    internal static partial int FDataSync(int fd);

    /// <summary>struct timex as laid out by glibc on x86_64 (208 bytes).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 208)]
    internal struct Timex
    {
        [FieldOffset(0)] public uint Modes;
        [FieldOffset(8)] public long Offset;
        [FieldOffset(16)] public long Freq;
        [FieldOffset(24)] public long MaxError;
        [FieldOffset(32)] public long EstError;
        [FieldOffset(40)] public int Status;
        [FieldOffset(48)] public long Constant;
        [FieldOffset(56)] public long Precision;
        [FieldOffset(64)] public long Tolerance;
        [FieldOffset(72)] public long TimeSeconds;
        [FieldOffset(80)] public long TimeMicroseconds;
        [FieldOffset(88)] public long Tick;
    }
    [LibraryImport(Lib, EntryPoint = "setsockopt", SetLastError = true)]
    internal static partial int SetSockOpt(int fd, int level, int name, void* value, uint length);
    // ==== end system services ====
}
