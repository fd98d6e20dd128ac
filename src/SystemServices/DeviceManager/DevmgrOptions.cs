namespace Berth.SystemServices.DeviceManager;

/// <summary>devmgr's settings, all from its command line.</summary>
public sealed record DevmgrOptions
{
    public string Sys { get; init; } = "/sys";
    public string Dev { get; init; } = "/dev";
    public string Modules { get; init; } = "/lib/modules";
    public string Settled { get; init; } = "/run/berth/devmgr.settled";
    /// <summary>The extra firmware directory (firmware_class.path); empty: leave the kernel's setting alone.</summary>
    public string Firmware { get; init; } = FirmwareLoader.ExtraDirectory;
    public TimeSpan SettleTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public bool LoadModules { get; init; } = true;
    public bool Coldplug { get; init; } = true;
    /// <summary>Replay every device, not only those with a node or a driver to load (other uevent listeners).</summary>
    public bool TriggerAll { get; init; }
    /// <summary>Exit once settled (tests, a one-shot population of /dev).</summary>
    public bool Once { get; init; }
    public bool Verbose { get; init; }

    public const string Usage = """
        usage: devmgr [options]

          --sys DIR             sysfs (default /sys)
          --dev DIR             where device nodes and /dev/disk links go (default /dev)
          --modules DIR         the kernel module trees (default /lib/modules; the running kernel's is used)
          --settled FILE        made once coldplug's events are handled (default /run/berth/devmgr.settled)
          --firmware DIR        extra firmware directory, searched first by the kernel (firmware_class.path)
                                and for fallback requests (default /var/lib/berth/firmware; "" leaves it)
          --settle-timeout DUR  at most this long for coldplug's events (default 10s); then sysfs is read instead
          --no-modules          do not load drivers by MODALIAS
          --no-coldplug         do not ask the kernel to replay the present devices' add events
          --trigger-all         replay every device's add event, not only those with a node or a modalias
          --once                exit once settled
          --verbose             log every node and module, not only the links and a summary

        Listens for kernel uevents (netlink, NETLINK_KOBJECT_UEVENT group 1): loads the driver of a
        new device (modules.alias), sets owner and mode of its node (made when /dev is not devtmpfs,
        removed with the device), keeps /dev/disk/by-label, by-uuid and by-partlabel, and answers
        firmware requests from DIR and /lib/firmware.
        SIGTERM/SIGINT: exit 0.
        """;

    public static DevmgrOptions FromArguments(IReadOnlyList<string> args)
    {
        var a = ServiceArguments.Parse(args, ["sys", "dev", "modules", "settled", "settle-timeout", "firmware"], ["no-modules", "no-coldplug", "trigger-all", "once", "verbose"]);
        var d = new DevmgrOptions();
        var o = new DevmgrOptions
        {
            Sys = a.Value("sys", d.Sys),
            Dev = a.Value("dev", d.Dev),
            Modules = a.Value("modules", d.Modules),
            Settled = a.Value("settled", d.Settled),
            Firmware = a.Value("firmware", d.Firmware),
            SettleTimeout = a.Duration("settle-timeout", d.SettleTimeout),
            LoadModules = !a.Flag("no-modules"),
            Coldplug = !a.Flag("no-coldplug"),
            TriggerAll = a.Flag("trigger-all"),
            Once = a.Flag("once"),
            Verbose = a.Flag("verbose"),
        };
        if (o.SettleTimeout <= TimeSpan.Zero) throw new UsageException("--settle-timeout must be positive");
        return o;
    }
}
