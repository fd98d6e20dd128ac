using System.Net.Sockets;
using System.Runtime.InteropServices;
using Berth.Runtime.Interop;
using Berth.Runtime.Linux;
using Berth.Runtime.Oci;
using Berth.Runtime.Security;

namespace Berth.Runtime.Containers;

public sealed record CreateOptions
{
    public required string Id { get; init; }
    /// <summary>The bundle directory (config.json and, usually, rootfs).</summary>
    public required string Bundle { get; init; }
    public string? PidFile { get; init; }
    public string? ConsoleSocket { get; init; }
    public int PreserveFds { get; init; }
    /// <summary>Descriptors for the container's stdin, stdout and stderr; -1 inherits the runtime's.</summary>
    public (int In, int Out, int Err) Stdio { get; init; } = (-1, -1, -1);
}

public sealed record ExecOptions
{
    public required string Id { get; init; }
    public IReadOnlyList<string> Args { get; init; } = [];
    public IReadOnlyList<string> Env { get; init; } = [];
    public string? Cwd { get; init; }
    public uint? Uid { get; init; }
    public uint? Gid { get; init; }
    public IReadOnlyList<uint> AdditionalGids { get; init; } = [];
    public bool Tty { get; init; }
    public string? ConsoleSocket { get; init; }
    public bool Detach { get; init; }
    public string? PidFile { get; init; }
    public string? ProcessFile { get; init; }
    public IReadOnlyList<string> AddCapabilities { get; init; } = [];
    public bool NoNewPrivileges { get; init; }
    public int PreserveFds { get; init; }
    /// <summary>Descriptors for the process's stdin, stdout and stderr; -1 inherits the runtime's.</summary>
    public (int In, int Out, int Err) Stdio { get; init; } = (-1, -1, -1);

    /// <summary>The container's own process settings with this command line's overrides, as runc exec builds them.</summary>
    public ProcessSpec ApplyTo(ProcessSpec p)
    {
        var env = p.Env.ToList();
        foreach (var e in Env)
        {
            string name = e.Split('=')[0] + "=";
            env.RemoveAll(x => x.StartsWith(name, StringComparison.Ordinal));
            env.Add(e);
        }
        var caps = p.Capabilities;
        if (AddCapabilities.Count > 0)
        {
            IReadOnlyList<string> Add(IReadOnlyList<string>? set) => (set ?? []).Concat(AddCapabilities).Distinct().ToList();
            caps = (caps ?? new CapabilitiesSpec()) with
            {
                Bounding = Add(caps?.Bounding), Effective = Add(caps?.Effective), Permitted = Add(caps?.Permitted),
                Inheritable = Add(caps?.Inheritable),
            };
        }
        return p with
        {
            Args = Args,
            Env = env,
            Cwd = Cwd ?? p.Cwd,
            Terminal = Tty,
            ConsoleSize = null,
            User = p.User with
            {
                Uid = Uid ?? p.User.Uid,
                Gid = Gid ?? p.User.Gid,
                AdditionalGids = AdditionalGids.Count > 0 ? AdditionalGids : p.User.AdditionalGids,
            },
            Capabilities = caps,
            NoNewPrivileges = p.NoNewPrivileges || NoNewPrivileges,
        };
    }
}

/// <summary>
/// The runtime's side of a container's birth: reads and checks config.json, claims the id, opens
/// what the child needs, clones it into its namespaces and cgroup, writes the id mappings, runs the
/// runtime-namespace hooks and waits for the child's report. Anything that fails on the way leaves
/// nothing behind: the child is killed, the cgroup and the state directory removed.
/// </summary>
/// <param name="report">Where notices of how a container ended go (an OOM kill); warn if not given.</param>
/// <param name="children">Who waits for the runtime's children: wait4 itself, or PID 1's reaper.</param>
public sealed class ContainerLauncher(ContainerStore store, Action<string> warn, Action<string>? report = null, IChildWaiter? children = null)
{
    private readonly IChildWaiter _children = children ?? DirectChildWaiter.Instance;

