using Berth.Runtime.Kernel;

namespace Berth.SystemServices.DeviceManager;

/// <summary>The owner and mode a device node gets.</summary>
public readonly record struct NodePermissions(int Mode, uint Uid, uint Gid);

/// <summary>
/// Who may open which device, udev's 50-udev-default.rules cut down to the groups Berth's
/// /etc/group has (tty 5, disk 6, kvm 36): the first rule whose subsystem and name match wins,
/// and anything unknown stays root's alone (0600), as devtmpfs makes it.
/// </summary>
public static class DeviceNodePolicy
{
    public const uint Tty = 5, Disk = 6, Kvm = 36;

    /// <summary>One rule: a subsystem (null: any) and an fnmatch pattern over the node's name under /dev.</summary>
    public sealed record Rule(string? Subsystem, string Name, NodePermissions Permissions);

    public static readonly NodePermissions Default = new(0x180 /* 0600 */, 0, 0);

    public static readonly IReadOnlyList<Rule> Rules =
    [
        // Everyone's: reading zeros and randomness, writing to nowhere, and one's own terminal.
        new("mem", "null", new(0x1b6 /* 0666 */, 0, 0)),
        new("mem", "zero", new(0x1b6, 0, 0)),
        new("mem", "full", new(0x1b6, 0, 0)),
        new("mem", "random", new(0x1b6, 0, 0)),
        new("mem", "urandom", new(0x1b6, 0, 0)),
        new("tty", "tty", new(0x1b6, 0, Tty)),
        new("tty", "ptmx", new(0x1b6, 0, Tty)),
        new(null, "net/tun", new(0x1b6, 0, 0)),
        new(null, "fuse", new(0x1b6, 0, 0)),
        new(null, "kvm", new(0x1b0 /* 0660 */, 0, Kvm)),
        new(null, "vhost-net", new(0x1b0, 0, Kvm)),
        new(null, "vhost-vsock", new(0x1b0, 0, Kvm)),
        // kmem's raw memory and the console's messages are root's.
        new("mem", "*", new(0x1a0 /* 0640 */, 0, 0)),
        new("tty", "console", Default),
        // Virtual consoles: the owner writes, the tty group (write(1), wall) may too.
        new("tty", "tty[0-9]*", new(0x190 /* 0620 */, 0, Tty)),
        new("tty", "ttyS*", new(0x1b0, 0, Tty)),
        new("tty", "hvc*", new(0x1b0, 0, Tty)),
        new("vc", "vcs*", new(0x1b0, 0, Tty)),
        new("block", "*", new(0x1b0, 0, Disk)),
        new("misc", "loop-control", new(0x1b0, 0, Disk)),
        new("scsi_generic", "*", new(0x1b0, 0, Disk)),
        new("bsg", "*", new(0x1b0, 0, Disk)),
    ];

    /// <summary>
    /// The first matching rule; without one, the mode the driver asked devtmpfs for (DEVMODE: uinput,
    /// uhid...) or <see cref="Default"/>.
    /// </summary>
    public static NodePermissions For(string? subsystem, string devName, int? driverMode = null)
    {
        foreach (var rule in Rules)
            if ((rule.Subsystem is null || rule.Subsystem == subsystem) && Glob.Match(rule.Name, devName))
                return rule.Permissions;
        return driverMode is { } mode ? Default with { Mode = mode & 0xfff } : Default;
    }
}
