using System.Text.Json;

namespace Berth.Runtime.Images;

/// <summary>The process an image says to run (OCI runtime spec <c>process</c>), derived by <see cref="ImageBundler"/>.</summary>
public sealed record ProcessSpec
{
    public required IReadOnlyList<string> Args { get; init; }
    public required IReadOnlyList<string> Env { get; init; }
    public required string Cwd { get; init; }
    public required ContainerUser User { get; init; }
    public bool Terminal { get; init; }
}

/// <summary>The rest of a bundle's config.json that comes from the caller or the image, not from defaults.</summary>
public sealed record RuntimeConfigOptions
{
    public string? Hostname { get; init; }
    public bool ReadOnlyRoot { get; init; }
    public IReadOnlyDictionary<string, string> Annotations { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// The config.json of a bundle made from an image: the image's process in the runtime model
/// (<c>Berth.Runtime.Oci</c>) with Docker's defaults for an unprivileged container, written by the
/// model's own <see cref="Oci.SpecWriter"/>.
/// </summary>
public static class RuntimeConfigWriter
{
    /// <summary>
    /// Nothing written here is newer than runtime-spec 1.0, and Debian's crun 1.8 refuses "1.2.0":
    /// claiming 1.0.2 keeps bundles runnable by crun and runc for the side-by-side benchmarks.
    /// </summary>
    public const string OciVersion = "1.0.2";

    /// <summary>Docker's default capability set (moby oci/caps/defaults.go).</summary>
    public static readonly IReadOnlyList<string> DefaultCapabilities =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ];

    public static readonly IReadOnlyList<string> MaskedPaths =
    [
        "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
        "/sys/devices/virtual/powercap",
    ];

    public static readonly IReadOnlyList<string> ReadonlyPaths =
        ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

    public static readonly IReadOnlyList<string> Namespaces = ["pid", "network", "ipc", "uts", "mount", "cgroup"];

    private static readonly (string Destination, string Type, string Source, string[] Options)[] Mounts =
    [
        ("/proc", "proc", "proc", ["nosuid", "noexec", "nodev"]),
        ("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
        ("/dev/pts", "devpts", "devpts", ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
        ("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro"]),
        ("/sys/fs/cgroup", "cgroup", "cgroup", ["ro", "nosuid", "noexec", "nodev", "relatime"]),
        ("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]),
        ("/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
    ];

    /// <summary>The image's process in the runtime model, with Docker's defaults for an unprivileged container.</summary>
    public static Oci.ProcessSpec ToRuntimeProcess(ProcessSpec process) => new()
    {
        Terminal = process.Terminal,
        User = new Oci.UserSpec { Uid = process.User.Uid, Gid = process.User.Gid, AdditionalGids = process.User.AdditionalGids },
        Args = process.Args,
        Env = process.Env,
        Cwd = process.Cwd,
        Capabilities = new Oci.CapabilitiesSpec { Bounding = DefaultCapabilities, Effective = DefaultCapabilities, Permitted = DefaultCapabilities },
        // runc spec's default: a hard limit above the caller's own fails setrlimit (EPERM).
        Rlimits = [new Oci.RlimitSpec("RLIMIT_NOFILE", Soft: 1024, Hard: 1024)],
        NoNewPrivileges = true,
    };

    /// <summary>Writes the <c>process</c> object's value (the caller has written the property name, if any).</summary>
    public static void WriteProcess(Utf8JsonWriter w, ProcessSpec process)
    {
        // The runtime model's writer is the one place that knows the JSON: write a spec, keep its process.
        using var doc = JsonDocument.Parse(Oci.SpecWriter.ToUtf8(new Oci.RuntimeSpec { OciVersion = OciVersion, Process = ToRuntimeProcess(process) }));
        doc.RootElement.GetProperty("process").WriteTo(w);
    }

    /// <summary>
    /// The whole config of a bundle whose root filesystem is <c>rootfs/</c>: Docker's defaults
    /// (capabilities, namespaces, mounts, masked and read-only paths, no_new_privs, and its default
    /// seccomp profile for those capabilities).
    /// </summary>
    public static Oci.RuntimeSpec Spec(ProcessSpec process, RuntimeConfigOptions options) => new()
    {
        OciVersion = OciVersion,
        Process = ToRuntimeProcess(process),
        Root = new Oci.RootSpec { Path = "rootfs", Readonly = options.ReadOnlyRoot },
        Hostname = options.Hostname,
        Mounts = Mounts.Select(m => new Oci.MountSpec { Destination = m.Destination, Type = m.Type, Source = m.Source, Options = m.Options }).ToList(),
        Annotations = options.Annotations.OrderBy(a => a.Key, StringComparer.Ordinal).ToDictionary(a => a.Key, a => a.Value),
        Linux = new Oci.LinuxSpec
        {
            Namespaces = Namespaces.Select(n => new Oci.NamespaceSpec(Oci.NamespaceSpec.Names.First(x => x.Name == n).Kind)).ToList(),
            MaskedPaths = MaskedPaths,
            ReadonlyPaths = ReadonlyPaths,
            Seccomp = Security.DockerSeccompProfile.For(DefaultCapabilities),
        },
    };

    /// <summary>A complete config.json for a bundle whose root filesystem is <c>rootfs/</c>.</summary>
    public static byte[] Write(ProcessSpec process, RuntimeConfigOptions options) => Oci.SpecWriter.ToUtf8(Spec(process, options));
}
