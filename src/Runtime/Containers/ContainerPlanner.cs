using Berth.Runtime.Oci;
using Berth.Runtime.Security;

namespace Berth.Runtime.Containers;

/// <summary>How the child learns that `start` was called.</summary>
internal enum StartSignal
{
    /// <summary>`create` then `start` from another process: block opening exec.fifo in the state directory.</summary>
    Fifo,
    /// <summary>`run`: the same parent releases the child through the go pipe.</summary>
    Pipe,
}

/// <summary>What the parent has opened for the child before clone3, by descriptor number.</summary>
internal sealed record ChildDescriptors
{
    /// <summary>The state directory (O_PATH), for exec.fifo.</summary>
    public int StateDirectory { get; init; } = -1;
    /// <summary>A connected --console-socket.</summary>
    public int ConsoleSocket { get; init; } = -1;
    /// <summary>A memfd with the state JSON that hooks read on stdin.</summary>
    public int HookState { get; init; } = -1;
    /// <summary>Namespaces to join (linux.namespaces[].path, or a running container's for exec).</summary>
    public IReadOnlyDictionary<NamespaceKind, int> Namespaces { get; init; } = new Dictionary<NamespaceKind, int>();
    /// <summary>--preserve-fds: descriptors 3 .. 3+N-1 stay open in the user's program.</summary>
    public int PreserveFds { get; init; }
    /// <summary>Descriptors that become the program's stdin, stdout and stderr (-1: inherit the runtime's).</summary>
    public (int In, int Out, int Err) Stdio { get; init; } = (-1, -1, -1);
}

/// <summary>The process part of a plan: who runs what, with which privileges.</summary>
internal sealed record ProcessPlan
{
    public required ProcessSpec Process { get; init; }
    public CapabilityPlan? Capabilities { get; init; }
    public SeccompProgram? Seccomp { get; init; }
    /// <summary>The JSON path of the process in its file ("$.process", or "process.json" for exec).</summary>
    public string Path { get; init; } = "$.process";
}

/// <summary>
/// Compiles a config.json into the steps of the container child, in the order runc and crun use:
/// namespaces, rootfs mounts, devices, createContainer hooks, pivot_root, sysctl, read-only and
/// masked paths, identity, wait for start, startContainer hooks, privileges, execve. All decisions
/// that can be made in the parent are made here, so the child only carries them out.
/// </summary>
internal static unsafe class ContainerPlanner
{
    private const ulong MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_BIND = 4096, MS_REC = 16384,
        MS_PRIVATE = 1 << 18;
    private const int S_IFCHR = 0x2000, S_IFBLK = 0x6000, S_IFIFO = 0x1000;

    public const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>The devices every container gets (runc's and Docker's default set), when /dev is the container's own.</summary>
    public static readonly IReadOnlyList<DeviceSpec> DefaultDevices =
    [
        new() { Type = "c", Path = "/dev/null", Major = 1, Minor = 3, FileMode = 0x1b6 },
        new() { Type = "c", Path = "/dev/zero", Major = 1, Minor = 5, FileMode = 0x1b6 },
        new() { Type = "c", Path = "/dev/full", Major = 1, Minor = 7, FileMode = 0x1b6 },
        new() { Type = "c", Path = "/dev/random", Major = 1, Minor = 8, FileMode = 0x1b6 },
        new() { Type = "c", Path = "/dev/urandom", Major = 1, Minor = 9, FileMode = 0x1b6 },
        new() { Type = "c", Path = "/dev/tty", Major = 5, Minor = 0, FileMode = 0x1b6 },
    ];

    private static readonly string[] RlimitNames =
    [
        "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS", "RLIMIT_NPROC",
        "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE",
        "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
    ];

