using Berth.Runtime.Oci;

namespace Berth.Runtime.Security;

/// <summary>
/// Docker's default seccomp profile (moby profiles/seccomp/default.json) as data: an allow list
/// with ERRNO(EPERM) as default, plus rules that depend on the container's capabilities and
/// architecture. <see cref="For"/> renders it for one container the way dockerd does before it
/// hands the spec to the runtime.
/// </summary>
public static class DockerSeccompProfile
{
    /// <summary>One entry of the template; the conditions decide whether it is part of a container's profile.</summary>
    private sealed record Entry(string Names, string Action)
    {
        public uint? ErrnoRet { get; init; }
        public SyscallArg[] Args { get; init; } = [];
        /// <summary>Every one of these capabilities must be granted.</summary>
        public string[] IncludeCaps { get; init; } = [];
        /// <summary>Go architecture names (amd64, x32, x86, ...); one must be the container's.</summary>
        public string[] IncludeArches { get; init; } = [];
        /// <summary>None of these capabilities may be granted.</summary>
        public string[] ExcludeCaps { get; init; } = [];
        public string[] ExcludeArches { get; init; } = [];
        public (int Major, int Minor)? MinKernel { get; init; }
    }

    private const string Allow = "SCMP_ACT_ALLOW";
    private const ulong CloneNamespaceFlags = 0x7E020000; // CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET

    private static SyscallArg Arg(uint index, ulong value, string op) => new() { Index = index, Value = value, Op = op };

    private static readonly Entry[] Template =
    [
        new("""
            accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32 clock_adjtime
            clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep
            clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 dup3 epoll_create
            epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2
            execve execveat exit exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir
            fchmod fchmodat fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork
            fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex
            futex_time64 futex_waitv futimesat getcpu getcwd getdents getdents64 getegid getegid32 geteuid geteuid32
            getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid getppid getpriority
            getrandom getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid
            getsockname getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr inotify_add_watch
            inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents
            io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit io_uring_enter io_uring_register
            io_uring_setup ipc kill landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lchown32
            lgetxattr link linkat listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64
            madvise membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall
            mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend
            mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv msgsnd msync munlock munlockall munmap
            name_to_handle_at nanosleep newfstatat _newselect open openat openat2 pause pidfd_open pidfd_send_signal
            pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2
            prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink
            readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr rename
            renameat renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo
            rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity
            sched_getattr sched_getparam sched_get_priority_max sched_get_priority_min sched_getscheduler
            sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam
            sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop semtimedop_time64 send
            sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32
            setgroups setgroups32 setitimer setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid
            setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid setsockopt set_thread_area
            set_tid_address setuid setuid32 setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd
            signalfd4 sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs statfs64 statx symlink
            symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create timer_delete timer_getoverrun
            timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime
            timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask
            uname unlink unlinkat utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write
            writev
            """, Allow),
        new("process_vm_readv process_vm_writev ptrace", Allow) { MinKernel = (4, 8) },
        // AF_VSOCK (40) sockets could reach the host: everything else is allowed.
        new("socket", Allow) { Args = [Arg(0, 40, "SCMP_CMP_NE")] },
        // personality(): PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32 and the query 0xffffffff.
        new("personality", Allow) { Args = [Arg(0, 0, "SCMP_CMP_EQ")] },
        new("personality", Allow) { Args = [Arg(0, 8, "SCMP_CMP_EQ")] },
        new("personality", Allow) { Args = [Arg(0, 131072, "SCMP_CMP_EQ")] },
        new("personality", Allow) { Args = [Arg(0, 131080, "SCMP_CMP_EQ")] },
        new("personality", Allow) { Args = [Arg(0, 4294967295, "SCMP_CMP_EQ")] },
        new("sync_file_range2 swapcontext", Allow) { IncludeArches = ["ppc64le"] },
        new("arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls", Allow) { IncludeArches = ["arm", "arm64"] },
        new("arch_prctl", Allow) { IncludeArches = ["amd64", "x32"] },
        new("modify_ldt", Allow) { IncludeArches = ["amd64", "x32", "x86"] },
        new("s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr", Allow) { IncludeArches = ["s390", "s390x"] },
        new("riscv_flush_icache", Allow) { IncludeArches = ["riscv64"] },
        new("open_by_handle_at", Allow) { IncludeCaps = ["CAP_DAC_READ_SEARCH"] },
        new("""
            bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount mount_setattr
            move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog
            umount umount2 unshare
            """, Allow) { IncludeCaps = ["CAP_SYS_ADMIN"] },
        // clone without namespace flags; s390 has flags in the second argument.
        new("clone", Allow) { Args = [Arg(0, CloneNamespaceFlags, "SCMP_CMP_MASKED_EQ")], ExcludeCaps = ["CAP_SYS_ADMIN"], ExcludeArches = ["s390", "s390x"] },
        new("clone", Allow) { Args = [Arg(1, CloneNamespaceFlags, "SCMP_CMP_MASKED_EQ")], IncludeArches = ["s390", "s390x"], ExcludeCaps = ["CAP_SYS_ADMIN"] },
        // clone3 passes its flags in memory, where a filter cannot look: ENOSYS makes libc fall back to clone.
        new("clone3", "SCMP_ACT_ERRNO") { ErrnoRet = 38, ExcludeCaps = ["CAP_SYS_ADMIN"] },
        new("reboot", Allow) { IncludeCaps = ["CAP_SYS_BOOT"] },
        new("chroot", Allow) { IncludeCaps = ["CAP_SYS_CHROOT"] },
        new("delete_module init_module finit_module", Allow) { IncludeCaps = ["CAP_SYS_MODULE"] },
        new("acct", Allow) { IncludeCaps = ["CAP_SYS_PACCT"] },
        new("kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace", Allow) { IncludeCaps = ["CAP_SYS_PTRACE"] },
        new("iopl ioperm", Allow) { IncludeCaps = ["CAP_SYS_RAWIO"] },
        new("settimeofday stime clock_settime clock_settime64", Allow) { IncludeCaps = ["CAP_SYS_TIME"] },
        new("vhangup", Allow) { IncludeCaps = ["CAP_SYS_TTY_CONFIG"] },
        new("get_mempolicy mbind set_mempolicy set_mempolicy_home_node", Allow) { IncludeCaps = ["CAP_SYS_NICE"] },
        new("syslog", Allow) { IncludeCaps = ["CAP_SYSLOG"] },
        new("bpf", Allow) { IncludeCaps = ["CAP_BPF"] },
        new("perf_event_open", Allow) { IncludeCaps = ["CAP_PERFMON"] },
    ];

