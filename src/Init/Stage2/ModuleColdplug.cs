using Berth.Runtime.Kernel;
using Berth.Runtime.Linux;

namespace Berth.Init.Stage2;

/// <summary>
/// Loads the driver of every device already present (those stage 1 did not need), by matching
/// each device's MODALIAS against modules.alias, as udev's coldplug does.
/// </summary>
public static class ModuleColdplug
{
    public static IReadOnlyList<string> Run(ModuleLoader loader, List<string> errors)
    {
        var loaded = new List<string>();
        var aliases = new HashSet<string>();
        if (!Directory.Exists("/sys/bus")) return loaded;
        foreach (var bus in Directory.EnumerateDirectories("/sys/bus"))
        {
            var devices = Path.Combine(bus, "devices");
            if (!Directory.Exists(devices)) continue;
            foreach (var device in Directory.EnumerateDirectories(devices))
            {
                var alias = PseudoFile.TryRead(Path.Combine(device, "modalias"), 4096)?.Trim();
                if (!string.IsNullOrEmpty(alias) && aliases.Add(alias))
                    loaded.AddRange(loader.LoadForAlias(alias, errors));
            }
        }
        return loaded;
    }
}
