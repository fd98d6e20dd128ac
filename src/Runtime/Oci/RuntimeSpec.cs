namespace Berth.Runtime.Oci;

// The OCI runtime-spec 1.2 config.json, Linux parts, as typed records. Optional fields are null when
// absent so that the writer can emit exactly what was given; lists default to empty. Field names
// follow the spec (docs in config.md / config-linux.md); JSON mapping lives in SpecReader/SpecWriter.

/// <summary>A whole config.json.</summary>
public sealed record RuntimeSpec
{
    /// <summary>The runtime-spec version this runtime implements and writes.</summary>
    public const string Version = "1.2.0";

    public required string OciVersion { get; init; }
    public ProcessSpec? Process { get; init; }
    public RootSpec? Root { get; init; }
    public string? Hostname { get; init; }
    public string? Domainname { get; init; }
    public IReadOnlyList<MountSpec> Mounts { get; init; } = [];
    public HooksSpec? Hooks { get; init; }
    public IReadOnlyDictionary<string, string> Annotations { get; init; } = EmptyMap;
    public LinuxSpec? Linux { get; init; }

    internal static readonly IReadOnlyDictionary<string, string> EmptyMap = new Dictionary<string, string>();
}

public sealed record RootSpec
{
    public required string Path { get; init; }
    public bool Readonly { get; init; }
}

public sealed record ProcessSpec
{
    public bool Terminal { get; init; }
    public ConsoleSize? ConsoleSize { get; init; }
    public UserSpec User { get; init; } = new();
    public IReadOnlyList<string> Args { get; init; } = [];
    public IReadOnlyList<string> Env { get; init; } = [];
    public required string Cwd { get; init; }
    public CapabilitiesSpec? Capabilities { get; init; }
    public IReadOnlyList<RlimitSpec> Rlimits { get; init; } = [];
    public bool NoNewPrivileges { get; init; }
    public int? OomScoreAdj { get; init; }
    /// <summary>Kept only to be refused when non-empty: Berth has no AppArmor.</summary>
    public string? ApparmorProfile { get; init; }
    /// <summary>Kept only to be refused when non-empty: Berth has no SELinux.</summary>
    public string? SelinuxLabel { get; init; }
    public IoPrioritySpec? IoPriority { get; init; }
    public SchedulerSpec? Scheduler { get; init; }
    public CpuAffinitySpec? ExecCpuAffinity { get; init; }
}

public sealed record ConsoleSize(uint Height, uint Width);

public sealed record UserSpec
{
    public uint Uid { get; init; }
    public uint Gid { get; init; }
    public uint? Umask { get; init; }
    public IReadOnlyList<uint> AdditionalGids { get; init; } = [];
}

/// <summary>The five capability sets, each a list of CAP_* names (null: the set is not given).</summary>
public sealed record CapabilitiesSpec
{
    public IReadOnlyList<string>? Bounding { get; init; }
    public IReadOnlyList<string>? Effective { get; init; }
    public IReadOnlyList<string>? Inheritable { get; init; }
    public IReadOnlyList<string>? Permitted { get; init; }
    public IReadOnlyList<string>? Ambient { get; init; }
}

public sealed record RlimitSpec(string Type, ulong Soft, ulong Hard);

public sealed record IoPrioritySpec(string Class, int Priority);

public sealed record SchedulerSpec
{
    public required string Policy { get; init; }
    public int? Nice { get; init; }
    public int? Priority { get; init; }
    public IReadOnlyList<string> Flags { get; init; } = [];
    public ulong? Runtime { get; init; }
    public ulong? Deadline { get; init; }
    public ulong? Period { get; init; }
}

public sealed record CpuAffinitySpec(string? Initial, string? Final);

public sealed record MountSpec
{
    public required string Destination { get; init; }
    public string? Type { get; init; }
    public string? Source { get; init; }
    public IReadOnlyList<string> Options { get; init; } = [];
    public IReadOnlyList<IdMapping> UidMappings { get; init; } = [];
    public IReadOnlyList<IdMapping> GidMappings { get; init; } = [];
}

public sealed record IdMapping(uint ContainerId, uint HostId, uint Size)
{
    public override string ToString() => $"{ContainerId}:{HostId}:{Size}";
}

