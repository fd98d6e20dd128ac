using Berth.Runtime.Images;
using Berth.Runtime.Linux;
using Berth.Runtime.Oci;
using Berth.Runtime.Security;
using Config = Berth.Init.CloudConfig;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Init.Stage2;

/// <summary>
/// A service declared in cloud-config with an <c>image:</c>, made into an OCI bundle when it starts:
/// the image's layers unpacked once into the image store and stacked with overlayfs, a writable
/// upper layer on STATE that outlives restarts and reboots (as a Docker container's does until it
/// is removed), and a config.json with Docker's defaults for an unprivileged container, changed by
/// what the service says (namespaces, privileges, capabilities, volumes, devices, limits).
/// </summary>
public sealed class UserServiceBundle(
    Config.ServiceDefinition service,
    IReadOnlyDictionary<string, string> environment,
    string imageRoot = ImageStore.DefaultRoot,
    string builtInImages = UserServiceBundle.BuiltInImages,
    string runBase = "/run/berth/services",
    string stateBase = "/var/lib/berth/services",
    string volumeBase = "/var/lib/berth/volumes")
{
    /// <summary>OCI layouts in the read-only root, one per directory named like the image: usable offline, on first boot.</summary>
    public const string BuiltInImages = "/usr/share/berth/images";
    private const string HostResolvConf = "/etc/resolv.conf";

    public string Directory => Path.Combine(runBase, service.Name);
    public string Rootfs => Path.Combine(Directory, "rootfs");

    /// <summary>Mounts the root filesystem and writes config.json; returns the bundle directory.</summary>
    public string Prepare(List<string> warnings)
    {
        if (service.Bundle is { } prebuilt) return prebuilt;
        var (image, process) = Mount(warnings);
        var spec = Customize(RuntimeConfigWriter.Spec(process, new RuntimeConfigOptions
        {
            Hostname = service.Net == Config.NamespaceMode.Host ? null : service.Name,
            ReadOnlyRoot = service.ReadOnlyRoot,
            Annotations = ImageBundler.Annotations(image),
        }));
        Files.WriteAtomically(Path.Combine(Directory, "config.json"), SpecWriter.ToUtf8(spec), 0x180, durable: false);
        return Directory;
    }

    /// <summary>Mounts the image at <see cref="Rootfs"/> and returns the process the service runs.</summary>
    public Runtime.Images.ProcessSpec MountImage(List<string> warnings) => Mount(warnings).Process;

    private (Image Image, Runtime.Images.ProcessSpec Process) Mount(List<string> warnings)
    {
        string reference = service.Image ?? throw new ImageException($"service {service.Name} has neither an image nor a bundle");
        var store = new ImageStore(imageRoot);
        var image = Resolve(store, reference);
        var layers = store.UnpackLayers(image, warnings);

        Files.MakeDirectories(Rootfs, 0x1ed);
        if (Mounts.Table().Any(m => m.MountPoint == Rootfs)) Mounts.Unmount(Rootfs, MNT_DETACH);
        if (service.ReadOnlyRoot) layers.Mount(Rootfs);
        else
        {
            string state = Path.Combine(stateBase, service.Name);
            string upper = Path.Combine(state, "upper"), work = Path.Combine(state, "work");
            Files.MakeDirectories(upper, 0x1ed);
            Files.MakeDirectories(work, 0x1c0);
            layers.Mount(Rootfs, upper, work);
        }

        Runtime.Images.ProcessSpec process;
        using (var root = new ContainedRoot(Rootfs))
            process = ImageBundler.DeriveProcess(image.Config, root, new BundleOptions
            {
                Entrypoint = service.Entrypoint?.Argv,
                Command = service.Command?.Argv,
                Env = environment.Select(e => $"{e.Key}={e.Value}").ToList(),
                WorkingDir = service.WorkingDir,
                User = service.User,
            });
        return (image, process);
    }

    /// <summary>The image from the store, or imported into it from the built-in layout of that name.</summary>
    private Image Resolve(ImageStore store, string reference)
    {
        try { return store.Resolve(reference); }
        catch (ImageException) when (BuiltInLayout(reference) is { } layout)
        {
            var (_, tag) = SplitTag(reference);
            return store.Import(OciLayout.Open(layout), tag, name: reference);
        }
        catch (ImageException e)
        {
            throw new ImageException($"image \"{reference}\" of service {service.Name} is not in {store.Root} ({e.Message}); load it with `berth image load`");
        }
    }

    private string? BuiltInLayout(string reference)
    {
        var (name, _) = SplitTag(reference);
        string dir = Path.Combine(builtInImages, name.Replace('/', '_'));
        return File.Exists(Path.Combine(dir, "index.json")) ? dir : null;
    }

    /// <summary>"busybox:1.36" → ("busybox", "1.36"); a ':' before the last '/' is a registry port, not a tag.</summary>
    public static (string Name, string? Tag) SplitTag(string reference)
    {
        int colon = reference.LastIndexOf(':');
        return colon > reference.LastIndexOf('/') ? (reference[..colon], reference[(colon + 1)..]) : (reference, null);
    }

    public RuntimeSpec Customize(RuntimeSpec spec)
    {
        var linux = spec.Linux!;
        var process = spec.Process!;
        var hostNamespaces = new HashSet<NamespaceKind>();
        if (service.Net == Config.NamespaceMode.Host) hostNamespaces.Add(NamespaceKind.Network);
        if (service.Pid == Config.NamespaceMode.Host) hostNamespaces.Add(NamespaceKind.Pid);
        if (service.Ipc == Config.NamespaceMode.Host) hostNamespaces.Add(NamespaceKind.Ipc);

        var caps = Capabilities(process.Capabilities?.Bounding ?? []);
        var mounts = spec.Mounts.ToList();
        if (hostNamespaces.Contains(NamespaceKind.Pid))
            mounts = mounts.Select(m => m.Destination == "/proc"
                ? new MountSpec { Destination = "/proc", Type = "bind", Source = "/proc", Options = ["rbind", "rw"] } : m).ToList();
        if (service.Privileged)
            mounts = mounts.Select(m => m.Destination == "/sys"
                ? m with { Options = m.Options.Where(o => o != "ro").Append("rw").ToList() } : m).ToList();
        // The host's network comes with the host's name servers: a copy as Docker makes one, since
        // netconf replaces /etc/resolv.conf by rename (a bind of it would go stale) and may not have
        // a lease yet when the service starts (then the copy is empty rather than the bind failing).
        if (hostNamespaces.Contains(NamespaceKind.Network))
            mounts.Add(new MountSpec { Destination = "/etc/resolv.conf", Type = "bind", Source = ResolvConfCopy(), Options = ["rbind", "ro"] });
        foreach (var v in service.Volumes)
            mounts.Add(new MountSpec { Destination = v.Target, Type = "bind", Source = VolumeSource(v), Options = ["rbind", v.ReadOnly ? "ro" : "rw"] });

        var devices = new List<DeviceSpec>();
        var deviceRules = new List<DeviceCgroupRule>();
        foreach (var d in service.Devices)
        {
            var st = Files.TryStat(d.HostPath) ?? throw new ImageException($"service {service.Name}: device {d.HostPath} ({d.Position}) does not exist");
            uint type = st.Mode & S_IFMT;
            if (type != S_IFCHR && type != S_IFBLK) throw new ImageException($"service {service.Name}: {d.HostPath} ({d.Position}) is not a device node");
            long major = (long)((st.RDev >> 8) & 0xfff | (st.RDev >> 32) & ~0xfffUL), minor = (long)(st.RDev & 0xff | (st.RDev >> 12) & ~0xffUL);
            string kind = type == S_IFCHR ? "c" : "b";
            devices.Add(new DeviceSpec { Type = kind, Path = d.ContainerPath, Major = major, Minor = minor, FileMode = st.Mode & 0xfff, Uid = 0, Gid = 0 });
            deviceRules.Add(new DeviceCgroupRule { Allow = true, Type = kind, Major = major, Minor = minor, Access = d.Permissions });
        }

        var limits = service.Limits;
        return spec with
        {
            Mounts = mounts,
            Process = process with
            {
                Capabilities = new CapabilitiesSpec { Bounding = caps, Effective = caps, Permitted = caps },
                NoNewPrivileges = !service.Privileged,
            },
            Linux = linux with
            {
                Namespaces = linux.Namespaces.Where(n => !hostNamespaces.Contains(n.Type)).ToList(),
                Devices = devices,
                MaskedPaths = service.Privileged ? [] : linux.MaskedPaths,
                ReadonlyPaths = service.Privileged ? [] : linux.ReadonlyPaths,
                Seccomp = service.Privileged ? null : DockerSeccompProfile.For(caps),
                Resources = new ResourcesSpec
                {
                    Devices = service.Privileged ? [new DeviceCgroupRule { Allow = true, Access = "rwm" }] : deviceRules,
                    Memory = limits.MemoryBytes is { } mem ? new MemorySpec { Limit = mem } : null,
                    Cpu = limits.Cpus is { } cpus ? new CpuSpec { Quota = (long)Math.Round(cpus * 100_000), Period = 100_000 } : null,
                    Pids = limits.Pids is { } pids ? new PidsSpec(pids) : null,
                },
            },
        };
    }

    /// <summary>Docker's rule: privileged is every capability; then cap_add, then cap_drop ("ALL" in either).</summary>
    private IReadOnlyList<string> Capabilities(IReadOnlyList<string> defaults)
    {
        var set = new List<string>(service.Privileged ? Runtime.Security.Capabilities.All : defaults);
        foreach (var add in service.CapAdd)
        {
            if (add == "ALL") { set = [.. Runtime.Security.Capabilities.All]; continue; }
            if (!set.Contains(add)) set.Add(add);
        }
        foreach (var drop in service.CapDrop)
        {
            if (drop == "ALL") set.Clear();
            else set.Remove(drop);
        }
        return set;
    }

    private string ResolvConfCopy()
    {
        string copy = Path.Combine(Directory, "resolv.conf");
        byte[] content;
        try { content = File.ReadAllBytes(HostResolvConf); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { content = "# no name servers yet (no DHCP lease when the service started)\n"u8.ToArray(); }
        Files.MakeDirectories(Directory, 0x1ed);
        Files.WriteAtomically(copy, content, 0x1a4, durable: false);
        return copy;
    }

    /// <summary>A path is a bind of that host path; a bare name is a named volume under /var/lib/berth/volumes.</summary>
    private string VolumeSource(Config.VolumeMount v)
    {
        if (v.Source.StartsWith('/')) return v.Source;
        string data = Path.Combine(volumeBase, v.Source, "_data");
        Files.MakeDirectories(data, 0x1ed);
        return data;
    }
}
