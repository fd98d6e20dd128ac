using System.Runtime.CompilerServices;
using Berth.Runtime.Interop;

namespace Berth.Runtime.Containers;

/// <summary>
/// The container's first process between clone3 and execve: it runs the steps its parent compiled
/// (<see cref="ChildPlan"/>) and ends in the user's program or in _exit.
///
/// It is a copy of a multi-threaded .NET process with only the cloning thread in it, so like the
/// child of vfork it keeps to system calls: no allocation, no marshalling, no exceptions, no static
/// state that could need a class constructor, and raw set*id calls (glibc's would signal threads
/// that are not there). That is what lets Berth start a container without re-executing itself —
/// runc's "runc init" costs a second runtime start-up — and keeps the child's work as cheap as crun's.
/// Failures go to the parent as (step, errno) on the report pipe, which closes on a successful exec.
/// Its first act is a Started message: a GC that another thread of the parent was running when clone3
/// copied the process leaves the child, at the GC poll on clone3's return, waiting for a GC that no
/// thread of its own will finish. It never gets to say Started, and <see cref="ChildStartWatch"/>
/// kills it and clones again.
/// </summary>
internal static unsafe class ContainerChild
{
    private const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0x40, O_NOCTTY = 0x100,
        O_DIRECTORY = 0x10000, O_NOFOLLOW = 0x20000, O_CLOEXEC = 0x80000, O_PATH = 0x200000;
    private const ulong RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_IN_ROOT = 0x10;
    private const ulong MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_REMOUNT = 32,
        MS_NOATIME = 1024, MS_NODIRATIME = 2048, MS_BIND = 4096, MS_MOVE = 8192, MS_REC = 16384, MS_RELATIME = 1 << 21;
    private const long ST_RDONLY = 1, ST_NOSUID = 2, ST_NODEV = 4, ST_NOEXEC = 8, ST_NOATIME = 1024,
        ST_NODIRATIME = 2048, ST_RELATIME = 4096;
    private const int ENOENT = 2, EINTR = 4, EACCES = 13, EEXIST = 17, ENOTDIR = 20, EINVAL = 22, EPERM = 1, ENAMETOOLONG = 36,
        ELOOP = 40, ETIMEDOUT = 110;
    private const int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, X_OK = 1, MNT_DETACH = 2;
    private const int SIG_SETMASK = 2, SIGKILL = 9, SIGCHLD = 17;
    private const uint S_IFMT = 0xF000, S_IFDIR = 0x4000, S_IFLNK = 0xA000;
    private const ulong CLONE_PIDFD = 0x1000;
    private const short POLLIN = 1;
    private const ulong TIOCSPTLCK = 0x40045431, TIOCGPTN = 0x80045430, TIOCSWINSZ = 0x5414, TIOCSCTTY = 0x540E;
    private const int PR_SET_KEEPCAPS = 8, PR_CAPBSET_DROP = 24, PR_SET_NO_NEW_PRIVS = 38, PR_CAP_AMBIENT = 47, PR_CAP_AMBIENT_RAISE = 2;
    private const int PathMax = 4096;

    private struct Context
    {
        public int ReportFd;
        public int GoFd;
        public int RootFd;
        public int Executable;
    }

    /// <summary>Runs the plan; never returns.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Run(ChildOp* ops, int count, int reportFd, int goFd)
    {
        var started = new ChildMessage { Kind = ChildMessageKind.Started };
        LibC.WriteRaw(reportFd, (byte*)&started, sizeof(ChildMessage));
        var ctx = new Context { ReportFd = reportFd, GoFd = goFd, RootFd = -1, Executable = -1 };
        for (int i = 0; i < count; i++)
        {
            int errno = Step(ref ctx, &ops[i], i);
            if (errno != 0) Fail(ref ctx, &ops[i], i, errno, ChildMessageKind.Failed, 0);
        }
        LibC.Exit(127);
    }

    private static int Errno() => *LibC.ErrnoLocation();

    private static int Check(long result) => result < 0 ? Errno() : 0;