    private const int ETIMEDOUT = 110;

    /// <summary>`create`: the container's process waits on exec.fifo for `start`.</summary>
    public ContainerRecord Create(CreateOptions options)
    {
        using var birth = Launch(options, StartSignal.Fifo);
        return birth.Record;
    }

    /// <summary>`run`: create, start, wait; the container's exit status (128+signal if killed) is returned.</summary>
    public int Run(CreateOptions options, bool detach)
    {
        using var birth = Launch(options, StartSignal.Pipe);
        var record = birth.Record;
        try
        {
            birth.Go.WriteAll([1]);
            if (ContainerCloner.ReadMessage(birth.Report) is { } failure)
                throw new RuntimeException($"container \"{record.Id}\": {ContainerCloner.Explain(birth.Plan, failure)}");
            if (record.HasPoststart) HookRunner.Run(_children, "poststart", birth.Spec.Hooks!.Poststart, StateOf(record, ContainerStatus.Running));
        }
        catch
        {
            birth.Abandon();
            throw;
        }
        if (detach)
        {
            birth.Detach();
            return 0;
        }

        int status;
        using (SignalForwarder.To(record.Pid)) status = _children.Wait(record.Pid);
        birth.Detach();
        if (OomReport.Read(record.Cgroup) is { } oom) (report ?? warn)(oom.Message(record.Id));
        Teardown(record, birth.Spec.Hooks?.Poststop ?? []);
        return ContainerProcess.ExitCode(status);
    }

    /// <summary>`start`: releases a created container's process from exec.fifo.</summary>
    public void Start(string id)
    {
        var record = store.Load(id);
        var status = ContainerProcess.StatusOf(store, record);
        if (status != ContainerStatus.Created)
            throw new RuntimeException($"container \"{id}\" is {ContainerState.StatusName(status)}, not created: cannot start it");
        string fifo = Path.Combine(store.DirectoryOf(id), ContainerStore.FifoName);
        // Non-blocking open, then wait for the byte: a process that died meanwhile must not hang start.
        using (var f = FileDescriptor.Open(fifo, Consts.O_RDONLY | Consts.O_NONBLOCK))
        {
            long deadline = Environment.TickCount64 + 10_000;
            byte[] one = new byte[1];
            bool TookByte()
            {
                try { return f.Read(one) == 1; }
                catch (SyscallException e) when (e.Errno == Consts.EAGAIN) { return false; }
            }
            while (!TookByte())
            {
                // The process may have written its byte, exec'd and exited between the read above and this
                // check (a /bin/true does): the byte outlives the writer in the fifo, so read once more first.
                if (ContainerProcess.StatusOf(store, record) == ContainerStatus.Stopped)
                {
                    if (TookByte()) break;
                    throw new RuntimeException($"container \"{id}\" exited before it could be started");
                }
                if (Environment.TickCount64 > deadline)
                    throw new RuntimeException($"container \"{id}\" did not take the start signal within 10 s");
                // Woken the moment the byte lands (the child writes it right after our open released
                // its own), or its writer hangs up; the timeout only paces the liveness check above.
                f.WaitReadable(20);
            }
        }
        LibC.Unlink(fifo);
        if (record.HasPoststart)
            HookRunner.Run(_children, "poststart", LoadConfig(record).Hooks!.Poststart, StateOf(record, ContainerStatus.Running));
    }