    /// <summary>The plan for a new container (create and run).</summary>
    public static ChildPlan ForContainer(RuntimeSpec spec, string bundle, string rootfs, ProcessPlan process,
        ChildDescriptors fds, StartSignal start, string source = "config.json")
    {
        var linux = spec.Linux ?? new LinuxSpec();
        if (linux.Namespace(NamespaceKind.Mount) is null)
            throw new SpecException(source, "$.linux.namespaces", "a mount namespace is required (this runtime sets up the rootfs in one)");
        if (linux.Namespace(NamespaceKind.Time) is not null)
            throw new SpecException(source, "$.linux.namespaces", "time namespaces are not supported by this runtime");
        bool userNs = linux.Namespace(NamespaceKind.User) is not null;

        var plan = new ChildPlan();
        try
        {
            var a = plan.Arena;
            plan.Add(ChildOpCode.ResetSignals, "reset signal handlers");
            plan.Add(ChildOpCode.WaitForParent, "wait for the runtime");
            AddStdio(plan, fds);
            AddJoins(plan, fds, userNs && !fds.Namespaces.ContainsKey(NamespaceKind.User) && MapsRoot(linux));

            // The host must never see the container's mounts, and vice versa unless asked.
            ulong propagation = linux.RootfsPropagation is { } rp ? MountOptions.Parse([rp], "$.linux.rootfsPropagation").Propagation | MS_REC : MS_PRIVATE | MS_REC;
            plan.Add(ChildOpCode.Mount, $"make / {linux.RootfsPropagation ?? "rprivate"} in the container's mount namespace",
                op => { op.B = a.String("/"); op.MountFlags = propagation; return op; });
            plan.Add(ChildOpCode.Mount, $"bind the rootfs {rootfs} onto itself",
                op => { op.A = a.String(rootfs); op.B = op.A; op.MountFlags = MS_BIND | MS_REC; return op; });
            plan.Add(ChildOpCode.OpenRoot, $"open the rootfs {rootfs}", op => { op.A = a.String(rootfs); return op; });

            bool ownDev = false, devpts = false;
            for (int i = 0; i < spec.Mounts.Count; i++)
            {
                var m = spec.Mounts[i];
                string dest = Normalize(m.Destination);
                if (dest == "dev") ownDev = true;
                if (dest == "dev/pts") devpts = true;
                AddMount(plan, m, dest, bundle, $"$.mounts[{i}]", source);
            }
            AddDevices(plan, linux, ownDev, userNs);
            if (ownDev)
            {
                AddSymlink(plan, "/proc/self/fd", "dev/fd");
                AddSymlink(plan, "/proc/self/fd/0", "dev/stdin");
                AddSymlink(plan, "/proc/self/fd/1", "dev/stdout");
                AddSymlink(plan, "/proc/self/fd/2", "dev/stderr");
                if (devpts) AddSymlink(plan, "pts/ptmx", "dev/ptmx");
            }
            AddHooks(plan, spec.Hooks?.CreateContainer, "createContainer", fds.HookState);
            plan.Add(ChildOpCode.PivotRoot, $"pivot_root into {rootfs}");

            foreach (var (key, value) in linux.Sysctl)
            {
                CheckSysctl(key, linux, source);
                string path = "/proc/sys/" + key.Replace('.', '/');
                byte[] bytes = System.Text.Encoding.UTF8.GetBytes(value);
                plan.Add(ChildOpCode.WriteFile, $"set sysctl {key}={value} ($.linux.sysctl)",
                    op => { op.A = a.String(path); op.B = a.String(value); op.Length = bytes.Length; return op; });
            }
            foreach (var path in linux.ReadonlyPaths)
                plan.Add(ChildOpCode.ReadonlyPath, $"make {path} read-only ($.linux.readonlyPaths)",
                    op => { op.A = a.String(path); return op; }, ChildOpFlags.IgnoreMissing);
            foreach (var path in linux.MaskedPaths)
                plan.Add(ChildOpCode.MaskPath, $"mask {path} ($.linux.maskedPaths)",
                    op => { op.A = a.String(path); op.B = a.String("/dev/null"); op.C = a.String("tmpfs"); return op; }, ChildOpFlags.IgnoreMissing);
            if (spec.Root?.Readonly == true)
                plan.Add(ChildOpCode.RemountRootReadonly, "remount the rootfs read-only ($.root.readonly)", op => { op.A = a.String("/"); return op; });

            if (spec.Hostname is { Length: > 0 } hostname)
            {
                if (linux.Namespace(NamespaceKind.Uts) is null)
                    throw new SpecException(source, "$.hostname", "setting the hostname needs a uts namespace in $.linux.namespaces");
                byte[] bytes = System.Text.Encoding.UTF8.GetBytes(hostname);
                plan.Add(ChildOpCode.SetHostname, $"set the hostname to \"{hostname}\"",
                    op => { op.A = a.String(hostname); op.Length = bytes.Length; return op; });
            }
            if (spec.Domainname is { Length: > 0 } domain)
            {
                if (linux.Namespace(NamespaceKind.Uts) is null)
                    throw new SpecException(source, "$.domainname", "setting the domain name needs a uts namespace in $.linux.namespaces");
                byte[] bytes = System.Text.Encoding.UTF8.GetBytes(domain);
                plan.Add(ChildOpCode.SetDomainname, $"set the domain name to \"{domain}\"",
                    op => { op.A = a.String(domain); op.Length = bytes.Length; return op; });
            }

            AddTerminal(plan, process.Process, fds, source);
            AddResolve(plan, process.Process);
            plan.Add(ChildOpCode.ReportReady, "report that the container is created");
            if (start == StartSignal.Fifo)
                plan.Add(ChildOpCode.WaitForStartFifo, "wait for start on exec.fifo",
                    op => { op.Fd = fds.StateDirectory; op.A = a.String("exec.fifo"); return op; });
            else
                plan.Add(ChildOpCode.WaitForStartPipe, "wait for start");
            AddHooks(plan, spec.Hooks?.StartContainer, "startContainer", fds.HookState);
            AddProcess(plan, process, fds);
            return plan;
        }
        catch
        {
            plan.Dispose();
            throw;
        }
    }

