using Berth.Runtime.Linux;
using Berth.Runtime.Oci;

namespace Berth.SystemServices.Bundles;

/// <summary>A host directory or file bound into a service's container.</summary>
public sealed record Bind(string Source, string Destination, bool Writable = false);

/// <summary>
/// A system service as an OCI bundle, LinuxKit-style: the rootfs in the read-only root
/// (/usr/share/berth/services/NAME/rootfs) holds only mount points, the host's binaries and
/// libraries are bound in read-only, and the service gets exactly the namespaces it shares with the
/// host, the capabilities and the host paths it needs. config.json is written at boot under
/// /run/berth/services/NAME, because some of it comes from the boot (the console tty, configured
/// servers); writing it costs far less than unpacking anything.
/// </summary>
public sealed record ServiceBundle
{
    public const string RootfsBase = "/usr/share/berth/services";
    public const string ConfigBase = "/run/berth/services";

    /// <summary>What every service sees read-only: the one berth binary, busybox, the libraries.</summary>
    public static readonly IReadOnlyList<Bind> SystemBinds =
        [new("/usr", "/usr"), new("/bin", "/bin"), new("/sbin", "/sbin"), new("/lib", "/lib"), new("/lib64", "/lib64"), new("/etc", "/etc")];

    /// <summary>Mount points every service rootfs has (image-build makes them).</summary>
    public static readonly IReadOnlyList<string> MountPoints =
        ["bin", "sbin", "lib", "lib64", "usr", "etc", "var", "run", "tmp", "root", "home", "dev", "proc", "sys", "mnt", "boot"];

    public required string Name { get; init; }
    public required IReadOnlyList<string> Args { get; init; }
    public IReadOnlyList<string> Capabilities { get; init; } = [];
    /// <summary>Namespaces shared with the host (pid, network, ipc, uts); the mount namespace is always the service's own.</summary>
    public IReadOnlySet<NamespaceKind> HostNamespaces { get; init; } = new HashSet<NamespaceKind>();
    /// <summary>Host paths bound in, beyond <see cref="SystemBinds"/>.</summary>
    public IReadOnlyList<Bind> Binds { get; init; } = [];
    /// <summary>
    /// An administrator's view (the console, sshd): every host directory bound in writable, /sys
    /// writable, and no no_new_privs, so su and login work. Daemons are never privileged.
    /// </summary>
    public bool Privileged { get; init; }
    /// <summary>The host's /dev (rbind) instead of a private tmpfs with the default nodes.</summary>
    public bool HostDev { get; init; }
    /// <summary>/sys writable without being privileged: devmgr asks the kernel to replay uevents through it.</summary>
    public bool WritableSys { get; init; }
    public IReadOnlyList<string> Env { get; init; } = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"];

    /// <summary>
    /// cloud-config's <c>image:</c> for this service: PID 1 mounts that image as the root instead of
    /// the prebuilt one (<see cref="ImageRootfs"/>), keeping the service's privileges and binds.
    /// </summary>
    public string? Image { get; init; }
    /// <summary>Where the image of <see cref="Image"/> is mounted; the system binds of the base are then not added.</summary>
    public string? ImageRootfs { get; init; }

    /// <summary>The prebuilt rootfs to use when it is another service's (a second console shares the console's).</summary>
    public string? RootfsOf { get; init; }

    public string Rootfs => ImageRootfs ?? Path.Combine(RootfsBase, RootfsOf ?? Name, "rootfs");
    public string Directory => Path.Combine(ConfigBase, Name);

    public RuntimeSpec Spec()
    {
        var mounts = new List<MountSpec>();
        bool hostPid = HostNamespaces.Contains(NamespaceKind.Pid);
        // /proc of the pid namespace the service is in: the host's own when it shares it.
        mounts.Add(hostPid
            ? new MountSpec { Destination = "/proc", Type = "bind", Source = "/proc", Options = ["rbind", "rw"] }
            : new MountSpec { Destination = "/proc", Type = "proc", Source = "proc", Options = ["nosuid", "noexec", "nodev"] });
        mounts.Add(HostDev
            ? new MountSpec { Destination = "/dev", Type = "bind", Source = "/dev", Options = ["rbind", "rw"] }
            : new MountSpec { Destination = "/dev", Type = "tmpfs", Source = "tmpfs", Options = ["nosuid", "strictatime", "mode=755", "size=65536k"] });
        mounts.Add(new MountSpec { Destination = "/sys", Type = "bind", Source = "/sys", Options = ["rbind", Privileged || WritableSys ? "rw" : "ro"] });
        if (!Privileged)
        {
            // A daemon's own /tmp, /run and /var, with only the host paths it needs bound into them.
            mounts.Add(new MountSpec { Destination = "/tmp", Type = "tmpfs", Source = "tmpfs", Options = ["nosuid", "nodev", "mode=1777", "size=16m"] });
            mounts.Add(new MountSpec { Destination = "/run", Type = "tmpfs", Source = "tmpfs", Options = ["nosuid", "nodev", "mode=755", "size=4m"] });
            mounts.Add(new MountSpec { Destination = "/var", Type = "tmpfs", Source = "tmpfs", Options = ["nosuid", "nodev", "mode=755", "size=4m"] });
        }
        var binds = Privileged
            ? MountPoints.Except(["dev", "proc", "sys"]).Select(d => new Bind("/" + d, "/" + d, Writable: true))
            : (ImageRootfs is null ? SystemBinds : []).Concat(Binds.OrderBy(b => b.Destination.Count(c => c == '/')));
        foreach (var b in binds)
            mounts.Add(new MountSpec { Destination = b.Destination, Type = "bind", Source = b.Source, Options = ["rbind", b.Writable ? "rw" : "ro"] });
        var namespaces = new List<NamespaceSpec> { new(NamespaceKind.Mount) };
        foreach (var kind in new[] { NamespaceKind.Pid, NamespaceKind.Network, NamespaceKind.Ipc, NamespaceKind.Uts })
            if (!HostNamespaces.Contains(kind)) namespaces.Add(new NamespaceSpec(kind));
        return new RuntimeSpec
        {
            OciVersion = RuntimeSpec.Version,
            Root = new RootSpec { Path = Rootfs, Readonly = true },
            Process = new ProcessSpec
            {
                Args = Args,
                Env = Env,
                Cwd = "/",
                Capabilities = new CapabilitiesSpec { Bounding = Capabilities, Effective = Capabilities, Permitted = Capabilities },
                NoNewPrivileges = !Privileged,
            },
            Mounts = mounts,
            Linux = new LinuxSpec
            {
                Namespaces = namespaces,
                // Mounts the host makes later (a seed disk, STATE) must show inside too.
                RootfsPropagation = "rslave",
            },
        };
    }

    /// <summary>Writes config.json for this boot and returns the bundle directory.</summary>
    public string Write()
    {
        System.IO.Directory.CreateDirectory(Directory);
        Files.WriteAtomically(Path.Combine(Directory, "config.json"), SpecWriter.ToUtf8(Spec()), 0x180, durable: false);
        return Directory;
    }
}