public sealed record HooksSpec
{
    /// <summary>Deprecated by the spec in favour of createRuntime; still run, before it.</summary>
    public IReadOnlyList<HookSpec> Prestart { get; init; } = [];
    public IReadOnlyList<HookSpec> CreateRuntime { get; init; } = [];
    public IReadOnlyList<HookSpec> CreateContainer { get; init; } = [];
    public IReadOnlyList<HookSpec> StartContainer { get; init; } = [];
    public IReadOnlyList<HookSpec> Poststart { get; init; } = [];
    public IReadOnlyList<HookSpec> Poststop { get; init; } = [];
}

public sealed record HookSpec
{
    public required string Path { get; init; }
    public IReadOnlyList<string> Args { get; init; } = [];
    public IReadOnlyList<string> Env { get; init; } = [];
    /// <summary>Seconds; the spec requires it to be greater than zero when given.</summary>
    public int? Timeout { get; init; }
}

public sealed record LinuxSpec
{
    public IReadOnlyList<NamespaceSpec> Namespaces { get; init; } = [];
    public IReadOnlyList<IdMapping> UidMappings { get; init; } = [];
    public IReadOnlyList<IdMapping> GidMappings { get; init; } = [];
    public IReadOnlyList<DeviceSpec> Devices { get; init; } = [];
    public string? CgroupsPath { get; init; }
    public ResourcesSpec? Resources { get; init; }
    public IReadOnlyDictionary<string, string> Sysctl { get; init; } = RuntimeSpec.EmptyMap;
    public SeccompSpec? Seccomp { get; init; }
    public string? RootfsPropagation { get; init; }
    public IReadOnlyList<string> MaskedPaths { get; init; } = [];
    public IReadOnlyList<string> ReadonlyPaths { get; init; } = [];
    /// <summary>Kept only to be refused when non-empty: Berth has no SELinux.</summary>
    public string? MountLabel { get; init; }
    public PersonalitySpec? Personality { get; init; }
    public IReadOnlyDictionary<string, TimeOffsetSpec> TimeOffsets { get; init; } = new Dictionary<string, TimeOffsetSpec>();
    public IntelRdtSpec? IntelRdt { get; init; }

    public NamespaceSpec? Namespace(NamespaceKind kind) => Namespaces.FirstOrDefault(n => n.Type == kind);
}

public enum NamespaceKind { Pid, Network, Mount, Ipc, Uts, User, Cgroup, Time }

public sealed record NamespaceSpec(NamespaceKind Type, string? Path = null)
{
    /// <summary>The spec's names, in the order its documentation lists them.</summary>
    public static readonly IReadOnlyList<(string Name, NamespaceKind Kind)> Names =
    [
        ("pid", NamespaceKind.Pid), ("network", NamespaceKind.Network), ("mount", NamespaceKind.Mount),
        ("ipc", NamespaceKind.Ipc), ("uts", NamespaceKind.Uts), ("user", NamespaceKind.User),
        ("cgroup", NamespaceKind.Cgroup), ("time", NamespaceKind.Time),
    ];

    public static string NameOf(NamespaceKind kind) => Names.First(n => n.Kind == kind).Name;

