using System.Globalization;

namespace Berth.SystemServices;

/// <summary>A command line that is wrong: the service prints it with its usage and exits 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// GNU-style long options (<c>--name value</c>, <c>--name=value</c>, flags), the whole command-line
/// surface of a system service: the supervisor passes paths and settings this way, no config file.
/// </summary>
public sealed class ServiceArguments
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    private ServiceArguments() { }

    public static ServiceArguments Parse(IReadOnlyList<string> args, IEnumerable<string> valueOptions, IEnumerable<string> flagOptions)
    {
        var valued = new HashSet<string>(valueOptions, StringComparer.Ordinal);
        var flags = new HashSet<string>(flagOptions, StringComparer.Ordinal);
        var parsed = new ServiceArguments();
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal)) throw new UsageException($"unexpected argument '{arg}'");
            string name = arg[2..];
            string? value = null;
            int eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0) (name, value) = (name[..eq], name[(eq + 1)..]);
            if (flags.Contains(name))
            {
                if (value is not null) throw new UsageException($"--{name} takes no value");
                parsed._flags.Add(name);
                continue;
            }
            if (!valued.Contains(name)) throw new UsageException($"unknown option --{name}");
            if (value is null)
            {
                if (i + 1 >= args.Count) throw new UsageException($"--{name} needs a value");
                value = args[++i];
            }
            if (!parsed._values.TryGetValue(name, out var list)) parsed._values[name] = list = new List<string>();
            list.Add(value);
        }
        return parsed;
    }

    public bool Flag(string name) => _flags.Contains(name);

    public IReadOnlyList<string> Values(string name) => _values.TryGetValue(name, out var v) ? v : [];

    /// <summary>The last occurrence wins, as with most daemons.</summary>
    public string? Value(string name) => _values.TryGetValue(name, out var v) ? v[^1] : null;

    public string Value(string name, string fallback) => Value(name) ?? fallback;

    public int Int(string name, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        string? s = Value(name);
        if (s is null) return fallback;
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min || v > max)
            throw new UsageException($"--{name}: '{s}' is not a whole number in {min}..{max}");
        return v;
    }

    /// <summary>Seconds, with an optional unit: 500ms, 2s, 5m, 1h.</summary>
    public TimeSpan Duration(string name, TimeSpan fallback)
    {
        string? s = Value(name);
        if (s is null) return fallback;
        return ParseDuration(s) ?? throw new UsageException($"--{name}: '{s}' is not a duration (e.g. 500ms, 2s, 5m)");
    }

    /// <summary>Bytes, with an optional binary unit: 512K, 1M, 2G (KiB, MiB, GiB).</summary>
    public long Size(string name, long fallback)
    {
        string? s = Value(name);
        if (s is null) return fallback;
        return ParseSize(s) ?? throw new UsageException($"--{name}: '{s}' is not a size (e.g. 512K, 1M)");
    }

    public static TimeSpan? ParseDuration(string s)
    {
        (string number, double scale) = s switch
        {
            _ when s.EndsWith("ms", StringComparison.Ordinal) => (s[..^2], 0.001),
            _ when s.EndsWith('s') => (s[..^1], 1.0),
            _ when s.EndsWith('m') => (s[..^1], 60.0),
            _ when s.EndsWith('h') => (s[..^1], 3600.0),
            _ => (s, 1.0),
        };
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || v < 0 || double.IsInfinity(v))
            return null;
        return TimeSpan.FromSeconds(v * scale);
    }

    public static long? ParseSize(string s)
    {
        string t = s.Trim();
        if (t.EndsWith("iB", StringComparison.OrdinalIgnoreCase)) t = t[..^2];
        else if (t.EndsWith('B') || t.EndsWith('b')) t = t[..^1];
        long scale = 1;
        if (t.Length > 0)
        {
            switch (char.ToUpperInvariant(t[^1]))
            {
                case 'K': scale = 1L << 10; t = t[..^1]; break;
                case 'M': scale = 1L << 20; t = t[..^1]; break;
                case 'G': scale = 1L << 30; t = t[..^1]; break;
            }
        }
        if (!long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out long v)) return null;
        return checked(v * scale);
    }
}
