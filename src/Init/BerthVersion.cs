namespace Berth.Init;

/// <summary>The OS version, from the image's os-release (stage 2) or the binary (stage 1).</summary>
public static class BerthVersion
{
    public static string Current
    {
        get
        {
            foreach (var path in new[] { "/etc/os-release", "/usr/lib/os-release" })
            {
                if (!File.Exists(path)) continue;
                foreach (var line in File.ReadLines(path))
                    if (line.StartsWith("VERSION_ID=", StringComparison.Ordinal))
                        return "berth " + line["VERSION_ID=".Length..].Trim('"');
            }
            return "berth " + (typeof(BerthVersion).Assembly.GetName().Version?.ToString(3) ?? "dev");
        }
    }
}
