namespace Berth.Runtime.Oci;

/// <summary>
/// The checks that need more than one field: what the spec REQUIRES beyond shapes, what the kernel
/// would reject later with a bare EINVAL (overlapping id mappings, ...), and what Berth does not
/// support. Failing early with the JSON path beats failing half-way through creating a container.
/// </summary>
internal static class SpecValidator
{
    private static readonly string[] RlimitTypes =
    [
        "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS",
        "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING",
        "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
    ];

    private static readonly string[] Propagations =
        ["shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable"];

    /// <summary>The kernel takes at most this many lines in uid_map/gid_map (since Linux 4.15).</summary>
    private const int MaxIdMapLines = 340;

    public static void Validate(RuntimeSpec spec, SpecReadContext ctx)
    {
        CheckVersion(spec.OciVersion, ctx);
        if (spec.Root is null) throw ctx.Error("$.root", "required field is missing");
        if (spec.Root.Path.Length == 0) throw ctx.Error("$.root.path", "must not be empty");
        if (spec.Process is not null) CheckProcess(spec.Process, ctx);
        for (int i = 0; i < spec.Mounts.Count; i++) CheckMount(spec.Mounts[i], $"$.mounts[{i}]", ctx);
        if (spec.Hooks is not null) CheckHooks(spec.Hooks, ctx);
        CheckLinux(spec, ctx);
    }

    private static void CheckVersion(string version, SpecReadContext ctx)
    {
        // Semantic version "1.x.y[-suffix]": this runtime speaks 1.x; a newer minor may have
        // fields it does not know, and those come out as "unknown field" warnings.
        var core = version.Split('-', '+')[0].Split('.');
        if (core.Length != 3 || !core.All(p => p.Length > 0 && p.All(char.IsAsciiDigit)))
            throw ctx.Error("$.ociVersion", $"expected a semantic version like \"{RuntimeSpec.Version}\", got \"{version}\"");
        if (core[0] != "1")
            throw ctx.Error("$.ociVersion", $"unsupported version \"{version}\" (this runtime implements {RuntimeSpec.Version})");
        if (int.TryParse(core[1], out int minor) && minor > 2)
            ctx.Warn("$.ociVersion", $"version {version} is newer than {RuntimeSpec.Version}; fields added since are not known");
    }

