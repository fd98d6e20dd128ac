namespace Berth.Runtime.Interop;

/// <summary>Linux x86_64 constants used by the bindings in <see cref="LibC"/>.</summary>
public static class Consts
{
    // open(2)
    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0x40, O_EXCL = 0x80, O_NOCTTY = 0x100,
        O_TRUNC = 0x200, O_APPEND = 0x400, O_NONBLOCK = 0x800, O_DIRECT = 0x4000, O_DIRECTORY = 0x10000, O_NOFOLLOW = 0x20000,
        O_CLOEXEC = 0x80000;

    // lseek(2)
    public const int SEEK_SET = 0, SEEK_CUR = 1, SEEK_END = 2;
    public const int MADV_PAGEOUT = 21;

    // mount(2)
    public const ulong MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_REMOUNT = 32,
        MS_NOATIME = 1024, MS_BIND = 4096, MS_MOVE = 8192, MS_REC = 16384, MS_SILENT = 32768,
        MS_PRIVATE = 1 << 18, MS_SLAVE = 1 << 19, MS_SHARED = 1 << 20, MS_RELATIME = 1 << 21;
    public const int MNT_FORCE = 1, MNT_DETACH = 2;

    // reboot(2)
    public const int RB_AUTOBOOT = 0x01234567, RB_HALT_SYSTEM = unchecked((int)0xcdef0123),
        RB_POWER_OFF = 0x4321fedc, RB_DISABLE_CAD = 0;

    // wait
    public const int WNOHANG = 1;

    // signals
    public const int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGKILL = 9, SIGUSR1 = 10, SIGUSR2 = 12,
        SIGPIPE = 13, SIGTERM = 15, SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19, SIGPWR = 30;

    // errno
    public const int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, EBADF = 9, ECHILD = 10, EAGAIN = 11,
        EACCES = 13, EBUSY = 16, EEXIST = 17, ENODEV = 19, ENOTDIR = 20, EISDIR = 21, EINVAL = 22,
        ENOSPC = 28, ENOSYS = 38, ENOTEMPTY = 39, ENOEXEC = 8;

    // posix_spawn flags (glibc)
    public const short POSIX_SPAWN_SETPGROUP = 0x02, POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08,
        POSIX_SPAWN_SETSID = 0x80;

    // syscalls (x86_64)
    public const long SYS_pivot_root = 155, SYS_finit_module = 313;

    // clocks
    public const int CLOCK_MONOTONIC = 1, CLOCK_BOOTTIME = 7;

    // sockets and interface ioctls
    public const int AF_UNIX = 1, AF_INET = 2, SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_CLOEXEC = 0x80000;
    public const ulong SIOCGIFFLAGS = 0x8913, SIOCSIFFLAGS = 0x8914;
    public const short IFF_UP = 0x1;

    // file types in st_mode
    public const uint S_IFMT = 0xF000, S_IFDIR = 0x4000, S_IFREG = 0x8000, S_IFLNK = 0xA000, S_IFCHR = 0x2000, S_IFBLK = 0x6000;

    // filesystem magics (statfs f_type)
    public const long RAMFS_MAGIC = 0x858458f6, TMPFS_MAGIC = 0x01021994, SQUASHFS_MAGIC = 0x73717368,
        EXT4_SUPER_MAGIC = 0xEF53, CGROUP2_SUPER_MAGIC = 0x63677270;

    // prctl
    public const int PR_SET_NAME = 15, PR_SET_CHILD_SUBREAPER = 36;

    // posix_fadvise
    public const int POSIX_FADV_DONTNEED = 4;

    // fcntl
    public const int F_SETFD = 2, FD_CLOEXEC = 1;

    // ---- system services (src/SystemServices): syslogd, ntpd, netconf ----
    public const int EPIPE = 32;
    public const int CLOCK_REALTIME = 0;
    public const int AF_NETLINK = 16;
    // adjtimex(2)
    public const uint ADJ_OFFSET = 0x0001, ADJ_MAXERROR = 0x0004, ADJ_ESTERROR = 0x0008, ADJ_STATUS = 0x0010,
        ADJ_OFFSET_SINGLESHOT = 0x8001;
    public const int STA_UNSYNC = 0x0040, TIME_ERROR = 5;
}