    /// <summary>
    /// The profile for a container on amd64 with the given (bounding) capabilities. Names no x86
    /// ABI has (recv, send, ...: other architectures' calls) are left out here, where they are
    /// known to be harmless, so that compiling the built-in profile warns about nothing.
    /// </summary>
    public static SeccompSpec For(IEnumerable<string> capabilities, (int Major, int Minor)? kernel = null)
    {
        var caps = capabilities.ToHashSet(StringComparer.Ordinal);
        var running = kernel ?? RunningKernel();
        const string arch = "amd64";
        var rules = new List<SyscallRule>();
        foreach (var e in Template)
        {
            if (e.IncludeCaps.Any(c => !caps.Contains(c))) continue;
            if (e.IncludeArches.Length > 0 && !e.IncludeArches.Contains(arch)) continue;
            if (e.ExcludeCaps.Any(caps.Contains)) continue;
            if (e.ExcludeArches.Contains(arch)) continue;
            if (e.MinKernel is { } min && running is { } k && k.CompareTo(min) < 0) continue;
            var names = e.Names.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Where(SyscallTable.IsKnown).ToList();
            rules.Add(new SyscallRule { Names = names, Action = e.Action, ErrnoRet = e.ErrnoRet, Args = e.Args });
        }
        return new SeccompSpec
        {
            DefaultAction = "SCMP_ACT_ERRNO",
            DefaultErrnoRet = 1,
            Architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            Syscalls = rules,
        };
    }

    /// <summary>Major and minor of the running kernel; null if /proc is not there to say.</summary>
    private static (int, int)? RunningKernel()
    {
        try
        {
            var parts = File.ReadAllText("/proc/sys/kernel/osrelease").Split('.', '-');
            return (int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
