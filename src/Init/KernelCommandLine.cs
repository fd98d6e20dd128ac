using System.Text;

namespace Berth.Init;

/// <summary>
/// The kernel command line, split as the kernel does (double quotes group words), with the
/// <c>berth.*</c> keys Berth understands. Unknown berth keys are reported as warnings, never fatal.
/// </summary>
public sealed class KernelCommandLine
{
    /// <summary>Keys this version understands, with what they mean (shown in warnings and docs).</summary>
    public static readonly IReadOnlyDictionary<string, string> KnownKeys = new Dictionary<string, string>
    {
        ["berth.slot"] = "A or B: the slot GRUB booted (set by grub.cfg)",
        ["berth.hostname"] = "hostname to set before services start",
        ["berth.on_ready"] = "poweroff|reboot|halt once boot is complete (benchmarks, tests)",
        ["berth.emergency"] = "1: stop in an emergency shell instead of booting (stage1|stage2)",
        ["berth.modules"] = "extra kernel modules to load in stage 1, comma separated",
        ["berth.state"] = "tmpfs: do not use the STATE partition",
        ["berth.device_timeout"] = "seconds to wait for the boot disk (default 10)",
        ["berth.shutdown_grace"] = "seconds between SIGTERM and SIGKILL at shutdown (default 5)",
        ["berth.trial"] = "set by GRUB on a trial boot of an upgraded slot: a boot failure reboots instead of stopping in the emergency shell",
        ["berth.services_timeout"] = "seconds the ready line waits for the system services to be running and healthy (default 60)",
        ["berth.health_timeout"] = "seconds a trial boot (A/B upgrade) has to become healthy before it is given up (default 120)",
        ["berth.health_settle"] = "seconds every service must run before a trial boot counts as healthy (default 5)",
        ["berth.debug"] = "1: log every step on the console",
        ["berth.fault_around_bytes"] = "pages mapped around a file page fault, in bytes (default 4096; 0 keeps the kernel's 65536)",
        ["berth.console"] = "tty for the login console (default: the last console= of the command line)",
    };

    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Words { get; }
    public IReadOnlyList<string> Warnings { get; }

    public KernelCommandLine(string text)
    {
        Words = Split(text);
        var warnings = new List<string>();
        foreach (var word in Words)
        {
            int eq = word.IndexOf('=');
            string key = eq < 0 ? word : word[..eq];
            string value = eq < 0 ? "" : word[(eq + 1)..];
            _values[key] = value; // the last occurrence wins, as for the kernel's own parameters
            // berth.<section>.<path> keys belong to cloud-config; only flat berth.* keys are ours here.
            if (key.StartsWith("berth.", StringComparison.Ordinal) && key.Count(c => c == '.') == 1
                && !KnownKeys.ContainsKey(key))
                warnings.Add($"unknown kernel argument '{key}' ignored (known: {string.Join(", ", KnownKeys.Keys)})");
        }
        Warnings = warnings;
    }

    public static KernelCommandLine FromProc() =>
        new(File.Exists("/proc/cmdline") ? File.ReadAllText("/proc/cmdline") : "");

    public string? Get(string key) => _values.TryGetValue(key, out var v) ? v : null;

    public bool Has(string key) => _values.ContainsKey(key);

    public bool Flag(string key) => Get(key) is "1" or "yes" or "true" or "";

    public int GetInt(string key, int fallback, List<string>? warnings = null)
    {
        var v = Get(key);
        if (v is null) return fallback;
        if (int.TryParse(v, out int n) && n >= 0) return n;
        warnings?.Add($"kernel argument {key}={v} is not a non-negative whole number; using {fallback}");
        return fallback;
    }

    /// <summary>All values given for console=, in order (the last one is /dev/console).</summary>
    public IEnumerable<string> Consoles() =>
        Words.Where(w => w.StartsWith("console=", StringComparison.Ordinal)).Select(w => w["console=".Length..]);

    public static List<string> Split(string text)
    {
        var words = new List<string>();
        var sb = new StringBuilder();
        bool quoted = false, any = false;
        foreach (char c in text)
        {
            if (c == '"') { quoted = !quoted; any = true; continue; }
            if (!quoted && char.IsWhiteSpace(c))
            {
                if (any) words.Add(sb.ToString());
                sb.Clear();
                any = false;
                continue;
            }
            sb.Append(c);
            any = true;
        }
        if (any) words.Add(sb.ToString());
        return words;
    }
}
