using System.Globalization;

namespace Berth.SystemServices.Network;

/// <summary>Network interfaces as sysfs shows them (/sys/class/net of the caller's namespace).</summary>
public static class EthernetInterfaces
{
    private const int ArphrdEther = 1;

    /// <summary>
    /// The first ethernet interface by name: hardware ones (with a device link) before virtual ones
    /// (veth, bridges), which a container host may have in numbers.
    /// </summary>
    public static string? First(string sysClassNet = "/sys/class/net")
    {
        if (!Directory.Exists(sysClassNet)) return null;
        return Directory.EnumerateDirectories(sysClassNet)
            .Select(d => (Path: d, Name: Path.GetFileName(d)))
            .Where(i => i.Name != "lo" && ReadInt(Path.Combine(i.Path, "type")) == ArphrdEther
                && !Directory.Exists(Path.Combine(i.Path, "bridge")))
            .OrderBy(i => Directory.Exists(Path.Combine(i.Path, "device")) ? 0 : 1)
            .ThenBy(i => i.Name, StringComparer.Ordinal)
            .Select(i => i.Name)
            .FirstOrDefault();
    }

    public static byte[] HardwareAddress(string name, string sysClassNet = "/sys/class/net")
    {
        string text = File.ReadAllText(Path.Combine(sysClassNet, name, "address")).Trim();
        return text.Split(':').Select(h => byte.Parse(h, NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToArray();
    }

    private static int? ReadInt(string path)
    {
        try { return int.Parse(File.ReadAllText(path).Trim(), CultureInfo.InvariantCulture); }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException) { return null; }
    }
}
