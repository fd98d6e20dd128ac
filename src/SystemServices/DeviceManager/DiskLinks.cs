using Berth.Runtime.Linux;
using Berth.Runtime.Storage;
using static Berth.Runtime.Interop.Consts;

namespace Berth.SystemServices.DeviceManager;

/// <summary>
/// /dev/disk/by-label, by-uuid and by-partlabel: relative symlinks ("../../vda5") to block
/// devices, made from what the probe reads and the kernel's PARTNAME; with sysfs at hand, by-path
/// and by-id for virtio and NVMe disks too (<see cref="LinkNames.ForHardware"/>, <see cref="LinkNames.ForNvme"/>). All are removed with their
/// device. When two devices claim one name the one seen last has it, and gets it back only if
/// it is seen again; a link is only ever removed by the device it points to.
/// </summary>
public sealed class DiskLinks(string devRoot, Func<string, VolumeInfo?> probe, string? sysRoot = null)
{
    private readonly Dictionary<string, IReadOnlyList<string>> _byDevice = new(StringComparer.Ordinal);

    /// <summary>The links the device named <paramref name="devName"/> has now (relative to /dev).</summary>
    public IReadOnlyList<string> LinksOf(string devName) => _byDevice.GetValueOrDefault(devName) ?? [];

    /// <summary>Applies a block device's event; returns what changed, for the log.</summary>
    public IReadOnlyList<string> Apply(Uevent e)
    {
        var changes = new List<string>();
        if (e.Subsystem != "block" || e.DevName is null) return changes;
        string target = Path.Combine(devRoot, e.DevName);
        IReadOnlyList<string> want = [];
        if (e.Action is "add" or "change" or "move")
        {
            var volume = probe(target);
            want = LinkNames.For(volume?.Label is { Length: > 0 } l ? l : null, volume?.Uuid, e.PartName);
            // sysfs is read only for virtio and NVMe disks: the only ones named by path and id here.
            if (sysRoot is not null && LinkNames.PciFunctionOfVirtio(e.DevPath) is not null)
            {
                int? partition = PartitionOf(e);
                want = [.. want, .. LinkNames.ForHardware(e.DevPath, SerialOf(e, partition), partition)];
            }
            else if (sysRoot is not null && LinkNames.PciFunctionOfNvme(e.DevPath) is not null
                     && LinkNames.NvmeControllerPath(e.DevPath) is { } controller)
                want = [.. want, .. NvmeLinks(e, controller)];
        }
        else if (e.Action != "remove") return changes;
        var dropped = LinksOf(e.DevName).Except(want).ToList();
        if (want.Count == 0) _byDevice.Remove(e.DevName);
        else _byDevice[e.DevName] = want;
        foreach (var old in dropped)
        {
            if (!RemoveIfOurs(old, e.DevName)) continue;
            // Another device with the same label keeps the name.
            var heir = _byDevice.FirstOrDefault(d => d.Value.Contains(old)).Key;
            if (heir is not null && Point(old, heir)) changes.Add($"/dev/{old} -> {heir}");
            else changes.Add($"removed /dev/{old}");
        }
        foreach (var link in want)
            if (Point(link, e.DevName)) changes.Add($"/dev/{link} -> {e.DevName}");
        return changes;
    }

    /// <summary>An NVMe namespace's names from sysfs: model and serial of its controller, nsid and wwid of the namespace.</summary>
    private IReadOnlyList<string> NvmeLinks(Uevent e, string controller)
    {
        int? partition = PartitionOf(e);
        string ns = sysRoot + (partition is null ? e.DevPath : Path.GetDirectoryName(e.DevPath)!);
        string? Read(string path) => PseudoFile.TryRead(path)?.Trim();
        int? nsid = int.TryParse(Read(Path.Combine(ns, "nsid")), System.Globalization.NumberStyles.None,
            System.Globalization.CultureInfo.InvariantCulture, out int id) ? id : null;
        return LinkNames.ForNvme(e.DevPath, Read(sysRoot + controller + "/model"), Read(sysRoot + controller + "/serial"),
            Read(Path.Combine(ns, "wwid")), nsid, partition);
    }

    /// <summary>The disk's serial (sysfs "serial" of the disk, the parent of a partition).</summary>
    private string? SerialOf(Uevent e, int? partition)
    {
        string dir = sysRoot + e.DevPath;
        if (partition is not null) dir = Path.GetDirectoryName(dir)!;
        return PseudoFile.TryRead(Path.Combine(dir, "serial"))?.Trim();
    }

    private int? PartitionOf(Uevent e)
    {
        string? n = e.Environment.GetValueOrDefault("PARTN")
                    ?? (e.DevType == "partition" ? PseudoFile.TryRead(sysRoot + e.DevPath + "/partition")?.Trim() : null);
        return int.TryParse(n, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int p) ? p : null;
    }

    /// <summary>"../../vda5" from /dev/disk/by-label/X: the link still resolves when /dev is bound elsewhere.</summary>
    public static string RelativeTarget(string link, string devName)
    {
        int depth = link.Count(c => c == '/');
        return string.Concat(Enumerable.Repeat("../", depth)) + devName;
    }

    private bool Point(string link, string devName)
    {
        string path = Path.Combine(devRoot, link);
        string target = RelativeTarget(link, devName);
        if (ReadLink(path) == target) return false;
        Files.MakeDirectories(Path.GetDirectoryName(path)!);
        // A new link beside, renamed over the old one: no moment without a link.
        string temp = path + ".devmgr-new";
        try { Files.Unlink(temp); } catch (SyscallException x) when (x.Errno == ENOENT) { }
        Files.Symlink(target, temp);
        File.Move(temp, path, overwrite: true);
        return true;
    }

    private bool RemoveIfOurs(string link, string devName)
    {
        string path = Path.Combine(devRoot, link);
        if (ReadLink(path) != RelativeTarget(link, devName)) return false;
        try { Files.Unlink(path); }
        catch (SyscallException x) when (x.Errno == ENOENT) { return false; }
        return true;
    }

    private static string? ReadLink(string path)
    {
        try { return new FileInfo(path).LinkTarget; }
        catch (IOException) { return null; }
    }
}
