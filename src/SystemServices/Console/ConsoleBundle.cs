using Berth.Runtime.Linux;
using Berth.Runtime.Oci;
using Berth.Runtime.Security;

namespace Berth.SystemServices.Console;

/// <summary>
/// The login console as an OCI bundle, RancherOS-style: a privileged container (every capability,
/// the host's pid, network, ipc and uts namespaces) in its own mount namespace, whose root is the
/// image's mount-point skeleton with the host's directories bound in. A person at the console
/// administers the machine, so it sees all of it; what it gains by being a container is that PID 1
/// supervises it like any other service and nothing it mounts leaks into PID 1's namespace.
/// The rootfs ships in the read-only root; config.json is written at boot because it names the
/// console tty, which comes from the kernel command line.
/// </summary>
public static class ConsoleBundle
{
    public const string Rootfs = "/usr/share/berth/services/console/rootfs";
    public const string Directory = "/run/berth/services/console";

    /// <summary>Top-level directories of the host bound into the console, when both exist.</summary>
    private static readonly string[] HostDirectories =
        ["bin", "sbin", "lib", "lib64", "usr", "etc", "var", "run", "tmp", "root", "home", "dev", "proc", "sys", "mnt", "boot"];

    public static RuntimeSpec Spec(string tty, string baud, string rootfs = Rootfs, string hostRoot = "/")
    {
        var getty = LoginConsole.Getty(tty, baud);
        var all = Capabilities.All;
        var mounts = HostDirectories
            .Where(d => System.IO.Directory.Exists(Path.Combine(hostRoot, d)) && System.IO.Directory.Exists(Path.Combine(rootfs, d)))
            .Select(d => new MountSpec { Destination = "/" + d, Type = "bind", Source = Path.Combine(hostRoot, d), Options = ["rbind", "rw"] })
            .ToList();
        return new RuntimeSpec
        {
            OciVersion = RuntimeSpec.Version,
            Root = new RootSpec { Path = rootfs, Readonly = false },
            Process = new ProcessSpec
            {
                Args = [getty.Executable, .. getty.Arguments],
                Env = [.. (getty.Environment ?? ProcessSpawner.DefaultEnvironment).Select(kv => $"{kv.Key}={kv.Value}")],
                Cwd = "/",
                Capabilities = new CapabilitiesSpec { Bounding = all, Effective = all, Permitted = all },
            },
            Mounts = mounts,
            Linux = new LinuxSpec
            {
                Namespaces = [new NamespaceSpec(NamespaceKind.Mount)],
                // Mounts the host makes later (a seed disk, STATE) must show in the console too.
                RootfsPropagation = "rslave",
            },
        };
    }

    /// <summary>Writes the bundle's config.json for this boot and returns the bundle directory.</summary>
    public static string Write(string tty, string baud, string directory = Directory)
    {
        System.IO.Directory.CreateDirectory(directory);
        Files.WriteAtomically(Path.Combine(directory, "config.json"), SpecWriter.ToUtf8(Spec(tty, baud)), 0x180, durable: false);
        return directory;
    }
}