    /// <summary>The plan for `exec`: join a running container's namespaces, then the process steps.</summary>
    public static ChildPlan ForExec(ProcessPlan process, ChildDescriptors fds)
    {
        var plan = new ChildPlan();
        try
        {
            plan.Add(ChildOpCode.ResetSignals, "reset signal handlers");
            plan.Add(ChildOpCode.WaitForParent, "wait for the runtime");
            AddStdio(plan, fds);
            AddJoins(plan, fds, becomeRoot: false);
            AddTerminal(plan, process.Process, fds, "process");
            AddResolve(plan, process.Process);
            AddProcess(plan, process, fds);
            return plan;
        }
        catch
        {
            plan.Dispose();
            throw;
        }
    }

    /// <summary>A supervisor's log pipes (PID 1 runs services in-process and keeps its own stdio).</summary>
    private static void AddStdio(ChildPlan plan, ChildDescriptors fds)
    {
        var (stdin, stdout, stderr) = fds.Stdio;
        if (stdin < 0 && stdout < 0 && stderr < 0) return;
        plan.Add(ChildOpCode.SetStdio, $"connect stdio to descriptors {stdin}, {stdout}, {stderr}",
            op => { op.Fd = stdin; op.Int = stdout; op.Length = stderr; return op; });
    }

    private static bool MapsRoot(LinuxSpec linux) =>
        linux.UidMappings.Any(m => m.ContainerId == 0) && linux.GidMappings.Any(m => m.ContainerId == 0);

    /// <summary>Joins come user namespace first: its capabilities are what allow joining the others.</summary>
    private static void AddJoins(ChildPlan plan, ChildDescriptors fds, bool becomeRoot)
    {
        if (fds.Namespaces.TryGetValue(NamespaceKind.User, out int userFd))
            plan.Add(ChildOpCode.JoinNamespace, "join the user namespace", op => { op.Fd = userFd; op.Int = (int)NamespaceSpec.CloneFlag(NamespaceKind.User); return op; });
        if (becomeRoot || fds.Namespaces.ContainsKey(NamespaceKind.User))
            plan.Add(ChildOpCode.BecomeRoot, "become root in the user namespace (uid and gid 0 must be mapped)");
        foreach (var kind in new[] { NamespaceKind.Ipc, NamespaceKind.Uts, NamespaceKind.Network, NamespaceKind.Cgroup, NamespaceKind.Mount })
            if (fds.Namespaces.TryGetValue(kind, out int fd))
                plan.Add(ChildOpCode.JoinNamespace, $"join the {NamespaceSpec.NameOf(kind)} namespace",
                    op => { op.Fd = fd; op.Int = (int)NamespaceSpec.CloneFlag(kind); return op; });
    }