    /// <summary>`delete`: kills a created container (or, with force, a running one), then removes all trace of it.</summary>
    public void Delete(string id, bool force)
    {
        var record = store.Load(id);
        var status = ContainerProcess.StatusOf(store, record);
        if (status == ContainerStatus.Running && !force)
            throw new RuntimeException($"container \"{id}\" is running: stop it first, or delete --force");
        if (status != ContainerStatus.Stopped && ContainerProcess.Open(record.Pid) is { } pidfd)
            using (pidfd)
            {
                ContainerProcess.Signal(pidfd, Consts.SIGKILL);
                if (!ContainerProcess.WaitForExit(pidfd, TimeSpan.FromSeconds(10)))
                    throw new RuntimeException($"container \"{id}\": process {record.Pid} did not die of SIGKILL within 10 s");
            }
        Teardown(record, record.HasPoststop ? LoadConfig(record).Hooks!.Poststop : []);
    }

    /// <summary>`kill`: a signal to the container's process, or with <paramref name="all"/> to every process in its cgroup.</summary>
    public void Kill(string id, int signal, bool all)
    {
        var record = store.Load(id);
        if (ContainerProcess.StatusOf(store, record) == ContainerStatus.Stopped)
            throw new RuntimeException($"container \"{id}\" is not running");
        if (all && record.Cgroup is not null)
        {
            foreach (int pid in CgroupPlacement.Processes(record.Cgroup))
                if (LibC.Kill(pid, signal) < 0 && Marshal.GetLastPInvokeError() != Consts.ESRCH)
                    throw SyscallException.Last("kill", $"process {pid} of container {id}");
            return;
        }
        using var pidfd = ContainerProcess.Open(record.Pid);
        if (pidfd is not null) ContainerProcess.Signal(pidfd, signal);
    }

    /// <summary>`exec`: a new process in a running container's namespaces and cgroup.</summary>
    public int Exec(ExecOptions o)
    {
        int pid = StartExec(o);
        if (o.Detach) return 0;
        using (SignalForwarder.To(pid)) return ContainerProcess.ExitCode(_children.Wait(pid));
    }

    /// <summary>Starts an exec'd process and returns its pid without waiting (PID 1's health checks wait through the reaper).</summary>
    public int StartExec(ExecOptions o)
    {
        var record = store.Load(o.Id);
        var status = ContainerProcess.StatusOf(store, record);
        if (status is not (ContainerStatus.Running or ContainerStatus.Created))
            throw new RuntimeException($"container \"{o.Id}\" is {ContainerState.StatusName(status)}: cannot exec in it");
        string configPath = Path.Combine(store.DirectoryOf(o.Id), ContainerStore.ConfigCopy);
        var spec = SpecReader.Load(configPath).Spec;
        ProcessSpec process;
        string source;
        if (o.ProcessFile is not null)
        {
            source = o.ProcessFile;
            var (p, warnings) = SpecReader.ParseProcess(File.ReadAllBytes(o.ProcessFile), o.ProcessFile);
            foreach (var w in warnings) warn(w.Format(source));
            process = p;
        }
        else
        {
            source = "exec";
            if (o.Args.Count == 0) throw new RuntimeException("exec: name the program to run after the container id");
            process = o.ApplyTo(spec.Process ?? new ProcessSpec { Cwd = "/" });
        }
        var processPlan = ProcessPlanFor(process, spec.Linux?.Seccomp, source, o.ProcessFile is null ? "$.process" : "$", "$.linux.seccomp");

        var opened = new List<IDisposable>();
        FileDescriptor? joinPid = null;
        var joins = new Dictionary<NamespaceKind, int>();
        try
        {
            foreach (var ns in (spec.Linux ?? new LinuxSpec()).Namespaces)
            {
                string name = ns.Type switch { NamespaceKind.Network => "net", NamespaceKind.Mount => "mnt", var k => NamespaceSpec.NameOf(k) };
                string theirs = $"/proc/{record.Pid}/ns/{name}";
                if (Files.TryStat(theirs) is { } t && Files.TryStat($"/proc/self/ns/{name}") is { } mine && t.Inode == mine.Inode && t.Device == mine.Device)
                    continue;
                var fd = FileDescriptor.Open(theirs, Consts.O_RDONLY);
                opened.Add(fd);
                if (ns.Type == NamespaceKind.Pid) joinPid = fd;
                else joins[ns.Type] = fd.Fd;
            }
            Socket? console = null;
            if (process.Terminal)
            {
                if (o.ConsoleSocket is null) throw new RuntimeException("exec --tty needs --console-socket (where to send the pty)");
                console = ConnectConsole(o.ConsoleSocket);
                opened.Add(console);
            }
            FileDescriptor? cgroupFd = record.Cgroup is null ? null : FileDescriptor.TryOpen(record.Cgroup, Consts.O_RDONLY | Consts.O_DIRECTORY);
            if (cgroupFd is not null) opened.Add(cgroupFd);

            var (goRead, goWrite) = ContainerCloner.Pipe("go pipe");
            var (reportRead, reportWrite) = ContainerCloner.Pipe("report pipe");
            using var go = goWrite;
            using var report = reportRead;
            opened.Add(goRead);
            opened.Add(reportWrite);
            var fds = new ChildDescriptors
            {
                ConsoleSocket = console is null ? -1 : (int)console.Handle,
                Namespaces = joins,
                PreserveFds = o.PreserveFds,
                Stdio = o.Stdio,
            };
            using var plan = ContainerPlanner.ForExec(processPlan, fds);
            int pid = ContainerCloner.Clone(plan, 0, cgroupFd?.Fd ?? -1, reportWrite.Fd, goRead.Fd, joinPid, report, _children, warn);
            foreach (var d in opened) d.Dispose();
            opened.Clear();
            go.WriteAll([1]);
            if (ContainerCloner.ReadMessage(report) is { } failure)
            {
                _children.Wait(pid);
                throw new RuntimeException($"exec in container \"{o.Id}\": {ContainerCloner.Explain(plan, failure)}");
            }
            if (o.PidFile is not null) Files.WriteAtomically(Path.GetFullPath(o.PidFile), System.Text.Encoding.ASCII.GetBytes(pid.ToString()), 0x1a4, durable: false);
            return pid;
        }
        finally
        {
            foreach (var d in opened) d.Dispose();
        }
    }

