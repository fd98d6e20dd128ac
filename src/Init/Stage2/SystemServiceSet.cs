using Berth.Runtime.Oci;
using Berth.SystemServices.Bundles;
using Berth.SystemServices.Console;

namespace Berth.Init.Stage2;

/// <summary>
/// The system services PID 1 starts at boot, each a container from its prebuilt bundle with only
/// what it needs: syslogd (/dev/log, /dev/kmsg, /var/log), netconf (the host's network,
/// CAP_NET_ADMIN), ntpd (CAP_SYS_TIME, after netconf), acpid (the host's PID 1 to signal, input
/// devices, ACPI netlink), and the login console.
/// </summary>
public static class SystemServiceSet
{
    private static readonly HashSet<NamespaceKind> HostNet = [NamespaceKind.Network];

    public static IReadOnlyList<ServiceBundle> Daemons(IReadOnlyList<string> ntpServers) =>
    [
        new ServiceBundle
        {
            Name = "syslogd",
            Args = ["/usr/bin/syslogd", "--socket", "/dev/log", "--kmsg", "/dev/kmsg", "--out", "/var/log/messages",
                    "--max-size", "1M", "--rotate", "5", "--stream", "/run/berth/syslog.stream"],
            // Remote forwarding needs the host's network; /dev/kmsg needs CAP_SYSLOG (dmesg_restrict).
            HostNamespaces = HostNet,
            HostDev = true,
            Capabilities = ["CAP_SYSLOG", "CAP_DAC_OVERRIDE"],
            Binds = [new("/var/log", "/var/log", Writable: true), new("/run/berth", "/run/berth", Writable: true)],
        },
        new ServiceBundle
        {
            Name = "netconf",
            Args = ["/usr/bin/netconf", "--resolv-conf", "/run/resolv.conf", "--status", "/run/berth/netconf.status"],
            HostNamespaces = HostNet,
            Capabilities = ["CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_NET_BIND_SERVICE"],
            Binds = [new("/run", "/run", Writable: true)],
        },
        new ServiceBundle
        {
            Name = "ntpd",
            Args = ["/usr/bin/ntpd", .. ntpServers.SelectMany(s => new[] { "--server", s })],
            HostNamespaces = HostNet,
            Capabilities = ["CAP_SYS_TIME"],
            // /run whole: netconf replaces /run/resolv.conf by rename, which a file bind would not follow.
            Binds = [new("/run", "/run", Writable: true)],
        },
        new ServiceBundle
        {
            Name = "acpid",
            Args = ["/usr/bin/acpid"],
            // It signals the host's PID 1, reads input devices, and ACPI's netlink family is the host's only.
            HostNamespaces = new HashSet<NamespaceKind> { NamespaceKind.Pid, NamespaceKind.Network },
            HostDev = true,
            Capabilities = ["CAP_KILL"],
        },
    ];

    /// <summary>The definitions for the supervisor, with their logs, dependencies and health checks.</summary>
    public static IReadOnlyList<ServiceDefinition> Definitions(IReadOnlyList<string> ntpServers, Action<string> warn)
    {
        var list = new List<ServiceDefinition>();
        foreach (var b in Daemons(ntpServers))
        {
            if (!Directory.Exists(b.Rootfs))
            {
                warn($"{b.Rootfs} is missing: {b.Name} does not run");
                continue;
            }
            list.Add(new ServiceDefinition
            {
                Name = b.Name,
                Bundle = b.Write(),
                Log = new ServiceLog(b.Name),
                DependsOn = b.Name switch
                {
                    "ntpd" => [new ServiceDependency("netconf")],
                    "netconf" => [new ServiceDependency("syslogd")],
                    _ => [],
                },
                Health = b.Name == "syslogd"
                    ? new HealthCheck { Command = ["/bin/test", "-S", "/dev/log"], Interval = TimeSpan.FromMilliseconds(200), Retries = 50 }
                    : null,
            });
        }
        return list;
    }
}