    private static void AddMount(ChildPlan plan, MountSpec m, string dest, string bundle, string path, string source)
    {
        var a = plan.Arena;
        var options = MountOptions.Parse(m.Options, path + ".options", source);
        string? type = m.Type is { Length: > 0 } t ? t : null;
        bool bind = options.Bind || type == "bind";
        var flags = ChildOpFlags.None;
        ulong mountFlags, remountFlags = 0;
        string? mountSource, fsType, data = options.Data.Length > 0 ? options.Data : null;
        string what;
        if (bind)
        {
            if (string.IsNullOrEmpty(m.Source)) throw new SpecException(source, path + ".source", "a bind mount needs a source");
            mountSource = Path.IsPathRooted(m.Source) ? m.Source : Path.Combine(bundle, m.Source);
            var status = Linux.Files.TryStat(mountSource)
                ?? throw new SpecException(source, path + ".source", $"{mountSource} does not exist");
            if (!status.IsDirectory) flags |= ChildOpFlags.FileTarget;
            fsType = null;
            mountFlags = MS_BIND | (options.Recursive ? MS_REC : 0);
            // A bind ignores every flag but MS_REC: read-only and friends take a remount.
            remountFlags = options.Flags & ~(MS_BIND | MS_REC | 32UL);
            if (remountFlags != 0) flags |= ChildOpFlags.Remount;
            // A bind has no filesystem to take a data string: an unknown option would vanish.
            if (data is not null)
                throw new SpecException(source, path + ".options", $"unknown option(s) for a bind mount: {data}");
            what = $"bind {mountSource} on {m.Destination}";
        }
        else
        {
            if (type is null) throw new SpecException(source, path + ".type", "required for a mount that is not a bind mount");
            // Berth runs cgroup v2 only: a "cgroup" mount is the container's view of the unified hierarchy.
            fsType = type == "cgroup" ? "cgroup2" : type;
            mountSource = string.IsNullOrEmpty(m.Source) ? fsType : m.Source;
            mountFlags = options.Flags;
            if (fsType == "sysfs")
            {
                flags |= ChildOpFlags.SysfsFallback;
                remountFlags = options.Flags | MS_NOSUID | MS_NODEV | MS_NOEXEC;
            }
            what = $"mount {fsType} on {m.Destination}";
        }
        if (m.UidMappings.Count > 0 || m.GidMappings.Count > 0)
            throw new SpecException(source, path + ".uidMappings", "id-mapped mounts are not supported by this runtime");
        ulong propagation = options.Propagation;
        plan.Add(ChildOpCode.MountInRoot, $"{what} ({path})", op =>
        {
            op.A = a.StringOrNull(mountSource);
            op.B = a.String(dest.Length == 0 ? "." : dest);
            op.C = a.StringOrNull(fsType);
            op.D = a.StringOrNull(data);
            op.MountFlags = mountFlags;
            op.Value1 = remountFlags;
            op.Value2 = propagation;
            return op;
        }, flags);
    }

    private static void AddDevices(ChildPlan plan, LinuxSpec linux, bool ownDev, bool userNs)
    {
        var a = plan.Arena;
        var devices = new List<(DeviceSpec Device, string Path)>();
        if (ownDev)
            devices.AddRange(DefaultDevices.Where(d => linux.Devices.All(s => s.Path != d.Path)).Select(d => (d, "the default devices")));
        for (int i = 0; i < linux.Devices.Count; i++) devices.Add((linux.Devices[i], $"$.linux.devices[{i}]"));
        foreach (var (d, path) in devices)
        {
            string dest = Normalize(d.Path);
            if (userNs)
            {
                // No mknod in a user namespace: bind the host's node instead, as runc does.
                plan.Add(ChildOpCode.BindDeviceInRoot, $"bind the host's {d.Path} ({path})",
                    op => { op.A = a.String(d.Path); op.B = a.String(dest); return op; });
                continue;
            }
            int type = d.Type switch { "c" or "u" => S_IFCHR, "b" => S_IFBLK, "p" => S_IFIFO, _ => S_IFCHR };
            int mode = type | (int)((d.FileMode ?? 0x1b6) & 0xfff);
            ulong dev = MakeDev((ulong)(d.Major ?? 0), (ulong)(d.Minor ?? 0));
            plan.Add(ChildOpCode.MakeDeviceInRoot, $"create device {d.Path} ({path})", op =>
            {
                op.B = a.String(dest); op.Int = mode; op.Value1 = dev; op.Value2 = d.Uid ?? 0; op.Value3 = d.Gid ?? 0;
                return op;
            });
        }
    }

    /// <summary>glibc's makedev.</summary>
    public static ulong MakeDev(ulong major, ulong minor) =>
        ((major & 0xfffff000UL) << 32) | ((major & 0xfffUL) << 8) | ((minor & 0xffffff00UL) << 12) | (minor & 0xffUL);

    private static void AddSymlink(ChildPlan plan, string target, string dest)
    {
        var a = plan.Arena;
        plan.Add(ChildOpCode.SymlinkInRoot, $"link /{dest} to {target}", op => { op.A = a.String(target); op.B = a.String(dest); return op; });
    }