    internal static void CheckProcess(ProcessSpec p, SpecReadContext ctx)
    {
        if (p.Args.Count == 0) throw ctx.Error("$.process.args", "must have at least one entry (the program to run)");
        if (!p.Cwd.StartsWith('/')) throw ctx.Error("$.process.cwd", $"must be an absolute path, got \"{p.Cwd}\"");
        for (int i = 0; i < p.Env.Count; i++)
            if (p.Env[i].IndexOf('=') <= 0)
                throw ctx.Error($"$.process.env[{i}]", $"expected NAME=VALUE, got \"{p.Env[i]}\"");
        if (!string.IsNullOrEmpty(p.ApparmorProfile))
            throw ctx.Error("$.process.apparmorProfile", "AppArmor is not supported by this runtime (leave it empty)");
        if (!string.IsNullOrEmpty(p.SelinuxLabel))
            throw ctx.Error("$.process.selinuxLabel", "SELinux is not supported by this runtime (leave it empty)");
        if (p.OomScoreAdj is < -1000 or > 1000)
            throw ctx.Error("$.process.oomScoreAdj", $"must be in -1000..1000, got {p.OomScoreAdj}");
        if (p.User.Umask is > 0x1ff)
            throw ctx.Error("$.process.user.umask", $"must be in 0..0777 (0..511), got {p.User.Umask}");
        if (p.ConsoleSize is not null && !p.Terminal)
            ctx.Warn("$.process.consoleSize", "ignored without \"terminal\": true");

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < p.Rlimits.Count; i++)
        {
            var r = p.Rlimits[i];
            string path = $"$.process.rlimits[{i}]";
            if (!RlimitTypes.Contains(r.Type))
                throw ctx.Error(path + ".type", $"unknown rlimit \"{r.Type}\" (expected one of {string.Join(", ", RlimitTypes)})");
            if (!seen.Add(r.Type)) throw ctx.Error(path + ".type", $"duplicate rlimit \"{r.Type}\"");
            if (r.Soft > r.Hard) throw ctx.Error(path, $"soft limit {r.Soft} is above hard limit {r.Hard}");
        }
        if (p.IoPriority is { } io && io.Class is not ("IOPRIO_CLASS_RT" or "IOPRIO_CLASS_BE" or "IOPRIO_CLASS_IDLE"))
            throw ctx.Error("$.process.ioPriority.class", $"unknown class \"{io.Class}\" (expected one of IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE)");
        if (p.Scheduler is { } s && s.Policy is not ("SCHED_OTHER" or "SCHED_FIFO" or "SCHED_RR" or "SCHED_BATCH" or "SCHED_ISO" or "SCHED_IDLE" or "SCHED_DEADLINE"))
            throw ctx.Error("$.process.scheduler.policy", $"unknown policy \"{s.Policy}\"");
    }

    private static void CheckMount(MountSpec m, string path, SpecReadContext ctx)
    {
        if (!m.Destination.StartsWith('/'))
            throw ctx.Error(path + ".destination", $"must be an absolute path, got \"{m.Destination}\"");
        if (m.UidMappings.Count > 0 != m.GidMappings.Count > 0)
            throw ctx.Error(path, "an idmapped mount needs both uidMappings and gidMappings");
        CheckMappings(m.UidMappings, path + ".uidMappings", ctx);
        CheckMappings(m.GidMappings, path + ".gidMappings", ctx);
    }

    private static void CheckHooks(HooksSpec hooks, SpecReadContext ctx)
    {
        void Each(IReadOnlyList<HookSpec> list, string name)
        {
            for (int i = 0; i < list.Count; i++)
            {
                string path = $"$.hooks.{name}[{i}]";
                if (!list[i].Path.StartsWith('/'))
                    throw ctx.Error(path + ".path", $"must be an absolute path, got \"{list[i].Path}\"");
                if (list[i].Timeout is <= 0)
                    throw ctx.Error(path + ".timeout", $"must be greater than zero, got {list[i].Timeout}");
            }
        }
        if (hooks.Prestart.Count > 0) ctx.Warn("$.hooks.prestart", "deprecated by the spec (use createRuntime); still run");
        Each(hooks.Prestart, "prestart");
        Each(hooks.CreateRuntime, "createRuntime");
        Each(hooks.CreateContainer, "createContainer");
        Each(hooks.StartContainer, "startContainer");
        Each(hooks.Poststart, "poststart");
        Each(hooks.Poststop, "poststop");
    }

    private static void CheckLinux(RuntimeSpec spec, SpecReadContext ctx)
    {
        var linux = spec.Linux ?? new LinuxSpec();
        var kinds = new HashSet<NamespaceKind>();
        for (int i = 0; i < linux.Namespaces.Count; i++)
        {
            var ns = linux.Namespaces[i];
            if (!kinds.Add(ns.Type))
                throw ctx.Error($"$.linux.namespaces[{i}].type", $"duplicate namespace type \"{NamespaceSpec.NameOf(ns.Type)}\"");
            if (ns.Path is not null && !ns.Path.StartsWith('/'))
                throw ctx.Error($"$.linux.namespaces[{i}].path", $"must be an absolute path, got \"{ns.Path}\"");
        }
        bool New(NamespaceKind k) => linux.Namespace(k) is { Path: null };

        var user = linux.Namespace(NamespaceKind.User);
        bool hasMappings = linux.UidMappings.Count > 0 || linux.GidMappings.Count > 0;
        if (hasMappings && user is null)
            throw ctx.Error(linux.UidMappings.Count > 0 ? "$.linux.uidMappings" : "$.linux.gidMappings",
                "id mappings need a user namespace (add {\"type\": \"user\"} to $.linux.namespaces)");
        if (user is { Path: null } && (linux.UidMappings.Count == 0 || linux.GidMappings.Count == 0))
            throw ctx.Error(linux.UidMappings.Count == 0 ? "$.linux.uidMappings" : "$.linux.gidMappings",
                "a new user namespace needs both uidMappings and gidMappings");
        if (user is { Path: not null } && hasMappings)
            ctx.Warn("$.linux.uidMappings", "ignored: the user namespace is joined by path and keeps its own mappings");
        CheckMappings(linux.UidMappings, "$.linux.uidMappings", ctx);
        CheckMappings(linux.GidMappings, "$.linux.gidMappings", ctx);

        if (!string.IsNullOrEmpty(spec.Hostname) && !New(NamespaceKind.Uts))
            throw ctx.Error("$.hostname", "setting the hostname needs a new uts namespace");
        if (!string.IsNullOrEmpty(spec.Domainname) && !New(NamespaceKind.Uts))
            throw ctx.Error("$.domainname", "setting the domainname needs a new uts namespace");

        foreach (var (name, _) in linux.TimeOffsets)
            if (name is not ("monotonic" or "boottime"))
                throw ctx.Error(JsonPaths.Field("$.linux.timeOffsets", name), $"unknown clock \"{name}\" (expected monotonic or boottime)");
        if (linux.TimeOffsets.Count > 0 && !New(NamespaceKind.Time))
            throw ctx.Error("$.linux.timeOffsets", "time offsets need a new time namespace");

        for (int i = 0; i < linux.Devices.Count; i++) CheckDevice(linux.Devices[i], $"$.linux.devices[{i}]", ctx);
        if (linux.Resources is not null) CheckResources(linux.Resources, ctx);
        foreach (var (key, _) in linux.Sysctl) CheckSysctl(key, k => linux.Namespace(k) is not null, ctx);

        if (linux.RootfsPropagation is { } prop && !Propagations.Contains(prop))
            throw ctx.Error("$.linux.rootfsPropagation", $"unknown propagation \"{prop}\" (expected one of {string.Join(", ", Propagations)})");
        CheckAbsolute(linux.MaskedPaths, "$.linux.maskedPaths", ctx);
        CheckAbsolute(linux.ReadonlyPaths, "$.linux.readonlyPaths", ctx);
        if (!string.IsNullOrEmpty(linux.MountLabel))
            throw ctx.Error("$.linux.mountLabel", "SELinux is not supported by this runtime (leave it empty)");
        if (linux.Personality is { } pers)
        {
            if (pers.Domain is not ("LINUX" or "LINUX32"))
                throw ctx.Error("$.linux.personality.domain", $"unknown domain \"{pers.Domain}\" (expected LINUX or LINUX32)");
            if (pers.Flags.Count > 0)
                throw ctx.Error("$.linux.personality.flags", "no personality flags are defined by the spec");
        }
        if (linux.IntelRdt is not null)
            ctx.Warn("$.linux.intelRdt", "Intel RDT (resctrl) is not supported by this runtime, ignored");
        if (linux.Seccomp is { } seccomp && seccomp.ListenerPath is null
            && seccomp.Syscalls.Any(r => r.Action == "SCMP_ACT_NOTIFY"))
            throw ctx.Error("$.linux.seccomp.listenerPath", "required when a rule uses SCMP_ACT_NOTIFY (the agent to hand the notify fd to)");
    }

    /// <summary>Ranges must be non-empty, fit in 32 bits and not overlap on either side (the kernel says EINVAL otherwise).</summary>
    private static void CheckMappings(IReadOnlyList<IdMapping> maps, string path, SpecReadContext ctx)
    {
        if (maps.Count > MaxIdMapLines)
            throw ctx.Error(path, $"at most {MaxIdMapLines} mappings are possible, got {maps.Count}");
        for (int i = 0; i < maps.Count; i++)
        {
            var m = maps[i];
            if (m.Size == 0) throw ctx.Error($"{path}[{i}].size", "must be greater than zero");
            if ((ulong)m.ContainerId + m.Size > 1UL << 32) throw ctx.Error($"{path}[{i}]", $"containerID {m.ContainerId} + size {m.Size} is beyond the 32-bit id space");
            if ((ulong)m.HostId + m.Size > 1UL << 32) throw ctx.Error($"{path}[{i}]", $"hostID {m.HostId} + size {m.Size} is beyond the 32-bit id space");
            for (int j = 0; j < i; j++)
            {
                var o = maps[j];
                if (Overlap(m.ContainerId, m.Size, o.ContainerId, o.Size))
                    throw ctx.Error($"{path}[{i}]", $"container range {m} overlaps {path}[{j}] ({o})");
                if (Overlap(m.HostId, m.Size, o.HostId, o.Size))
                    throw ctx.Error($"{path}[{i}]", $"host range {m} overlaps {path}[{j}] ({o})");
            }
        }
    }

    private static bool Overlap(uint a, uint aSize, uint b, uint bSize) =>
        (ulong)a < (ulong)b + bSize && (ulong)b < (ulong)a + aSize;

    private static void CheckDevice(DeviceSpec d, string path, SpecReadContext ctx)
    {
        if (d.Type is not ("c" or "b" or "u" or "p"))
            throw ctx.Error(path + ".type", $"unknown device type \"{d.Type}\" (expected c, b, u or p)");
        if (!d.Path.StartsWith('/')) throw ctx.Error(path + ".path", $"must be an absolute path, got \"{d.Path}\"");
        if (d.Type != "p" && (d.Major is null || d.Minor is null))
            throw ctx.Error(path, $"a \"{d.Type}\" device needs major and minor");
    }

    private static void CheckResources(ResourcesSpec r, SpecReadContext ctx)
    {
        for (int i = 0; i < r.Devices.Count; i++)
        {
            var d = r.Devices[i];
            if (d.Type is not (null or "a" or "c" or "b"))
                throw ctx.Error($"$.linux.resources.devices[{i}].type", $"unknown device type \"{d.Type}\" (expected a, c or b)");
            if (d.Access is { } access && (access.Length == 0 || access.Any(c => c is not ('r' or 'w' or 'm'))))
                throw ctx.Error($"$.linux.resources.devices[{i}].access", $"expected some of r, w, m, got \"{access}\"");
        }
        if (r.Memory is { Limit: > 0 and var limit, Swap: > 0 and var swap } && swap < limit)
            throw ctx.Error("$.linux.resources.memory.swap", $"memory+swap limit {swap} is below the memory limit {limit}");
        if (r.Cpu is { Quota: var quota and not null, Period: 0 })
            throw ctx.Error("$.linux.resources.cpu.period", $"must be greater than zero with quota {quota}");
        if (r.BlockIO?.Weight is { } w && w != 0 && (w < 10 || w > 1000))
            throw ctx.Error("$.linux.resources.blockIO.weight", $"must be in 10..1000, got {w}");
        foreach (var (key, _) in r.Unified)
            if (Containers.CgroupResources.UnifiedKeyProblem(key) is { } problem)
                throw ctx.Error(JsonPaths.Field("$.linux.resources.unified", key), problem);
    }

    /// <summary>
    /// Only sysctls of a namespace the container has (new, or joined by path) may be set, as in runc:
    /// others would change the host.
    /// </summary>
    private static void CheckSysctl(string key, Func<NamespaceKind, bool> hasNamespace, SpecReadContext ctx)
    {
        string path = JsonPaths.Field("$.linux.sysctl", key);
        string normalized = key.Replace('/', '.');
        NamespaceKind? needs = normalized switch
        {
            "kernel.msgmax" or "kernel.msgmnb" or "kernel.msgmni" or "kernel.sem" or "kernel.shmall" or "kernel.shmmax"
                or "kernel.shmmni" or "kernel.shm_rmid_forced" => NamespaceKind.Ipc,
            _ when normalized.StartsWith("fs.mqueue.", StringComparison.Ordinal) => NamespaceKind.Ipc,
            _ when normalized.StartsWith("net.", StringComparison.Ordinal) => NamespaceKind.Network,
            "kernel.domainname" => NamespaceKind.Uts,
            "kernel.hostname" => throw ctx.Error(path, "set the hostname with $.hostname"),
            _ => null,
        };
        if (needs is null) throw ctx.Error(path, "not a namespaced sysctl: setting it would change the host");
        if (!hasNamespace(needs.Value))
            throw ctx.Error(path, $"needs a {NamespaceSpec.NameOf(needs.Value)} namespace of the container's own");
    }

    private static void CheckAbsolute(IReadOnlyList<string> paths, string path, SpecReadContext ctx)
    {
        for (int i = 0; i < paths.Count; i++)
            if (!paths[i].StartsWith('/'))
                throw ctx.Error($"{path}[{i}]", $"must be an absolute path, got \"{paths[i]}\"");
    }
}
