using System.Globalization;
using System.Text;

namespace Berth.SystemServices.DeviceManager;

/// <summary>
/// One kobject uevent: what the kernel multicasts on NETLINK_KOBJECT_UEVENT
/// ("ACTION@DEVPATH\0KEY=VALUE\0..."), or what a device's sysfs uevent file holds (KEY=VALUE lines).
/// </summary>
public sealed record Uevent
{
    public required string Action { get; init; }
    /// <summary>The device's path under /sys ("/devices/pci0000:00/.../block/vda/vda5").</summary>
    public required string DevPath { get; init; }
    public string? Subsystem { get; init; }
    /// <summary>The node's name under /dev as the kernel names it ("vda5", "input/event0").</summary>
    public string? DevName { get; init; }
    public string? DevType { get; init; }
    public int? Major { get; init; }
    public int? Minor { get; init; }
    public string? ModAlias { get; init; }
    public string? PartName { get; init; }
    public ulong? SeqNum { get; init; }
    /// <summary>devtmpfs's mode for the node (DEVMODE, octal), when the driver asks for one.</summary>
    public int? DevMode { get; init; }
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    public bool HasNode => DevName is not null && Major is not null && Minor is not null;
}

/// <summary>Parses uevents; malformed input gives null, never an exception (the input is the kernel's, but sysfs files can be anything).</summary>
public static class UeventParser
{
    /// <summary>A netlink datagram. libudev's re-broadcasts ("libudev\0" + header) are not kernel events and give null.</summary>
    public static Uevent? ParseDatagram(ReadOnlySpan<byte> datagram)
    {
        if (datagram.StartsWith("libudev\0"u8)) return null;
        var fields = new List<string>();
        while (datagram.Length > 0)
        {
            int nul = datagram.IndexOf((byte)0);
            var field = nul < 0 ? datagram : datagram[..nul];
            if (field.Length > 0) fields.Add(Encoding.UTF8.GetString(field));
            if (nul < 0) break;
            datagram = datagram[(nul + 1)..];
        }
        if (fields.Count == 0) return null;
        // The header "add@/devices/..." repeats ACTION and DEVPATH; the fields are what count.
        int at = fields[0].IndexOf('@');
        if (at <= 0 || fields[0].Contains('=')) return null;
        return Build(fields.Skip(1), fields[0][..at], fields[0][(at + 1)..]);
    }

    /// <summary>
    /// A sysfs uevent file, which has neither ACTION nor DEVPATH: they come from the caller (the
    /// device's directory relative to /sys, and the action coldplug replays).
    /// </summary>
    public static Uevent? ParseSysfs(string text, string action, string devPath, string? subsystem) =>
        Build(text.Split('\n', StringSplitOptions.RemoveEmptyEntries), action, devPath, subsystem);

    private static Uevent? Build(IEnumerable<string> fields, string? action, string? devPath, string? subsystem = null)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in fields)
        {
            int eq = f.IndexOf('=');
            if (eq <= 0) continue;
            env[f[..eq]] = f[(eq + 1)..];
        }
        action = env.GetValueOrDefault("ACTION") ?? action;
        devPath = env.GetValueOrDefault("DEVPATH") ?? devPath;
        if (string.IsNullOrEmpty(action) || string.IsNullOrEmpty(devPath) || !devPath.StartsWith('/')) return null;
        string? devName = env.GetValueOrDefault("DEVNAME");
        // A name that climbs out of /dev is not one to create.
        if (devName is not null && (devName.Length == 0 || devName.StartsWith('/') || devName.Split('/').Contains("..")))
            devName = null;
        return new Uevent
        {
            Action = action,
            DevPath = devPath,
            Subsystem = env.GetValueOrDefault("SUBSYSTEM") ?? subsystem,
            DevName = devName,
            DevType = env.GetValueOrDefault("DEVTYPE"),
            Major = Int(env.GetValueOrDefault("MAJOR")),
            Minor = Int(env.GetValueOrDefault("MINOR")),
            ModAlias = env.GetValueOrDefault("MODALIAS") is { Length: > 0 } m ? m : null,
            PartName = env.GetValueOrDefault("PARTNAME") is { Length: > 0 } p ? p : null,
            SeqNum = ulong.TryParse(env.GetValueOrDefault("SEQNUM"), NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : null,
            DevMode = env.GetValueOrDefault("DEVMODE") is { } dm && TryOctal(dm, out int mode) ? mode : null,
            Environment = env,
        };
    }

    private static int? Int(string? s) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : null;

    private static bool TryOctal(string s, out int value)
    {
        value = 0;
        if (s.Length is 0 or > 6) return false;
        foreach (char c in s)
        {
            if (c is < '0' or > '7') return false;
            value = value * 8 + (c - '0');
        }
        return true;
    }
}
