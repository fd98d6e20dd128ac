using Berth.Runtime.Linux;

namespace Berth.Runtime.Kernel;

/// <summary>A device the kernel found, with the MODALIAS its driver is matched by.</summary>
public readonly record struct PresentDevice(string Bus, string SysPath, string ModAlias);

/// <summary>
/// Loads the drivers of devices that are already present, by matching each device's MODALIAS
/// against modules.alias, as udev's coldplug does. A filter picks which devices to serve, so
/// stage 1 can load only the disk drivers it needs and leave the rest for later.
/// </summary>
public static class Coldplug
{
    public static IEnumerable<PresentDevice> Devices(string sysBus = "/sys/bus", params string[] buses)
    {
        if (!Directory.Exists(sysBus)) yield break;
        var busDirs = buses.Length > 0 ? buses.Select(b => Path.Combine(sysBus, b)) : Directory.EnumerateDirectories(sysBus);
        foreach (var bus in busDirs)
        {
            var devices = Path.Combine(bus, "devices");
            if (!Directory.Exists(devices)) continue;
            foreach (var device in Directory.EnumerateDirectories(devices).Order(StringComparer.Ordinal))
            {
                var alias = PseudoFile.TryRead(Path.Combine(device, "modalias"), 4096)?.Trim();
                if (!string.IsNullOrEmpty(alias)) yield return new PresentDevice(Path.GetFileName(bus), device, alias);
            }
        }
    }

    /// <summary>Loads the drivers for <paramref name="devices"/>; errors are collected, not thrown.</summary>
    public static IReadOnlyList<string> Load(ModuleLoader loader, IEnumerable<PresentDevice> devices, List<string> errors)
    {
        var loaded = new List<string>();
        var seen = new HashSet<string>();
        foreach (var device in devices)
            if (seen.Add(device.ModAlias))
                loaded.AddRange(loader.LoadForAlias(device.ModAlias, errors));
        return loaded;
    }

    /// <summary>
    /// The order stage 2 loads the remaining drivers in: devices on the virtio bus first (network,
    /// console ports, entropy: the services wait for them), PCI storage controllers last (stage 1
    /// already found the root; ahci with libata and scsi_mod is the costliest load under emulation),
    /// everything else in between, each group in the order found.
    /// </summary>
    public static IEnumerable<PresentDevice> ServicesFirst(IEnumerable<PresentDevice> devices) =>
        devices.OrderBy(d => d.Bus == "virtio" ? 0 : IsPciStorage(d) ? 2 : 1);

    /// <summary>Virtio devices on PCI: vendor 0x1AF4 (Red Hat / virtio).</summary>
    public static bool IsVirtioPci(PresentDevice d) => d.Bus == "pci" && d.ModAlias.StartsWith("pci:v00001AF4", StringComparison.Ordinal);

    /// <summary>PCI mass-storage controllers (base class 0x01: SCSI, IDE, SATA, NVMe, ...).</summary>
    public static bool IsPciStorage(PresentDevice d) => d.Bus == "pci" && d.ModAlias.Contains("bc01sc", StringComparison.Ordinal);
}
