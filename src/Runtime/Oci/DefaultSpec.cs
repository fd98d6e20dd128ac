namespace Berth.Runtime.Oci;

/// <summary>
/// The config.json that `spec` writes: the same content as `runc spec` (runc 1.2's example), so
/// that bundles made for runc work unchanged; <see cref="Rootless"/> as `runc spec --rootless`.
/// </summary>
public static class DefaultSpec
{
    public static readonly IReadOnlyList<string> DefaultCapabilities = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

    public static readonly IReadOnlyList<string> MaskedPaths =
    [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
    ];

    public static readonly IReadOnlyList<string> ReadonlyPaths =
        ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

    public static RuntimeSpec Create() => new()
    {
        OciVersion = RuntimeSpec.Version,
        Process = new ProcessSpec
        {
            Terminal = true,
            User = new UserSpec { Uid = 0, Gid = 0 },
            Args = ["sh"],
            Env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            Cwd = "/",
            Capabilities = new CapabilitiesSpec
            {
                Bounding = DefaultCapabilities,
                Effective = DefaultCapabilities,
                Permitted = DefaultCapabilities,
                Ambient = DefaultCapabilities,
            },
            Rlimits = [new RlimitSpec("RLIMIT_NOFILE", Soft: 1024, Hard: 1024)],
            NoNewPrivileges = true,
        },
        Root = new RootSpec { Path = "rootfs", Readonly = true },
        Hostname = "runc",
        Mounts =
        [
            new MountSpec { Destination = "/proc", Type = "proc", Source = "proc" },
            new MountSpec { Destination = "/dev", Type = "tmpfs", Source = "tmpfs", Options = ["nosuid", "strictatime", "mode=755", "size=65536k"] },
            new MountSpec { Destination = "/dev/pts", Type = "devpts", Source = "devpts", Options = ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
            new MountSpec { Destination = "/dev/shm", Type = "tmpfs", Source = "shm", Options = ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
            new MountSpec { Destination = "/dev/mqueue", Type = "mqueue", Source = "mqueue", Options = ["nosuid", "noexec", "nodev"] },
            new MountSpec { Destination = "/sys", Type = "sysfs", Source = "sysfs", Options = ["nosuid", "noexec", "nodev", "ro"] },
            new MountSpec { Destination = "/sys/fs/cgroup", Type = "cgroup", Source = "cgroup", Options = ["nosuid", "noexec", "nodev", "relatime", "ro"] },
        ],
        Linux = new LinuxSpec
        {
            Resources = new ResourcesSpec { Devices = [new DeviceCgroupRule { Allow = false, Access = "rwm" }] },
            Namespaces =
            [
                new NamespaceSpec(NamespaceKind.Pid), new NamespaceSpec(NamespaceKind.Network), new NamespaceSpec(NamespaceKind.Ipc),
                new NamespaceSpec(NamespaceKind.Uts), new NamespaceSpec(NamespaceKind.Mount), new NamespaceSpec(NamespaceKind.Cgroup),
            ],
            MaskedPaths = MaskedPaths,
            ReadonlyPaths = ReadonlyPaths,
        },
    };

    /// <summary>
    /// runc's ToRootless: no network namespace (an unprivileged user cannot configure one), a user
    /// namespace mapping root to the caller, /sys bind-mounted (sysfs cannot be mounted without
    /// owning the network namespace), no uid=/gid= mount options, and no cgroup resources.
    /// </summary>
    public static RuntimeSpec Rootless(uint hostUid, uint hostGid)
    {
        var spec = Create();
        var linux = spec.Linux!;
        var namespaces = linux.Namespaces
            .Where(n => n.Type is not (NamespaceKind.Network or NamespaceKind.User))
            .Append(new NamespaceSpec(NamespaceKind.User))
            .ToList();
        var mounts = spec.Mounts.Select(m => m.Destination == "/sys"
            ? new MountSpec { Destination = "/sys", Type = "none", Source = "/sys", Options = ["rbind", "nosuid", "noexec", "nodev", "ro"] }
            : m with { Options = m.Options.Where(o => !o.StartsWith("uid=", StringComparison.Ordinal) && !o.StartsWith("gid=", StringComparison.Ordinal)).ToList() })
            .ToList();
        return spec with
        {
            Mounts = mounts,
            Linux = linux with
            {
                Namespaces = namespaces,
                UidMappings = [new IdMapping(0, hostUid, 1)],
                GidMappings = [new IdMapping(0, hostGid, 1)],
                Resources = null,
            },
        };
    }
}