    /// <summary>After the container's process is gone: its cgroup (and anything left in it), poststop hooks, the state.</summary>
    private void Teardown(ContainerRecord record, IReadOnlyList<HookSpec> poststop)
    {
        CgroupTeardown.Remove(record.Cgroup, record.CgroupCreatedFrom, record.CgroupJoined, warn);
        foreach (var w in HookRunner.RunReportingFailures(_children, "poststop", poststop, StateOf(record, ContainerStatus.Stopped))) warn(w);
        store.Remove(record.Id);
    }

    private RuntimeSpec LoadConfig(ContainerRecord record)
    {
        string path = Path.Combine(store.DirectoryOf(record.Id), ContainerStore.ConfigCopy);
        return SpecReader.Load(path).Spec;
    }

    private static ContainerState StateOf(ContainerRecord record, ContainerStatus status) => new()
    {
        Id = record.Id,
        Status = status,
        Pid = record.Pid,
        Bundle = record.Bundle,
        Annotations = record.Annotations,
    };

    /// <summary>Everything of one container being born, until the caller is done with the child's pipes.</summary>
    private sealed class Birth : IDisposable
    {
        public required ContainerStore Store { get; init; }
        public required RuntimeSpec Spec { get; init; }
        public required ChildPlan Plan { get; init; }
        public required FileDescriptor Go { get; init; }
        public required FileDescriptor Report { get; init; }
        public FileDescriptor? HookState { get; init; }
        public required ContainerRecord Record { get; set; }
        public required IChildWaiter Children { get; init; }
        private bool _detached;

        /// <summary>The container lives on without this process.</summary>
        public void Detach() => _detached = true;

