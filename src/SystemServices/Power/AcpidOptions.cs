using System.Globalization;
using static Berth.Runtime.Interop.Consts;

namespace Berth.SystemServices.Power;

/// <summary>acpid's settings, all from its command line.</summary>
public sealed record AcpidOptions
{
    public IReadOnlyList<string> Devices { get; init; } = [];
    public string SysfsInput { get; init; } = "/sys/class/input";
    public string ProcDevices { get; init; } = "/proc/bus/input/devices";
    public string DevInput { get; init; } = "/dev/input";
    public int TargetPid { get; init; } = 1;
    public int Signal { get; init; } = SIGUSR2;
    public TimeSpan Rescan { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Fall back to ACPI netlink events while no input device is found.</summary>
    public bool Netlink { get; init; } = true;

    public const string Usage = """
        usage: acpid [options]

          --device PATH        watch this event device (several allowed) instead of looking for "Power Button"
          --sysfs DIR          where to look for input devices (default /sys/class/input)
          --proc-devices FILE  the fallback list (default /proc/bus/input/devices)
          --dev-input DIR      where the event nodes are (default /dev/input)
          --pid N              who to ask for the poweroff (default 1, PID 1)
          --signal SIG         how: SIGUSR2 (PID 1's poweroff, default), SIGPWR, SIGTERM, or a number
          --rescan DUR         look again for devices (absent, or gone) this often (default 5s)
          --no-netlink         without an input device, do not fall back to ACPI netlink events
                               (generic netlink family acpi_event, device class button/power)

        A press of KEY_POWER (EV_KEY 116, value 1) sends the signal; presses within 2 s of the last
        request are not sent again. SIGTERM/SIGINT: exit 0.
        """;

    public static AcpidOptions FromArguments(IReadOnlyList<string> args)
    {
        var a = ServiceArguments.Parse(args, ["device", "sysfs", "proc-devices", "dev-input", "pid", "signal", "rescan"], ["no-netlink"]);
        var d = new AcpidOptions();
        var o = new AcpidOptions
        {
            Devices = a.Values("device"),
            SysfsInput = a.Value("sysfs", d.SysfsInput),
            ProcDevices = a.Value("proc-devices", d.ProcDevices),
            DevInput = a.Value("dev-input", d.DevInput),
            TargetPid = a.Int("pid", d.TargetPid, 1),
            Signal = a.Value("signal") is { } s ? ParseSignal(s) : d.Signal,
            Rescan = a.Duration("rescan", d.Rescan),
            Netlink = !a.Flag("no-netlink"),
        };
        if (o.Rescan <= TimeSpan.Zero) throw new UsageException("--rescan must be positive");
        return o;
    }

    public static int ParseSignal(string s) => s.ToUpperInvariant() switch
    {
        "SIGUSR2" or "USR2" => SIGUSR2,
        "SIGPWR" or "PWR" => SIGPWR,
        "SIGTERM" or "TERM" => SIGTERM,
        "SIGUSR1" or "USR1" => SIGUSR1,
        _ when int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n is > 0 and < 65 => n,
        _ => throw new UsageException($"--signal: '{s}' is not a signal"),
    };
}