    private static void AddHooks(ChildPlan plan, IReadOnlyList<HookSpec>? hooks, string stage, int stateFd)
    {
        if (hooks is null) return;
        var a = plan.Arena;
        for (int i = 0; i < hooks.Count; i++)
        {
            var h = hooks[i];
            var args = h.Args.Count > 0 ? h.Args : [h.Path];
            plan.Add(ChildOpCode.RunHook, $"hook {h.Path} ($.hooks.{stage}[{i}])", op =>
            {
                op.A = a.String(h.Path); op.List1 = a.Strings(args); op.List2 = a.Strings(h.Env);
                op.Fd = stateFd; op.Int = h.Timeout ?? 0;
                return op;
            });
        }
    }

    private static void AddTerminal(ChildPlan plan, ProcessSpec p, ChildDescriptors fds, string source)
    {
        var a = plan.Arena;
        if (p.Terminal)
        {
            if (fds.ConsoleSocket < 0)
                throw new SpecException(source, "$.process.terminal", "a terminal needs --console-socket (where to send the pty master)");
            uint rows = p.ConsoleSize?.Height ?? 0, cols = p.ConsoleSize?.Width ?? 0;
            plan.Add(ChildOpCode.SetupConsole, "set up the terminal and send it to --console-socket", op =>
            {
                op.A = a.String("/dev/ptmx"); op.B = a.String("/dev/pts/"); op.Fd = fds.ConsoleSocket;
                op.Value1 = rows; op.Value2 = cols;
                return op;
            });
        }
        else plan.Add(ChildOpCode.NewSession, "start a new session");
    }

    /// <summary>execvp's search, done with the container's PATH rather than the runtime's.</summary>
    public static IReadOnlyList<string> ExecutableCandidates(ProcessSpec p)
    {
        string program = p.Args[0];
        if (program.StartsWith('/')) return [program];
        if (program.Contains('/')) return [Path.Combine(p.Cwd, program)];
        string path = p.Env.LastOrDefault(e => e.StartsWith("PATH=", StringComparison.Ordinal))?[5..] ?? DefaultPath;
        return path.Split(':').Select(d => (d.Length == 0 ? "." : d).TrimEnd('/') + "/" + program).ToList();
    }

    private static void AddResolve(ChildPlan plan, ProcessSpec p)
    {
        var a = plan.Arena;
        var candidates = ExecutableCandidates(p);
        plan.Add(ChildOpCode.ResolveExecutable, $"find the executable \"{p.Args[0]}\"" + (candidates.Count > 1 ? " in PATH" : ""),
            op => { op.List1 = a.Strings(candidates); return op; });
    }