    private static int Step(ref Context ctx, ChildOp* op, int index)
    {
        bool ignoreMissing = (op->Flags & ChildOpFlags.IgnoreMissing) != 0;
        switch (op->Code)
        {
            case ChildOpCode.ResetSignals:
                // The parent's handlers point into a runtime that is not running here, and .NET
                // ignores SIGPIPE: the user's program must start with every signal at its default.
                for (int sig = 1; sig <= 64; sig++)
                    if (sig is not (9 or 19 or 32 or 33)) LibC.SignalRaw(sig, 0);
                ulong none = 0;
                return LibC.PthreadSigmask(SIG_SETMASK, &none, null);

            case ChildOpCode.WaitForParent:
            case ChildOpCode.WaitForStartPipe:
                return WaitByte(ctx.GoFd);

            case ChildOpCode.BecomeRoot:
            {
                int e = Check(LibC.RawSyscall4(LibC.SYS_setresgid, 0, 0, 0, 0));
                return e != 0 ? e : Check(LibC.RawSyscall4(LibC.SYS_setresuid, 0, 0, 0, 0));
            }

            case ChildOpCode.JoinNamespace:
                return Check(LibC.RawSyscall2(LibC.SYS_setns, op->Fd, op->Int));

            case ChildOpCode.Mount:
                return Check(LibC.MountRaw(op->A, op->B, op->C, op->MountFlags, op->D));

            case ChildOpCode.OpenRoot:
                ctx.RootFd = LibC.OpenRaw(op->A, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
                return ctx.RootFd < 0 ? Errno() : 0;

            case ChildOpCode.MountInRoot:
                return MountInRoot(ref ctx, op);

            case ChildOpCode.MakeDeviceInRoot:
                return MakeDevice(ref ctx, op);

            case ChildOpCode.BindDeviceInRoot:
            {
                int target = PrepareTarget(ctx.RootFd, op->B, file: true);
                if (target < 0) return Errno();
                byte* proc = stackalloc byte[32];
                FdPath(target, proc);
                int e = Check(LibC.MountRaw(op->A, proc, null, MS_BIND, null));
                LibC.CloseRaw(target);
                return e;
            }

            case ChildOpCode.SymlinkInRoot:
                return SymlinkInRoot(ref ctx, op);

            case ChildOpCode.SetStdio:
                if (op->Fd >= 0 && LibC.Dup2Raw(op->Fd, 0) < 0) return Errno();
                if (op->Int >= 0 && LibC.Dup2Raw(op->Int, 1) < 0) return Errno();
                if (op->Length >= 0 && LibC.Dup2Raw((int)op->Length, 2) < 0) return Errno();
                return 0;

            case ChildOpCode.RunHook:
                RunHook(ref ctx, op, index);
                return 0;

            case ChildOpCode.PivotRoot:
                return PivotRoot(ref ctx);

            case ChildOpCode.WriteFile:
            {
                int fd = LibC.OpenRaw(op->A, O_WRONLY | O_CLOEXEC, 0);
                if (fd < 0) return Errno();
                int e = LibC.WriteRaw(fd, op->B, op->Length) < 0 ? Errno() : 0;
                LibC.CloseRaw(fd);
                return e;
            }

            case ChildOpCode.MaskPath:
            {
                int fd = LibC.OpenRaw(op->A, O_PATH | O_CLOEXEC, 0);
                if (fd < 0) return Errno() == ENOENT && ignoreMissing ? 0 : Errno();
                LibC.Stat st;
                int e = LibC.FStatRaw(fd, &st) < 0 ? Errno() : 0;
                LibC.CloseRaw(fd);
                if (e != 0) return e;
                // A directory gets an empty read-only tmpfs, anything else /dev/null.
                return (st.Mode & S_IFMT) == S_IFDIR
                    ? Check(LibC.MountRaw(op->C, op->A, op->C, MS_RDONLY, null))
                    : Check(LibC.MountRaw(op->B, op->A, null, MS_BIND, null));
            }

            case ChildOpCode.ReadonlyPath:
            {
                if (LibC.MountRaw(op->A, op->A, null, MS_BIND | MS_REC, null) < 0)
                    return Errno() == ENOENT && ignoreMissing ? 0 : Errno();
                return Remount(op->A, MS_RDONLY);
            }

            case ChildOpCode.RemountRootReadonly:
                return Remount(op->A, MS_RDONLY);

            case ChildOpCode.SetHostname:
                return Check(LibC.SetHostnameRaw(op->A, (nuint)op->Length));

            case ChildOpCode.SetDomainname:
                return Check(LibC.SetDomainnameRaw(op->A, (nuint)op->Length));

            case ChildOpCode.SetupConsole:
                return SetupConsole(op);

            case ChildOpCode.NewSession:
                LibC.SetSidRaw();
                return 0;

            case ChildOpCode.ResolveExecutable:
            {
                int best = ENOENT;
                for (int i = 0; op->List1[i] != null; i++)
                {
                    if (LibC.FAccessAtRaw(AT_FDCWD, op->List1[i], X_OK, 0) == 0)
                    {
                        ctx.Executable = i;
                        return 0;
                    }
                    if (Errno() != ENOENT) best = Errno();
                }
                return best;
            }

            case ChildOpCode.ReportReady:
            {
                var m = new ChildMessage { Kind = ChildMessageKind.Ready, Step = index };
                return LibC.WriteRaw(ctx.ReportFd, (byte*)&m, sizeof(ChildMessage)) == sizeof(ChildMessage) ? 0 : Errno();
            }

            case ChildOpCode.WaitForStartFifo:
            {
                // Blocks in open until `start` opens the other end (runc's exec.fifo protocol).
                int fd;
                do fd = LibC.OpenAtRaw(op->Fd, op->A, O_WRONLY | O_CLOEXEC, 0);
                while (fd < 0 && Errno() == EINTR);
                if (fd < 0) return Errno();
                byte zero = 0;
                int e = LibC.WriteRaw(fd, &zero, 1) == 1 ? 0 : Errno();
                LibC.CloseRaw(fd);
                LibC.CloseRaw(op->Fd);
                return e;
            }

            case ChildOpCode.SetRlimit:
            {
                ulong* limits = stackalloc ulong[2];
                limits[0] = op->Value1;
                limits[1] = op->Value2;
                return Check(LibC.SetRlimitRaw(op->Int, limits));
            }

            case ChildOpCode.SetUmask:
                LibC.UmaskRaw(op->Int);
                return 0;

            case ChildOpCode.KeepCapabilities:
                return Check(LibC.PrctlRaw(PR_SET_KEEPCAPS, (nuint)op->Int, 0, 0, 0));

            case ChildOpCode.DropBounding:
                for (int cap = 0; cap < 64; cap++)
                    if ((op->Value1 & (1UL << cap)) != 0 && LibC.PrctlRaw(PR_CAPBSET_DROP, (nuint)cap, 0, 0, 0) < 0 && Errno() != EINVAL)
                        return Errno();
                return 0;

            case ChildOpCode.SetGroups:
                return Check(LibC.RawSyscall2(LibC.SYS_setgroups, op->Length, (nint)op->Ptr));

            case ChildOpCode.SetGid:
                return Check(LibC.RawSyscall4(LibC.SYS_setresgid, op->Int, op->Int, op->Int, 0));

            case ChildOpCode.SetUid:
                return Check(LibC.RawSyscall4(LibC.SYS_setresuid, op->Int, op->Int, op->Int, 0));

            case ChildOpCode.SetCapabilities:
            {
                uint* header = stackalloc uint[2];
                header[0] = 0x20080522; // _LINUX_CAPABILITY_VERSION_3
                header[1] = 0;
                uint* data = stackalloc uint[6];
                data[0] = (uint)op->Value1; data[1] = (uint)op->Value2; data[2] = (uint)op->Value3;
                data[3] = (uint)(op->Value1 >> 32); data[4] = (uint)(op->Value2 >> 32); data[5] = (uint)(op->Value3 >> 32);
                return Check(LibC.RawSyscall2(LibC.SYS_capset, (nint)header, (nint)data));
            }

            case ChildOpCode.RaiseAmbient:
                for (int cap = 0; cap < 64; cap++)
                    if ((op->Value1 & (1UL << cap)) != 0 && LibC.PrctlRaw(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (nuint)cap, 0, 0) < 0)
                        return Errno();
                return 0;

            case ChildOpCode.NoNewPrivileges:
                return Check(LibC.PrctlRaw(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));

            case ChildOpCode.InstallSeccomp:
                return Check(LibC.RawSyscall3(317 /* seccomp */, 1 /* SECCOMP_SET_MODE_FILTER */, op->Int, (nint)op->Ptr));

            case ChildOpCode.ChangeDirectory:
                return Check(LibC.ChdirRaw(op->A));

            case ChildOpCode.CloseExtraFds:
                // Marked close-on-exec rather than closed: the report pipe must survive until execve.
                return Check(LibC.RawSyscall3(LibC.SYS_close_range, op->Int, unchecked((nint)uint.MaxValue), 4 /* CLOSE_RANGE_CLOEXEC */));

            case ChildOpCode.Exec:
            {
                int e = ENOENT;
                if (ctx.Executable >= 0)
                {
                    LibC.ExecveRaw(op->List1[ctx.Executable], op->List2, op->List3);
                    return Errno();
                }
                for (int i = 0; op->List1[i] != null; i++)
                {
                    LibC.ExecveRaw(op->List1[i], op->List2, op->List3);
                    if (Errno() != ENOENT) e = Errno();
                }
                return e;
            }
        }
        return EINVAL;
    }

    private static int WaitByte(int fd)
    {
        byte b;
        while (true)
        {
            nint n = LibC.ReadRaw(fd, &b, 1);
            if (n == 1) return 0;
            // The parent closed without a word: it has given up on this container.
            if (n == 0) LibC.Exit(1);
            if (Errno() != EINTR) return Errno();
        }
    }

    /// <summary>The flags a bind remount must keep: in a user namespace the kernel refuses to clear locked ones.</summary>
    private static int Remount(byte* path, ulong flags)
    {
        LibC.StatFsBuf fs;
        if (LibC.StatFsRaw(path, &fs) < 0) return Errno();
        ulong keep = 0;
        if ((fs.Flags & ST_NOSUID) != 0) keep |= MS_NOSUID;
        if ((fs.Flags & ST_NODEV) != 0) keep |= MS_NODEV;
        if ((fs.Flags & ST_NOEXEC) != 0) keep |= MS_NOEXEC;
        if ((fs.Flags & ST_NOATIME) != 0) keep |= MS_NOATIME;
        if ((fs.Flags & ST_NODIRATIME) != 0) keep |= MS_NODIRATIME;
        if ((fs.Flags & ST_RELATIME) != 0) keep |= MS_RELATIME;
        if ((fs.Flags & ST_RDONLY) != 0) keep |= MS_RDONLY;
        return Check(LibC.MountRaw(null, path, null, MS_BIND | MS_REMOUNT | flags | keep, null));
    }

    private static int MountInRoot(ref Context ctx, ChildOp* op)
    {
        int target = PrepareTarget(ctx.RootFd, op->B, (op->Flags & ChildOpFlags.FileTarget) != 0);
        if (target < 0) return Errno();
        byte* proc = stackalloc byte[32];
        FdPath(target, proc);
        bool remount = (op->Flags & ChildOpFlags.Remount) != 0;
        int e = Check(LibC.MountRaw(op->A, proc, op->C, op->MountFlags, op->D));
        if (e == EPERM && (op->Flags & ChildOpFlags.SysfsFallback) != 0)
        {
            byte* sys = stackalloc byte[] { (byte)'/', (byte)'s', (byte)'y', (byte)'s', 0 };
            e = Check(LibC.MountRaw(sys, proc, null, MS_BIND | MS_REC, null));
            remount = true;
        }
        LibC.CloseRaw(target);
        if (e != 0 || (!remount && op->Value2 == 0)) return e;

        // The descriptor still names the directory under the new mount; look again to get the mount.
        target = ResolveInRoot(ctx.RootFd, op->B, O_PATH);
        if (target < 0) return Errno();
        FdPath(target, proc);
        if (remount) e = Remount(proc, op->Value1);
        if (e == 0 && op->Value2 != 0) e = Check(LibC.MountRaw(null, proc, null, op->Value2, null));
        LibC.CloseRaw(target);
        return e;
    }

    private static int MakeDevice(ref Context ctx, ChildOp* op)
    {
        byte* buf = stackalloc byte[PathMax];
        int parent = OpenParent(ctx.RootFd, op->B, buf, out byte* name);
        if (parent < 0) return Errno();
        int e = 0;
        if (LibC.MknodAtRaw(parent, name, op->Int, op->Value1) < 0) e = Errno() == EEXIST ? 0 : Errno();
        else if (LibC.FchownAtRaw(parent, name, (uint)op->Value2, (uint)op->Value3, AT_SYMLINK_NOFOLLOW) < 0) e = Errno();
        // mknod honours the runtime's umask (0022): /dev/null must still be 0666.
        else if (LibC.FchmodAtRaw(parent, name, op->Int & 0xfff, 0) < 0) e = Errno();
        LibC.CloseRaw(parent);
        return e;
    }

    private static int SymlinkInRoot(ref Context ctx, ChildOp* op)
    {
        byte* buf = stackalloc byte[PathMax];
        int parent = OpenParent(ctx.RootFd, op->B, buf, out byte* name);
        if (parent < 0) return Errno();
        int e = LibC.SymlinkAtRaw(op->A, parent, name) < 0 && Errno() != EEXIST ? Errno() : 0;
        LibC.CloseRaw(parent);
        return e;
    }

    private static int PivotRoot(ref Context ctx)
    {
        byte* dot = stackalloc byte[] { (byte)'.', 0 };
        byte* slash = stackalloc byte[] { (byte)'/', 0 };
        if (LibC.FChdir(ctx.RootFd) < 0) return Errno();
        if (LibC.RawSyscall2(LibC.SYS_pivot_root, (nint)dot, (nint)dot) == 0)
        {
            // The old root is now stacked on the new one at "."; detach it (and the host with it).
            if (LibC.Umount2Raw(dot, MNT_DETACH) < 0) return Errno();
        }
        else
        {
            // pivot_root refuses a root on the initramfs (rootfs): move the mount and chroot instead.
            if (Errno() != EINVAL) return Errno();
            if (LibC.MountRaw(dot, slash, null, MS_MOVE, null) < 0) return Errno();
            if (LibC.ChrootRaw(dot) < 0) return Errno();
        }
        LibC.CloseRaw(ctx.RootFd);
        ctx.RootFd = -1;
        return Check(LibC.ChdirRaw(slash));
    }

    private static int SetupConsole(ChildOp* op)
    {
        byte* ptmx = op->A;
        int master = LibC.OpenRaw(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC, 0);
        if (master < 0) return Errno();
        int unlock = 0;
        if (LibC.IoctlRaw(master, TIOCSPTLCK, &unlock) < 0) return Errno();
        uint number;
        if (LibC.IoctlRaw(master, TIOCGPTN, &number) < 0) return Errno();
        byte* path = stackalloc byte[32];
        byte* prefix = op->B; // "/dev/pts/"
        int len = 0;
        while (prefix[len] != 0) { path[len] = prefix[len]; len++; }
        len += WriteDecimal(number, path + len);
        path[len] = 0;
        int slave = LibC.OpenRaw(path, O_RDWR | O_NOCTTY, 0);
        if (slave < 0) return Errno();
        if (op->Value1 != 0)
        {
            ushort* ws = stackalloc ushort[4];
            ws[0] = (ushort)op->Value1; ws[1] = (ushort)op->Value2; ws[2] = 0; ws[3] = 0;
            if (LibC.IoctlRaw(slave, TIOCSWINSZ, ws) < 0) return Errno();
        }

        // Hand the master to whoever listens on --console-socket (SCM_RIGHTS), as runc does.
        LibC.IoVec iov;
        iov.Base = ptmx;
        iov.Length = 9; // "/dev/ptmx"
        byte* control = stackalloc byte[24];
        for (int i = 0; i < 24; i++) control[i] = 0;
        *(ulong*)control = 20;            // cmsg_len = CMSG_LEN(sizeof(int))
        *(int*)(control + 8) = 1;         // SOL_SOCKET
        *(int*)(control + 12) = 1;        // SCM_RIGHTS
        *(int*)(control + 16) = master;
        LibC.MsgHdr msg = default;
        msg.Iov = &iov;
        msg.IovLen = 1;
        msg.Control = control;
        msg.ControlLen = 24;
        if (LibC.SendMsgRaw(op->Fd, &msg, 0) < 0) return Errno();
        LibC.CloseRaw(master);
        LibC.CloseRaw(op->Fd);

        if (LibC.SetSidRaw() < 0) return Errno();
        if (LibC.IoctlRaw(slave, TIOCSCTTY, null) < 0) return Errno();
        for (int fd = 0; fd < 3; fd++)
            if (LibC.Dup2Raw(slave, fd) < 0) return Errno();
        if (slave > 2) LibC.CloseRaw(slave);
        return 0;
    }

    /// <summary>Runs a hook in the container's namespaces with the state on stdin, and waits (bounded) for it.</summary>
    private static void RunHook(ref Context ctx, ChildOp* op, int index)
    {
        LibC.LSeekRaw(op->Fd, 0, 0);
        int pidfd = -1;
        var args = new LibC.CloneArgs { Flags = CLONE_PIDFD, PidFd = (ulong)&pidfd, ExitSignal = SIGCHLD };
        long pid = LibC.RawSyscall2(LibC.SYS_clone3, (nint)(&args), sizeof(LibC.CloneArgs));
        if (pid < 0) Fail(ref ctx, op, index, Errno(), ChildMessageKind.Failed, 0);
        if (pid == 0)
        {
            LibC.Dup2Raw(op->Fd, 0);
            LibC.ExecveRaw(op->A, op->List1, op->List2);
            LibC.Exit(127);
        }
        var pfd = new LibC.PollFd { Fd = pidfd, Events = POLLIN };
        int timeoutMs = op->Int > 0 ? op->Int * 1000 : -1;
        int r;
        do r = LibC.PollRaw(&pfd, 1, timeoutMs);
        while (r < 0 && Errno() == EINTR);
        int status = 0;
        if (r == 0) LibC.KillRaw((int)pid, SIGKILL);
        while (LibC.Wait4Raw((int)pid, &status, 0, null) < 0 && Errno() == EINTR) { }
        LibC.CloseRaw(pidfd);
        if (r == 0) Fail(ref ctx, op, index, ETIMEDOUT, ChildMessageKind.HookFailed, status);
        if (status != 0) Fail(ref ctx, op, index, 0, ChildMessageKind.HookFailed, status);
    }

    /// <summary>
    /// Opens <paramref name="relative"/> (no leading slash) inside the root, creating what is missing
    /// (directories, or a file when <paramref name="file"/>). Symlinks resolve inside the root
    /// (RESOLVE_IN_ROOT), so an image's "../" or absolute links cannot point a mount outside it.
    /// </summary>
    private static int PrepareTarget(int root, byte* relative, bool file)
    {
        int fd = ResolveInRoot(root, relative, O_PATH);
        if (fd >= 0 || Errno() != ENOENT) return fd;
        if (!file)
        {
            if (MakeDirectories(root, relative) != 0) return -1;
            return ResolveInRoot(root, relative, O_PATH);
        }
        byte* buf = stackalloc byte[PathMax];
        int parent = OpenParent(root, relative, buf, out byte* name);
        if (parent < 0) return -1;
        int created = LibC.OpenAtRaw(parent, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0x1a4 /* 0644 */);
        int saved = Errno();
        LibC.CloseRaw(parent);
        if (created < 0)
        {
            *LibC.ErrnoLocation() = saved;
            return -1;
        }
        LibC.CloseRaw(created);
        return ResolveInRoot(root, relative, O_PATH);
    }

    /// <summary>Opens the parent directory of <paramref name="relative"/> (creating it) and points <paramref name="name"/> at the last component inside <paramref name="buf"/>.</summary>
    private static int OpenParent(int root, byte* relative, byte* buf, out byte* name)
    {
        int len = CopyPath(relative, buf);
        int slash = len - 1;
        while (slash >= 0 && buf[slash] != '/') slash--;
        if (slash < 0)
        {
            name = buf;
            byte* dot = stackalloc byte[] { (byte)'.', 0 };
            return ResolveInRoot(root, dot, O_PATH | O_DIRECTORY);
        }
        buf[slash] = 0;
        name = buf + slash + 1;
        if (MakeDirectories(root, buf) != 0) return -1;
        return ResolveInRoot(root, buf, O_PATH | O_DIRECTORY);
    }

    /// <summary>
    /// mkdir -p inside the root, one component at a time. A component that is a symlink is followed
    /// inside the root, as RESOLVE_IN_ROOT would, and a dangling one gets its target created there
    /// (runc's securejoin.MkdirAll): an image's "/evil -> /tmp/x" makes /tmp/x in the rootfs, never
    /// on the host.
    /// </summary>
    private static int MakeDirectories(int root, byte* relative)
    {
        byte* bufA = stackalloc byte[PathMax];
        byte* bufB = stackalloc byte[PathMax];
        byte* resolved = stackalloc byte[PathMax];
        byte* empty = stackalloc byte[] { 0 };
        byte* dot = stackalloc byte[] { (byte)'.', 0 };
        byte* pending = bufA, spare = bufB;
        int plen = CopyPath(relative, pending);
        if (plen < 0) return -1;
        int rlen = 0, links = 0, pos = 0;
        resolved[0] = 0;
        while (true)
        {
            while (pos < plen && pending[pos] == '/') pos++;
            if (pos >= plen) return 0;
            int start = pos;
            while (pos < plen && pending[pos] != '/') pos++;
            int clen = pos - start;
            if (clen == 1 && pending[start] == '.') continue;
            if (clen == 2 && pending[start] == '.' && pending[start + 1] == '.')
            {
                while (rlen > 0 && resolved[rlen - 1] != '/') rlen--;
                if (rlen > 0) rlen--;
                resolved[rlen] = 0;
                continue;
            }
            int parentLen = rlen;
            if (rlen + 1 + clen >= PathMax) return SetErrno(ENAMETOOLONG);
            if (rlen > 0) resolved[rlen++] = (byte)'/';
            for (int i = 0; i < clen; i++) resolved[rlen + i] = pending[start + i];
            rlen += clen;
            resolved[rlen] = 0;

            int fd = ResolveInRoot(root, resolved, O_PATH | O_NOFOLLOW);
            if (fd < 0)
            {
                if (Errno() != ENOENT) return -1;
                int parent;
                if (parentLen == 0) parent = ResolveInRoot(root, dot, O_PATH | O_DIRECTORY);
                else
                {
                    resolved[parentLen] = 0;
                    parent = ResolveInRoot(root, resolved, O_PATH | O_DIRECTORY);
                    resolved[parentLen] = (byte)'/';
                }
                if (parent < 0) return -1;
                int r = LibC.MkdirAtRaw(parent, resolved + (parentLen == 0 ? 0 : parentLen + 1), 0x1ed /* 0755 */);
                int saved = Errno();
                LibC.CloseRaw(parent);
                if (r < 0 && saved != EEXIST) return SetErrno(saved);
                continue;
            }
            LibC.Stat st;
            if (LibC.FStatRaw(fd, &st) < 0)
            {
                int saved = Errno();
                LibC.CloseRaw(fd);
                return SetErrno(saved);
            }
            uint type = st.Mode & S_IFMT;
            if (type == S_IFDIR)
            {
                LibC.CloseRaw(fd);
                continue;
            }
            if (type != S_IFLNK)
            {
                LibC.CloseRaw(fd);
                return SetErrno(ENOTDIR);
            }
            if (++links > 40)
            {
                LibC.CloseRaw(fd);
                return SetErrno(ELOOP);
            }
            // The walk goes on with the link's target followed by what was left of the path.
            nint n = LibC.ReadlinkAtRaw(fd, empty, spare, PathMax - 1);
            int linkErrno = Errno();
            LibC.CloseRaw(fd);
            if (n < 0) return SetErrno(linkErrno);
            int rest = plen - pos;
            if (n + 1 + rest >= PathMax) return SetErrno(ENAMETOOLONG);
            int len = (int)n;
            spare[len++] = (byte)'/';
            for (int i = 0; i < rest; i++) spare[len + i] = pending[pos + i];
            len += rest;
            spare[len] = 0;
            rlen = spare[0] == '/' ? 0 : parentLen;
            resolved[rlen] = 0;
            byte* t = pending;
            pending = spare;
            spare = t;
            plen = len;
            pos = 0;
        }
    }

    private static int SetErrno(int errno)
    {
        *LibC.ErrnoLocation() = errno;
        return -1;
    }

    private static int ResolveInRoot(int root, byte* relative, int flags)
    {
        var how = new LibC.OpenHowRaw { Flags = (ulong)(flags | O_CLOEXEC), Resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
        return (int)LibC.RawSyscall4(LibC.SYS_openat2, root, (nint)relative, (nint)(&how), sizeof(LibC.OpenHowRaw));
    }

    private static int CopyPath(byte* source, byte* buf)
    {
        int i = 0;
        while (source[i] != 0)
        {
            if (i == PathMax - 1)
            {
                *LibC.ErrnoLocation() = 36; // ENAMETOOLONG
                return -1;
            }
            buf[i] = source[i];
            i++;
        }
        buf[i] = 0;
        return i;
    }

    /// <summary>"/proc/self/fd/N": mounting onto the magic link mounts onto exactly the file the descriptor holds.</summary>
    private static void FdPath(int fd, byte* buf)
    {
        byte* prefix = stackalloc byte[] { (byte)'/', (byte)'p', (byte)'r', (byte)'o', (byte)'c', (byte)'/', (byte)'s', (byte)'e', (byte)'l', (byte)'f', (byte)'/', (byte)'f', (byte)'d', (byte)'/' };
        for (int i = 0; i < 14; i++) buf[i] = prefix[i];
        int n = WriteDecimal((uint)fd, buf + 14);
        buf[14 + n] = 0;
    }

    private static int WriteDecimal(uint value, byte* buf)
    {
        byte* tmp = stackalloc byte[10];
        int n = 0;
        do
        {
            tmp[n++] = (byte)('0' + value % 10);
            value /= 10;
        } while (value != 0);
        for (int i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
        return n;
    }

    /// <summary>Reports a failed step and exits. Without a parent to tell (after `create` returned), says it on stderr.</summary>
    private static void Fail(ref Context ctx, ChildOp* op, int index, int errno, ChildMessageKind kind, int extra)
    {
        var m = new ChildMessage { Kind = kind, Step = index, Errno = errno, Extra = extra };
        LibC.SignalRaw(13, 1); // SIGPIPE ignored: with `create` gone the pipe is closed, and stderr must get the message
        if (LibC.WriteRaw(ctx.ReportFd, (byte*)&m, sizeof(ChildMessage)) != sizeof(ChildMessage))
        {
            WriteStderr("berth-runtime: "u8);
            if (op->Description != null) WriteStderr(op->Description);
            WriteStderr(": "u8);
            if (kind == ChildMessageKind.HookFailed && errno == 0) WriteStderr("hook failed"u8);
            else WriteStderr(LibC.StrErrorRaw(errno));
            WriteStderr("\n"u8);
        }
        LibC.Exit(op->Code is ChildOpCode.Exec or ChildOpCode.ResolveExecutable ? (errno == EACCES ? 126 : 127) : 1);
    }

    private static void WriteStderr(ReadOnlySpan<byte> text)
    {
        fixed (byte* p = text) LibC.WriteRaw(2, p, text.Length);
    }

    private static void WriteStderr(byte* text)
    {
        int n = 0;
        while (text[n] != 0) n++;
        LibC.WriteRaw(2, text, n);
    }
}