    /// <summary>The CLONE_NEW* flag that creates this kind of namespace.</summary>
    public static ulong CloneFlag(NamespaceKind kind) => kind switch
    {
        NamespaceKind.Mount => 0x00020000,
        NamespaceKind.Cgroup => 0x02000000,
        NamespaceKind.Uts => 0x04000000,
        NamespaceKind.Ipc => 0x08000000,
        NamespaceKind.User => 0x10000000,
        NamespaceKind.Pid => 0x20000000,
        NamespaceKind.Network => 0x40000000,
        NamespaceKind.Time => 0x00000080,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}

public sealed record DeviceSpec
{
    /// <summary>c, b, u or p.</summary>
    public required string Type { get; init; }
    public required string Path { get; init; }
    public long? Major { get; init; }
    public long? Minor { get; init; }
    public uint? FileMode { get; init; }
    public uint? Uid { get; init; }
    public uint? Gid { get; init; }
}

public sealed record ResourcesSpec
{
    public IReadOnlyList<DeviceCgroupRule> Devices { get; init; } = [];
    public MemorySpec? Memory { get; init; }
    public CpuSpec? Cpu { get; init; }
    public PidsSpec? Pids { get; init; }
    public BlockIoSpec? BlockIO { get; init; }
    public IReadOnlyList<HugepageLimit> HugepageLimits { get; init; } = [];
    public NetworkSpec? Network { get; init; }
    public IReadOnlyDictionary<string, RdmaLimit> Rdma { get; init; } = new Dictionary<string, RdmaLimit>();
    /// <summary>cgroup v2 files written as given (e.g. "memory.high": "1G").</summary>
    public IReadOnlyDictionary<string, string> Unified { get; init; } = RuntimeSpec.EmptyMap;
}

public sealed record DeviceCgroupRule
{
    public bool Allow { get; init; }
    /// <summary>a, c or b; null means all (a).</summary>
    public string? Type { get; init; }
    public long? Major { get; init; }
    public long? Minor { get; init; }
    /// <summary>Some of r, w, m; null means rwm.</summary>
    public string? Access { get; init; }
}

public sealed record MemorySpec
{
    public long? Limit { get; init; }
    public long? Reservation { get; init; }
    public long? Swap { get; init; }
    public long? Kernel { get; init; }
    public long? KernelTCP { get; init; }
    public ulong? Swappiness { get; init; }
    public bool? DisableOOMKiller { get; init; }
    public bool? UseHierarchy { get; init; }
    public bool? CheckBeforeUpdate { get; init; }
}

public sealed record CpuSpec
{
    public ulong? Shares { get; init; }
    public long? Quota { get; init; }
    public ulong? Burst { get; init; }
    public ulong? Period { get; init; }
    public long? RealtimeRuntime { get; init; }
    public ulong? RealtimePeriod { get; init; }
    public string? Cpus { get; init; }
    public string? Mems { get; init; }
    public long? Idle { get; init; }
}

public sealed record PidsSpec(long Limit);

public sealed record BlockIoSpec
{
    public ushort? Weight { get; init; }
    public ushort? LeafWeight { get; init; }
    public IReadOnlyList<WeightDevice> WeightDevice { get; init; } = [];
    public IReadOnlyList<ThrottleDevice> ThrottleReadBpsDevice { get; init; } = [];
    public IReadOnlyList<ThrottleDevice> ThrottleWriteBpsDevice { get; init; } = [];
    public IReadOnlyList<ThrottleDevice> ThrottleReadIOPSDevice { get; init; } = [];
    public IReadOnlyList<ThrottleDevice> ThrottleWriteIOPSDevice { get; init; } = [];
}

public sealed record WeightDevice(long Major, long Minor, ushort? Weight, ushort? LeafWeight);

public sealed record ThrottleDevice(long Major, long Minor, ulong Rate);

public sealed record HugepageLimit(string PageSize, ulong Limit);

public sealed record NetworkSpec
{
    public uint? ClassId { get; init; }
    public IReadOnlyList<NetworkPriority> Priorities { get; init; } = [];
}

public sealed record NetworkPriority(string Name, uint Priority);

public sealed record RdmaLimit(uint? HcaHandles, uint? HcaObjects);

public sealed record SeccompSpec
{
    /// <summary>An SCMP_ACT_* name, as all actions here; checked when the filter is compiled.</summary>
    public required string DefaultAction { get; init; }
    public uint? DefaultErrnoRet { get; init; }
    public IReadOnlyList<string> Architectures { get; init; } = [];
    public IReadOnlyList<string> Flags { get; init; } = [];
    public string? ListenerPath { get; init; }
    public string? ListenerMetadata { get; init; }
    public IReadOnlyList<SyscallRule> Syscalls { get; init; } = [];
}

public sealed record SyscallRule
{
    public required IReadOnlyList<string> Names { get; init; }
    public required string Action { get; init; }
    public uint? ErrnoRet { get; init; }
    public IReadOnlyList<SyscallArg> Args { get; init; } = [];
}

public sealed record SyscallArg
{
    public uint Index { get; init; }
    public ulong Value { get; init; }
    public ulong? ValueTwo { get; init; }
    /// <summary>An SCMP_CMP_* name.</summary>
    public required string Op { get; init; }
}

public sealed record PersonalitySpec(string Domain, IReadOnlyList<string> Flags);

public sealed record TimeOffsetSpec(long Secs, uint Nanosecs);

public sealed record IntelRdtSpec
{
    public string? ClosId { get; init; }
    public string? L3CacheSchema { get; init; }
    public string? MemBwSchema { get; init; }
    public bool? EnableCMT { get; init; }
    public bool? EnableMBM { get; init; }
}