    /// <summary>
    /// Limits, identity and privileges, last to first in the kernel's terms: the bounding set is
    /// dropped while CAP_SETPCAP is still held, ids change with keep-caps so that capset can then
    /// set exactly the sets asked for, and the seccomp filter goes on as late as possible (or,
    /// without no_new_privs, while CAP_SYS_ADMIN is still there to allow it).
    /// </summary>
    private static void AddProcess(ChildPlan plan, ProcessPlan process, ChildDescriptors fds)
    {
        var a = plan.Arena;
        var p = process.Process;
        foreach (var r in p.Rlimits)
        {
            int resource = Array.IndexOf(RlimitNames, r.Type);
            plan.Add(ChildOpCode.SetRlimit, $"set {r.Type} to {r.Soft}/{r.Hard}",
                op => { op.Int = resource; op.Value1 = r.Soft; op.Value2 = r.Hard; return op; });
        }
        int umask = (int)(p.User.Umask ?? 0x12);
        plan.Add(ChildOpCode.SetUmask, "set the umask", op => { op.Int = umask; return op; });

        var caps = process.Capabilities;
        var seccomp = process.Seccomp;
        SockFprogRaw* prog = null;
        if (seccomp is not null)
        {
            var instructions = seccomp.Instructions;
            var filter = (SockFilter*)a.Allocate((nint)sizeof(SockFilter) * instructions.Count);
            for (int i = 0; i < instructions.Count; i++) filter[i] = instructions[i];
            prog = a.Allocate<SockFprogRaw>();
            prog->Length = checked((ushort)instructions.Count);
            prog->Filter = filter;
        }
        void Seccomp(string when) => plan.Add(ChildOpCode.InstallSeccomp, $"install the seccomp filter ({seccomp!.Instructions.Count} instructions, {when})",
            op => { op.Ptr = prog; op.Int = (int)seccomp.Flags; return op; });

        if (caps is not null)
        {
            plan.Add(ChildOpCode.KeepCapabilities, "keep capabilities across the uid change", op => { op.Int = 1; return op; });
            ulong drop = CapabilitySet.UpTo(caps.LastCap).Except(caps.Bounding).Bits;
            plan.Add(ChildOpCode.DropBounding, $"drop from the bounding set: {new CapabilitySet(drop)}", op => { op.Value1 = drop; return op; });
        }
        if (seccomp is not null && !p.NoNewPrivileges) Seccomp("before dropping CAP_SYS_ADMIN, as no_new_privs is off");

        var groups = p.User.AdditionalGids;
        uint* list = a.Allocate<uint>(groups.Count);
        for (int i = 0; i < groups.Count; i++) list[i] = groups[i];
        plan.Add(ChildOpCode.SetGroups, $"set the supplementary groups to [{string.Join(",", groups)}]",
            op => { op.Ptr = list; op.Length = groups.Count; return op; });
        uint gid = p.User.Gid, uid = p.User.Uid;
        plan.Add(ChildOpCode.SetGid, $"set the gid to {gid}", op => { op.Int = (int)gid; return op; });
        plan.Add(ChildOpCode.SetUid, $"set the uid to {uid}", op => { op.Int = (int)uid; return op; });
        if (caps is not null)
        {
            plan.Add(ChildOpCode.SetCapabilities, $"set capabilities (effective {caps.Effective}; permitted {caps.Permitted}; inheritable {caps.Inheritable})",
                op => { op.Value1 = caps.Effective.Bits; op.Value2 = caps.Permitted.Bits; op.Value3 = caps.Inheritable.Bits; return op; });
            if (!caps.Ambient.IsEmpty)
                plan.Add(ChildOpCode.RaiseAmbient, $"raise ambient capabilities {caps.Ambient}", op => { op.Value1 = caps.Ambient.Bits; return op; });
        }
        plan.Add(ChildOpCode.ChangeDirectory, $"change directory to {p.Cwd} ($.process.cwd)", op => { op.A = a.String(p.Cwd); return op; });
        int firstClosed = 3 + fds.PreserveFds;
        plan.Add(ChildOpCode.CloseExtraFds, "close inherited descriptors", op => { op.Int = firstClosed; return op; });
        if (p.NoNewPrivileges) plan.Add(ChildOpCode.NoNewPrivileges, "set no_new_privs");
        if (seccomp is not null && p.NoNewPrivileges) Seccomp("last before execve");

        var candidates = ExecutableCandidates(p);
        plan.Add(ChildOpCode.Exec, $"execute {p.Args[0]}", op =>
        {
            op.List1 = a.Strings(candidates); op.List2 = a.Strings(p.Args); op.List3 = a.Strings(p.Env);
            return op;
        });
    }

    /// <summary>A container path relative to its root: no leading slash, no empty or "." parts. ".." stays: the child resolves inside the root.</summary>
    public static string Normalize(string path) =>
        string.Join('/', path.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != "."));

    /// <summary>Only namespaced sysctls, and only with their namespace: anything else would change the host.</summary>
    private static void CheckSysctl(string key, LinuxSpec linux, string source)
    {
        bool ipc = key is "kernel.msgmax" or "kernel.msgmnb" or "kernel.msgmni" or "kernel.sem" or "kernel.shmall"
            or "kernel.shmmax" or "kernel.shmmni" or "kernel.shm_rmid_forced" || key.StartsWith("fs.mqueue.", StringComparison.Ordinal);
        bool net = key.StartsWith("net.", StringComparison.Ordinal);
        bool uts = key is "kernel.hostname" or "kernel.domainname";
        string path = $"$.linux.sysctl[\"{key}\"]";
        if (ipc && linux.Namespace(NamespaceKind.Ipc) is null) throw new SpecException(source, path, "needs an ipc namespace");
        if (net && linux.Namespace(NamespaceKind.Network) is null) throw new SpecException(source, path, "needs a network namespace");
        if (uts && linux.Namespace(NamespaceKind.Uts) is null) throw new SpecException(source, path, "needs a uts namespace");
        if (!ipc && !net && !uts) throw new SpecException(source, path, "not a namespaced sysctl: it would change the host");
        if (key.Contains('/') || key.Contains("..")) throw new SpecException(source, path, "not a sysctl name");
    }
}
