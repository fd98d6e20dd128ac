namespace Berth.Init.CloudConfig;

public enum NamespaceMode { Private, Host }

/// <summary>compose's restart policies; <c>no</c> is the default, as in compose.</summary>
public enum ServiceRestart { No, OnFailure, Always }

/// <summary>What a dependent waits for: the dependency started, reported healthy, or exited 0.</summary>
public enum DependencyCondition { Started, Healthy, Completed }

public sealed record ServiceDependency(string Service, DependencyCondition Condition, SourcePosition Position);

/// <summary>A command either as an argv or as one line for /bin/sh -c.</summary>
public sealed record CommandLine(IReadOnlyList<string> Arguments, bool Shell, SourcePosition Position)
{
    /// <summary>What to execute: the argv, or /bin/sh -c LINE.</summary>
    public IReadOnlyList<string> Argv => Shell ? ["/bin/sh", "-c", Arguments[0]] : Arguments;
    public override string ToString() => Shell ? Arguments[0] : string.Join(' ', Arguments);
}

public sealed record HealthCheck(CommandLine? Test, TimeSpan Interval, TimeSpan Timeout, int Retries, TimeSpan StartPeriod, SourcePosition Position);

/// <summary>A bind of a host path (or a named volume) into the container: "SRC:DST[:ro|rw]".</summary>
public sealed record VolumeMount(string Source, string Target, bool ReadOnly, SourcePosition Position);

/// <summary>"/dev/HOST[:/dev/CONTAINER[:rwm]]".</summary>
public sealed record DeviceMapping(string HostPath, string ContainerPath, string Permissions, SourcePosition Position);

public sealed record ResourceLimits(long? MemoryBytes, double? Cpus, long? Pids);

/// <summary>
/// One service, as declared in cloud-config (<c>berth.services.NAME</c>) after merging every source:
/// the model the supervisor runs. Values are normalised (durations, sizes, signals, conditions);
/// <see cref="Positions"/> says where each key was written.
/// </summary>
public sealed record ServiceDefinition
{
    public required string Name { get; init; }
    public required SourcePosition Position { get; init; }
    /// <summary>Image reference (pulled or loaded); exactly one of Image and Bundle is set.</summary>
    public string? Image { get; init; }
    /// <summary>Path of a prebuilt OCI bundle (system services in the read-only root).</summary>
    public string? Bundle { get; init; }
    public CommandLine? Command { get; init; }
    public CommandLine? Entrypoint { get; init; }
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
    public IReadOnlyList<VolumeMount> Volumes { get; init; } = [];
    public NamespaceMode Net { get; init; }
    public NamespaceMode Pid { get; init; }
    public NamespaceMode Ipc { get; init; }
    public bool Privileged { get; init; }
    public bool ReadOnlyRoot { get; init; }
    /// <summary>Capability names normalised to CAP_*, or "ALL".</summary>
    public IReadOnlyList<string> CapAdd { get; init; } = [];
    public IReadOnlyList<string> CapDrop { get; init; } = [];
    public IReadOnlyList<DeviceMapping> Devices { get; init; } = [];
    public ServiceRestart Restart { get; init; } = ServiceRestart.No;
    public IReadOnlyList<ServiceDependency> DependsOn { get; init; } = [];
    public HealthCheck? HealthCheck { get; init; }
    public int StopSignal { get; init; } = 15;
    public TimeSpan StopGracePeriod { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Runs to completion once (e.g. a setup step); "completed" dependencies wait for its exit 0.</summary>
    public bool OneShot { get; init; }
    public ResourceLimits Limits { get; init; } = new(null, null, null);
    public string? User { get; init; }
    public string? WorkingDir { get; init; }
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    public bool Enabled { get; init; } = true;
    public IReadOnlyDictionary<string, SourcePosition> Positions { get; init; } = new Dictionary<string, SourcePosition>();
}