        /// <summary>Kills the child and removes what was made for it.</summary>
        public void Abandon()
        {
            if (_detached) return;
            _detached = true;
            LibC.Kill(Record.Pid, Consts.SIGKILL);
            Children.Wait(Record.Pid);
            CgroupTeardown.Remove(Record.Cgroup, Record.CgroupCreatedFrom, Record.CgroupJoined, _ => { });
            Store.Remove(Record.Id);
        }

        public void Dispose()
        {
            Go.Dispose();
            Report.Dispose();
            HookState?.Dispose();
            Plan.Dispose();
        }
    }

    private Birth Launch(CreateOptions o, StartSignal start)
    {
        ContainerStore.ValidateId(o.Id);
        string bundle = Path.GetFullPath(o.Bundle);
        string configPath = Path.Combine(bundle, "config.json");
        if (!File.Exists(configPath))
            throw new RuntimeException($"{configPath}: no such file (--bundle must be the directory holding config.json)");
        var configBytes = File.ReadAllBytes(configPath);
        var loaded = SpecReader.Parse(configBytes, configPath);
        foreach (var w in loaded.Warnings) warn(w.Format(configPath));
        var spec = loaded.Spec;
        var linux = spec.Linux ?? new LinuxSpec();
        var process = spec.Process ?? throw new SpecException(configPath, "$.process", "required: what should the container run?");
        string rootfs = Path.GetFullPath(spec.Root!.Path, bundle);
        if (!Directory.Exists(rootfs)) throw new SpecException(configPath, "$.root.path", $"{rootfs} is not a directory");
        var processPlan = ProcessPlanFor(process, linux.Seccomp, configPath, "$.process", "$.linux.seccomp");
        if (linux.Namespace(NamespaceKind.User) is { Path: null } && (linux.UidMappings.Count == 0 || linux.GidMappings.Count == 0))
            throw new SpecException(configPath, "$.linux.uidMappings", "a new user namespace needs uidMappings and gidMappings");

        string dir = store.Claim(o.Id);
        var opened = new List<IDisposable>();
        ChildPlan? plan = null;
        FileDescriptor? go = null, report = null, hookState = null;
        CgroupPlacement? cgroup = null;
        int pid = -1;
        try
        {
            File.WriteAllBytes(Path.Combine(dir, ContainerStore.ConfigCopy), configBytes);
            int stateDirFd = -1;
            if (start == StartSignal.Fifo)
            {
                string fifo = Path.Combine(dir, ContainerStore.FifoName);
                if (LibC.MkFifo(fifo, 0x180 /* 0600 */) < 0) throw SyscallException.Last("mkfifo", fifo);
                var dirFd = FileDescriptor.Open(dir, 0x200000 /* O_PATH */ | Consts.O_DIRECTORY);
                opened.Add(dirFd);
                stateDirFd = dirFd.Fd;
            }

            ulong cloneFlags = 0;
            var joins = new Dictionary<NamespaceKind, int>();
            FileDescriptor? joinPid = null;
            for (int i = 0; i < linux.Namespaces.Count; i++)
            {
                var ns = linux.Namespaces[i];
                if (ns.Path is null)
                {
                    cloneFlags |= NamespaceSpec.CloneFlag(ns.Type);
                    continue;
                }
                var fd = FileDescriptor.TryOpen(ns.Path, Consts.O_RDONLY)
                    ?? throw new SpecException(configPath, $"$.linux.namespaces[{i}].path", $"cannot open {ns.Path}: {Errno.Describe(Marshal.GetLastPInvokeError())}");
                opened.Add(fd);
                if (ns.Type == NamespaceKind.Pid) joinPid = fd;
                else joins[ns.Type] = fd.Fd;
            }

            Socket? console = null;
            if (process.Terminal)
            {
                if (o.ConsoleSocket is null)
                    throw new SpecException(configPath, "$.process.terminal", "true, but no --console-socket was given to send the pty to");
                console = ConnectConsole(o.ConsoleSocket);
                opened.Add(console);
            }

            bool childHooks = spec.Hooks is { } hk && (hk.CreateContainer.Count > 0 || hk.StartContainer.Count > 0);
            if (childHooks)
            {
                int fd = LibC.MemfdCreate("berth-hook-state", 1 /* MFD_CLOEXEC */);
                if (fd < 0) throw SyscallException.Last("memfd_create", "hook state");
                hookState = new FileDescriptor(fd, "hook state memfd");
            }

            cgroup = CgroupPlacement.Create(spec, o.Id, configPath, warn);

            var (goRead, goWrite) = ContainerCloner.Pipe("go pipe");
            var (reportRead, reportWrite) = ContainerCloner.Pipe("report pipe");
            go = goWrite;
            report = reportRead;
            opened.Add(goRead);
            opened.Add(reportWrite);

            var fds = new ChildDescriptors
            {
                StateDirectory = stateDirFd,
                ConsoleSocket = console is null ? -1 : (int)console.Handle,
                HookState = hookState?.Fd ?? -1,
                Namespaces = joins,
                PreserveFds = o.PreserveFds,
                Stdio = o.Stdio,
            };
            plan = ContainerPlanner.ForContainer(spec, bundle, rootfs, processPlan, fds, start, configPath);
            pid = ContainerCloner.Clone(plan, cloneFlags, cgroup?.DirectoryFd ?? -1, reportWrite.Fd, goRead.Fd, joinPid, report, _children, warn);
            foreach (var d in opened) d.Dispose();
            opened.Clear();

            if (linux.Namespace(NamespaceKind.User) is { Path: null })
            {
                WriteMapping(pid, "uid_map", linux.UidMappings);
                WriteMapping(pid, "gid_map", linux.GidMappings);
            }
            if (process.OomScoreAdj is { } oom) PseudoFile.Write($"/proc/{pid}/oom_score_adj", oom.ToString());
            ulong startTime = ContainerProcess.Stat(pid)?.StartTime
                ?? throw new RuntimeException($"container process {pid} vanished during create");
            var record = new ContainerRecord
            {
                Id = o.Id,
                Bundle = bundle,
                Rootfs = rootfs,
                Pid = pid,
                PidStartTime = startTime,
                Created = DateTimeOffset.UtcNow,
                Owner = 0,
                Cgroup = cgroup?.Path,
                CgroupCreatedFrom = cgroup?.CreatedFrom,
                CgroupJoined = cgroup?.Joined ?? false,
                Annotations = spec.Annotations,
                HasPoststart = spec.Hooks?.Poststart.Count > 0,
                HasPoststop = spec.Hooks?.Poststop.Count > 0,
            };
            if (hookState is not null) WriteHookState(hookState, StateOf(record, ContainerStatus.Creating));
            if (spec.Hooks is { } hooks)
            {
                HookRunner.Run(_children, "prestart", hooks.Prestart, StateOf(record, ContainerStatus.Creating));
                HookRunner.Run(_children, "createRuntime", hooks.CreateRuntime, StateOf(record, ContainerStatus.Creating));
            }

            go.WriteAll([1]);
            var message = ContainerCloner.ReadMessage(report);
            if (message is not { Kind: ChildMessageKind.Ready })
            {
                string why = message is { } m
                    ? ContainerCloner.Explain(plan, m)
                    : $"the container process ended during setup ({ContainerProcess.DescribeStatus(_children.Wait(pid))})";
                if (message is null) pid = -1;
                throw new RuntimeException($"cannot create container \"{o.Id}\": {why}");
            }
            store.Save(record);
            if (hookState is not null) WriteHookState(hookState, StateOf(record, ContainerStatus.Created));
            if (o.PidFile is not null) Files.WriteAtomically(Path.GetFullPath(o.PidFile), System.Text.Encoding.ASCII.GetBytes(pid.ToString()), 0x1a4, durable: false);
            cgroup?.Dispose();
            return new Birth { Store = store, Spec = spec, Plan = plan, Go = go, Report = report, HookState = hookState, Record = record, Children = _children };
        }
        catch
        {
            foreach (var d in opened) d.Dispose();
            if (pid > 0)
            {
                LibC.Kill(pid, Consts.SIGKILL);
                _children.Wait(pid);
            }
            go?.Dispose();
            report?.Dispose();
            hookState?.Dispose();
            plan?.Dispose();
            if (cgroup is not null)
            {
                CgroupTeardown.Remove(cgroup.Path, cgroup.CreatedFrom, cgroup.Joined, _ => { });
                cgroup.Dispose();
            }
            store.Remove(o.Id);
            throw;
        }
    }

