using System.Globalization;

namespace Berth.Init.CloudConfig;

/// <summary>How scalar text reads as booleans, durations, sizes, modes and signals (compose's spellings).</summary>
public static class ConfigValues
{
    public static bool? Bool(string s) => s.ToLowerInvariant() switch
    {
        "true" or "yes" or "on" => true,
        "false" or "no" or "off" => false,
        _ => null,
    };

    public static long? Integer(string s) =>
        long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n) ? n : null;

    /// <summary>"30s", "1m30s", "500ms", or a bare number of seconds.</summary>
    public static TimeSpan? Duration(string s)
    {
        if (long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out long seconds)) return TimeSpan.FromSeconds(seconds);
        double ms = 0;
        int i = 0;
        if (s.Length == 0) return null;
        while (i < s.Length)
        {
            int start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.')) i++;
            if (i == start || !double.TryParse(s.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double n))
                return null;
            int unit = i;
            while (i < s.Length && char.IsAsciiLetterLower(s[i])) i++;
            double scale = s[unit..i] switch { "us" => 0.001, "ms" => 1, "s" => 1000, "m" => 60_000, "h" => 3_600_000, _ => -1 };
            if (scale < 0) return null;
            ms += n * scale;
        }
        return ms > TimeSpan.MaxValue.TotalMilliseconds ? null : TimeSpan.FromMilliseconds(ms);
    }

    /// <summary>"512m", "1g", "512mb", "65536" (bytes), as compose's mem_limit.</summary>
    public static long? Size(string s)
    {
        var t = s.Trim().ToLowerInvariant();
        if (t.EndsWith('b')) t = t[..^1];
        int shift = t.Length > 0 ? t[^1] switch { 'k' => 10, 'm' => 20, 'g' => 30, _ => 0 } : 0;
        if (shift > 0) t = t[..^1].TrimEnd();
        if (t.Length == 0 || !t.All(Digit) || !long.TryParse(t, CultureInfo.InvariantCulture, out long n)) return null;
        return n > (long.MaxValue >> shift) ? null : n << shift;
    }

    /// <summary>"0644", "644", "0o644", "01777".</summary>
    public static int? Mode(string s)
    {
        var t = s.StartsWith("0o", StringComparison.Ordinal) ? s[2..] : s;
        if (t.Length is < 3 or > 5 || !t.All(c => c is >= '0' and <= '7') || (t.Length == 5 && t[0] != '0')) return null;
        return Convert.ToInt32(t, 8);
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

    private static bool Lower(char c) => c is >= 'a' and <= 'z';
    private static bool Digit(char c) => c is >= '0' and <= '9';
    private static bool Alnum(char c) => Lower(c) || Digit(c) || c is >= 'A' and <= 'Z';

    /// <summary>Lowercase letters, digits, '_', '.', '-'; starts with a letter or digit; at most 63 characters.</summary>
    public static bool IsServiceName(string s) =>
        s.Length is > 0 and <= 63 && (Lower(s[0]) || Digit(s[0])) && s.All(c => Lower(c) || Digit(c) || c is '_' or '.' or '-');

    public static bool IsEnvironmentName(string s) =>
        s.Length > 0 && !Digit(s[0]) && s.All(c => Alnum(c) || c == '_');

    /// <summary>At least two components of [a-z0-9_-] separated by '.' or '/' ('*' allowed after the first).</summary>
    public static bool IsSysctlName(string s)
    {
        var parts = s.Split('.', '/');
        return parts.Length >= 2 && parts.All(p => p.Length > 0)
            && parts[0].All(c => Lower(c) || Digit(c) || c is '_' or '-')
            && parts.Skip(1).All(p => p.All(c => Lower(c) || Digit(c) || c is '_' or '-' or '*'));
    }

    /// <summary>RFC 1123 labels: letters, digits and '-' (not at either end), separated by dots.</summary>
    public static bool IsHostname(string s) =>
        s.Length is > 0 and <= 64 && s.Split('.').All(l => l.Length is > 0 and <= 63 && Alnum(l[0]) && Alnum(l[^1]) && l.All(c => Alnum(c) || c == '-'));

    /// <summary>As Debian's adduser: [a-z_][a-z0-9_-]*, at most 32 characters, an optional trailing '$'.</summary>
    public static bool IsUserName(string s)
    {
        var t = s.EndsWith('$') ? s[..^1] : s;
        return t.Length is > 0 and <= 32 && (Lower(t[0]) || t[0] == '_') && t.All(c => Lower(c) || Digit(c) || c is '_' or '-');
    }
}
