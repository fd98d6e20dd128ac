using Berth.Runtime.Oci;
using Berth.SystemServices.Bundles;
using Berth.SystemServices.Console;

namespace Berth.Init.Stage2;

/// <summary>
/// The system services PID 1 starts at boot, each a container from its prebuilt bundle with only
/// what it needs: syslogd (/dev/log, /dev/kmsg, /var/log), netconf (the host's network,
/// CAP_NET_ADMIN), ntpd (CAP_SYS_TIME, after netconf), acpid (the host's PID 1 to signal, input
/// devices, ACPI netlink), devmgr (uevents: drivers, /dev nodes and /dev/disk links; the host's
/// network namespace and /dev, /sys writable), and the login console.
/// </summary>
public static class SystemServiceSet
{
    private static readonly HashSet<NamespaceKind> HostNet = [NamespaceKind.Network];

    /// <summary>What devmgr makes once the devices present at boot have their drivers, nodes and links.</summary>
    public const string DevmgrSettled = "/run/berth/devmgr.settled";

    /// <summary>Every system service by name: the built-in cloud-config declares them (see CloudConfig.BuiltInDefaults).</summary>
    public static readonly IReadOnlyList<string> Names = ["syslogd", "devmgr", "netconf", "ntpd", "acpid", "console", "sshd"];

    /// <summary>The health check command of a system service that has one.</summary>
    public static IReadOnlyList<string>? HealthCommand(string name) => name switch
    {
        "syslogd" => ["/bin/test", "-S", "/dev/log"],
        // Coldplug's events are handled: /dev and /dev/disk are there for whoever waits on devmgr.
        "devmgr" => ["/bin/test", "-f", DevmgrSettled],
        // dropbear writes its pid file once it listens; the start script removed any stale one.
        "sshd" => ["/bin/test", "-s", SystemServices.Ssh.SshdBundle.PidFile],
        _ => null,
    };

    public static IReadOnlyList<ServiceBundle> Daemons(IReadOnlyList<string> ntpServers, CloudConfig.SshSettings? ssh = null) =>
    [
        // devmgr first: its settle is the longest wait of the boot (the critical chain of `berth boot
        // timeline`), and the services start one after another. Nothing it logs is lost before
        // syslogd runs: its stderr goes to PID 1's pipe.
        new ServiceBundle
        {
            Name = "devmgr",
            Args = ["/usr/bin/devmgr", "--settled", DevmgrSettled],
            // The kernel multicasts uevents only in the initial network namespace; the nodes and
            // links go into the host's /dev; coldplug writes to /sys; drivers come from /lib/modules
            // (read-only, in the system binds).
            HostNamespaces = HostNet,
            HostDev = true,
            WritableSys = true,
            // CAP_SYS_RAWIO: the kernel takes firmware bytes (.../data of a fallback request) only with it.
            Capabilities = ["CAP_MKNOD", "CAP_SYS_MODULE", "CAP_CHOWN", "CAP_FOWNER", "CAP_DAC_OVERRIDE", "CAP_SYS_RAWIO"],
            // The operator's firmware on STATE, for the drivers that ask user space for theirs.
            Binds = [new("/run/berth", "/run/berth", Writable: true),
                     new(SystemServices.DeviceManager.FirmwareLoader.ExtraDirectory, SystemServices.DeviceManager.FirmwareLoader.ExtraDirectory)],
        },
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
        .. (ssh ?? new()) is { Enabled: true } s ? [SystemServices.Ssh.SshdBundle.For(s.Port, s.PasswordLogin)] : Array.Empty<ServiceBundle>(),
    ];

    /// <summary>The definitions for the supervisor, with their logs, dependencies and health checks.</summary>
    /// <summary>A system service whose image cloud-config replaced: that image mounted as its root, its process from the image unless a command was given.</summary>
    private static SystemServices.Bundles.ServiceBundle FromImage(SystemServices.Bundles.ServiceBundle b, CloudConfig.ServiceCatalog config, List<string> warnings)
    {
        var entry = config.Get(b.Name)!;
        var image = new UserServiceBundle(entry, config.EnvironmentFor(entry));
        var process = image.MountImage(warnings);
        return b with { ImageRootfs = image.Rootfs, Args = process.Args, Env = process.Env };
    }

    public static IReadOnlyList<ServiceDefinition> Definitions(IReadOnlyList<string> ntpServers, Action<string> warn,
        CloudConfig.ServiceCatalog? config = null, Action<string>? note = null, CloudConfig.SshSettings? ssh = null)
    {
        var list = new List<ServiceDefinition>();
        foreach (var daemon in Daemons(ntpServers, ssh))
        {
            if ((config is null ? daemon : ConfiguredServices.Customize(daemon, config, note ?? warn)) is not { } b) continue;
            if (b.Image is null && !Directory.Exists(b.Rootfs))
            {
                warn($"{b.Rootfs} is missing: {b.Name} does not run");
                continue;
            }
            var entry = config?.Get(b.Name);
            List<ServiceDependency> builtInDependencies = b.Name switch
            {
                "ntpd" => [new ServiceDependency("netconf")],
                "netconf" => [new ServiceDependency("syslogd")],
                "sshd" => [new ServiceDependency("netconf")],
                _ => [],
            };
            list.Add(new ServiceDefinition
            {
                Name = b.Name,
                Bundle = b.Image is null ? b.Write() : null,
                // Only what config can change goes in (the rest is this binary's own): no second
                // serialization of config.json at boot.
                Fingerprint = ConfiguredServices.Fingerprint(b, entry),
                PrepareBundle = b.Image is null ? null : warnings => FromImage(b, config!, warnings).Write(),
                Log = new ServiceLog(b.Name),
                Restart = entry is null ? RestartPolicy.Always : ConfiguredServices.RestartOf(entry),
                DependsOn = [.. builtInDependencies, .. entry is null ? [] : ConfiguredServices.DependenciesOf(entry)],
                StopSignal = entry?.StopSignal ?? 15,
                // The built-in defaults carry the health checks (CloudConfig.BuiltInDefaults); without a config, the same.
                Health = entry is not null ? ConfiguredServices.HealthOf(entry)
                    : HealthCommand(b.Name) is { } health ? new HealthCheck { Command = health, Interval = TimeSpan.FromMilliseconds(200), Retries = 50 }
                    : null,
            });
        }
        return list;
    }
}
