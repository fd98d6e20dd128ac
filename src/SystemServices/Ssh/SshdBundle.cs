using Berth.Runtime.Oci;
using Berth.SystemServices.Bundles;

namespace Berth.SystemServices.Ssh;

/// <summary>
/// sshd: Debian's dropbear in its own container on the host's network. It is privileged like the
/// console (the host's directories bound in, every capability): a person who logs in over ssh
/// administers the machine, and dropbear must read /etc/shadow, setuid to the user and open ptys.
/// Host keys live on STATE, made by dropbearkey on the first boot, so a reboot keeps them.
/// </summary>
public static class SshdBundle
{
    public const string KeyDirectory = "/var/lib/berth/ssh";
    public const string HostKey = KeyDirectory + "/dropbear_ed25519_host_key";
    public const string PidFile = "/run/berth/sshd.pid";

    /// <summary>dropbear's command line: foreground, log to stderr (the service log), key-only unless passwords are allowed.</summary>
    public static IReadOnlyList<string> DropbearArgs(int port, bool passwordLogin) =>
        ["/usr/sbin/dropbear", "-F", "-E", "-r", HostKey, "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
         "-P", PidFile, .. passwordLogin ? Array.Empty<string>() : ["-s"]];

    /// <summary>
    /// The shell step before dropbear: a key made once (0600, directory 0700), a stale pid file
    /// gone so the health check waits for this dropbear's listening socket.
    /// </summary>
    public static string Script(int port, bool passwordLogin) =>
        $"set -e; umask 077; mkdir -p {KeyDirectory}; rm -f {PidFile}; " +
        $"[ -s {HostKey} ] || /usr/bin/dropbearkey -t ed25519 -f {HostKey} >/dev/null; " +
        "exec " + string.Join(' ', DropbearArgs(port, passwordLogin));

    public static ServiceBundle For(int port, bool passwordLogin) => new()
    {
        Name = "sshd",
        Args = ["/bin/sh", "-c", Script(port, passwordLogin)],
        HostNamespaces = new HashSet<NamespaceKind> { NamespaceKind.Network, NamespaceKind.Uts },
        Capabilities = Runtime.Security.Capabilities.All,
        Privileged = true,
        HostDev = true,
    };
}
