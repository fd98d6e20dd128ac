using System.Globalization;
using System.Text.RegularExpressions;

namespace Berth.Init.CloudConfig;

/// <summary>How scalar text reads as booleans, durations, sizes, modes and signals (compose's spellings).</summary>
public static partial class ConfigValues
{
    public static bool? Bool(string s) => s.ToLowerInvariant() switch
    {
        "true" or "yes" or "on" => true,
        "false" or "no" or "off" => false,
        _ => null,
    };

    public static long? Integer(string s) =>
        long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n) ? n : null;

    [GeneratedRegex(@"^(?:(\d+(?:\.\d+)?)(ms|us|s|m|h))+$")]
    private static partial Regex DurationPattern();

    [GeneratedRegex(@"(\d+(?:\.\d+)?)(ms|us|s|m|h)")]
    private static partial Regex DurationPart();

    /// <summary>"30s", "1m30s", "500ms", or a bare number of seconds.</summary>
    public static TimeSpan? Duration(string s)
    {
        if (long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out long seconds)) return TimeSpan.FromSeconds(seconds);
        if (!DurationPattern().IsMatch(s)) return null;
        double ms = 0;
        foreach (Match m in DurationPart().Matches(s))
        {
            double n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            ms += m.Groups[2].Value switch { "us" => n / 1000, "ms" => n, "s" => n * 1000, "m" => n * 60_000, _ => n * 3_600_000 };
        }
        return TimeSpan.FromMilliseconds(ms);
    }

    [GeneratedRegex(@"^(\d+)\s*([bkmg]?)b?$", RegexOptions.IgnoreCase)]
    private static partial Regex SizePattern();

    /// <summary>"512m", "1g", "65536" (bytes), as compose's mem_limit.</summary>
    public static long? Size(string s)
    {
        var m = SizePattern().Match(s);
        if (!m.Success || !long.TryParse(m.Groups[1].Value, CultureInfo.InvariantCulture, out long n)) return null;
        int shift = char.ToLowerInvariant(m.Groups[2].Value.FirstOrDefault('b')) switch { 'k' => 10, 'm' => 20, 'g' => 30, _ => 0 };
        return n > (long.MaxValue >> shift) ? null : n << shift;
    }

    [GeneratedRegex(@"^0?o?([0-7]{3,4})$")]
    private static partial Regex ModePattern();

    /// <summary>"0644", "644", "0o644".</summary>
    public static int? Mode(string s)
    {
        var m = ModePattern().Match(s);
        return m.Success ? Convert.ToInt32(m.Groups[1].Value, 8) : null;
    }

    public static double? Cpus(string s) =>
        double.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double d) && d > 0 && d <= 4096 ? d : null;

    private static readonly string[] SignalNames =
    [
        "", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE",
        "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ",
        "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
    ];

    /// <summary>"SIGTERM", "TERM" or "15".</summary>
    public static int? Signal(string s)
    {
        if (int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int n)) return n is >= 1 and <= 64 ? n : null;
        string name = s.ToUpperInvariant();
        if (name.StartsWith("SIG", StringComparison.Ordinal)) name = name[3..];
        int i = Array.IndexOf(SignalNames, name);
        return i > 0 ? i : null;
    }

    [GeneratedRegex(@"^[a-z0-9][a-z0-9_.-]{0,62}$")]
    public static partial Regex ServiceNamePattern();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*$")]
    public static partial Regex EnvironmentNamePattern();

    [GeneratedRegex(@"^[a-z0-9_-]+([./][a-z0-9_*-]+)+$")]
    public static partial Regex SysctlNamePattern();

    [GeneratedRegex(@"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")]
    public static partial Regex HostnamePattern();

    [GeneratedRegex(@"^[a-z_][a-z0-9_-]{0,31}\$?$")]
    public static partial Regex UserNamePattern();
}
