using Berth.Runtime.Oci;
using Berth.SystemServices.Bundles;

namespace Berth.SystemServices.Console;

/// <summary>
/// The login console as a bundle, RancherOS-style: a privileged container (every capability, the
/// host's pid, network, ipc and uts namespaces) in its own mount namespace, with the host's
/// directories bound in. A person at the console administers the machine, so it sees all of it;
/// what it gains by being a container is that PID 1 supervises it like any other service and
/// nothing it mounts leaks into PID 1's namespace.
/// </summary>
public static class ConsoleBundle
{
    public static ServiceBundle For(string tty, string baud, string? autologin = null, string name = "console")
    {
        var getty = LoginConsole.Getty(tty, baud, autologin);
        return new ServiceBundle
        {
            Name = name,
            RootfsOf = "console",
            Args = [getty.Executable, .. getty.Arguments],
            Env = [.. (getty.Environment ?? Runtime.Linux.ProcessSpawner.DefaultEnvironment).Select(kv => $"{kv.Key}={kv.Value}")],
            Capabilities = Runtime.Security.Capabilities.All,
            HostNamespaces = new HashSet<NamespaceKind> { NamespaceKind.Pid, NamespaceKind.Network, NamespaceKind.Ipc, NamespaceKind.Uts },
            Privileged = true,
            HostDev = true,
        };
    }
}