    /// <summary>Capabilities and seccomp of a process, checked and compiled in the parent.</summary>
    internal ProcessPlan ProcessPlanFor(ProcessSpec process, SeccompSpec? seccompSpec, string source, string processPath, string seccompPath)
    {
        var caps = CapabilityPlan.For(process.Capabilities, CapabilityApplier.ReadLastCap(), source, processPath + ".capabilities");
        if (caps is not null) foreach (var w in caps.Warnings) warn(w.Format(source));
        SeccompProgram? seccomp = null;
        if (seccompSpec is not null)
        {
            seccomp = SeccompCompiler.Compile(seccompSpec, source, seccompPath);
            foreach (var w in seccomp.Warnings) warn(w.Format(source));
            if (seccomp.NeedsListener)
                throw new SpecException(source, seccompPath, "SCMP_ACT_NOTIFY needs a seccomp agent at listenerPath, which this runtime does not support yet");
        }
        if (process.Args.Count == 0) throw new SpecException(source, processPath + ".args", "must name the program to run");
        return new ProcessPlan { Process = process, Capabilities = caps, Seccomp = seccomp, Path = processPath };
    }

    private static Socket ConnectConsole(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new RuntimeException($"--console-socket {path}: cannot connect: {e.Message}");
        }
    }

    private static void WriteMapping(int pid, string file, IReadOnlyList<IdMapping> mappings)
    {
        var text = string.Concat(mappings.Select(m => $"{m.ContainerId} {m.HostId} {m.Size}\n"));
        string path = $"/proc/{pid}/{file}";
        if (!PseudoFile.TryWrite(path, text, out var error))
            throw new RuntimeException($"writing {file} \"{text.Trim().Replace('\n', ',')}\": {error}");
    }

    private static void WriteHookState(FileDescriptor memfd, ContainerState state)
    {
        var json = state.ToUtf8(indented: false);
        if (LibC.FTruncate(memfd.Fd, 0) < 0) throw SyscallException.Last("ftruncate", memfd.Path);
        memfd.PWriteAll(json, 0);
    }
}

/// <summary>Passes the signals a terminal or supervisor sends to `run` on to the container, as runc does.</summary>
internal sealed class SignalForwarder : IDisposable
{
    private readonly List<PosixSignalRegistration> _registrations = [];

    public static SignalForwarder To(int pid)
    {
        var f = new SignalForwarder();
        foreach (var signal in new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGHUP, PosixSignal.SIGQUIT, (PosixSignal)Consts.SIGUSR1, (PosixSignal)Consts.SIGUSR2 })
        {
            f._registrations.Add(PosixSignalRegistration.Create(signal, ctx =>
            {
                ctx.Cancel = true;
                int number = ctx.Signal switch
                {
                    PosixSignal.SIGTERM => Consts.SIGTERM,
                    PosixSignal.SIGINT => Consts.SIGINT,
                    PosixSignal.SIGHUP => Consts.SIGHUP,
                    PosixSignal.SIGQUIT => Consts.SIGQUIT,
                    var raw => (int)raw,
                };
                LibC.Kill(pid, number);
            }));
        }
        return f;
    }

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
    }
}
