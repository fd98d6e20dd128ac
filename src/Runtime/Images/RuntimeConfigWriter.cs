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
/// Writes an OCI runtime config.json (runtime-spec 1.2) for a bundle made from an image, with
/// Utf8JsonWriter. Kept small on purpose: the full runtime config model lives in
/// <c>Berth.Runtime.Oci</c>; <see cref="WriteProcess"/> is the seam where the image-derived process
/// is merged into that model, and the defaults here (Docker's capability set, mounts, masked and
/// read-only paths, namespaces) are what a bundle needs to run on its own until then.
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

    /// <summary>Writes the <c>process</c> object's value (the caller has written the property name, if any).</summary>
    public static void WriteProcess(Utf8JsonWriter w, ProcessSpec process)
    {
        w.WriteStartObject();
        w.WriteBoolean("terminal", process.Terminal);
        w.WriteStartObject("user");
        w.WriteNumber("uid", process.User.Uid);
        w.WriteNumber("gid", process.User.Gid);
        if (process.User.AdditionalGids.Count > 0)
        {
            w.WriteStartArray("additionalGids");
            foreach (var g in process.User.AdditionalGids) w.WriteNumberValue(g);
            w.WriteEndArray();
        }
        w.WriteEndObject();
        WriteStrings(w, "args", process.Args);
        WriteStrings(w, "env", process.Env);
        w.WriteString("cwd", process.Cwd);
        w.WriteStartObject("capabilities");
        WriteStrings(w, "bounding", DefaultCapabilities);
        WriteStrings(w, "effective", DefaultCapabilities);
        WriteStrings(w, "permitted", DefaultCapabilities);
        w.WriteEndObject();
        w.WriteStartArray("rlimits");
        w.WriteStartObject();
        w.WriteString("type", "RLIMIT_NOFILE");
        // runc spec's default: a hard limit above the caller's own fails setrlimit (EPERM).
        w.WriteNumber("hard", 1024);
        w.WriteNumber("soft", 1024);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteBoolean("noNewPrivileges", true);
        w.WriteEndObject();
    }

    /// <summary>A complete config.json for a bundle whose root filesystem is <c>rootfs/</c>.</summary>
    public static byte[] Write(ProcessSpec process, RuntimeConfigOptions options)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("ociVersion", OciVersion);
            w.WritePropertyName("process");
            WriteProcess(w, process);
            w.WriteStartObject("root");
            w.WriteString("path", "rootfs");
            w.WriteBoolean("readonly", options.ReadOnlyRoot);
            w.WriteEndObject();
            if (options.Hostname is not null) w.WriteString("hostname", options.Hostname);
            w.WriteStartArray("mounts");
            foreach (var (destination, type, source, mountOptions) in Mounts)
            {
                w.WriteStartObject();
                w.WriteString("destination", destination);
                w.WriteString("type", type);
                w.WriteString("source", source);
                WriteStrings(w, "options", mountOptions);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (options.Annotations.Count > 0)
            {
                w.WriteStartObject("annotations");
                foreach (var (k, v) in options.Annotations.OrderBy(a => a.Key, StringComparer.Ordinal)) w.WriteString(k, v);
                w.WriteEndObject();
            }
            w.WriteStartObject("linux");
            w.WriteStartArray("namespaces");
            foreach (var ns in Namespaces)
            {
                w.WriteStartObject();
                w.WriteString("type", ns);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            WriteStrings(w, "maskedPaths", MaskedPaths);
            WriteStrings(w, "readonlyPaths", ReadonlyPaths);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static void WriteStrings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }
}
