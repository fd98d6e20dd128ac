using Berth.Runtime.Linux;

namespace Berth.Init.Stage1;

/// <summary>A block device the kernel knows: its /dev node, GPT partition label and size.</summary>
public sealed record BlockDevice(string Name, string DevicePath, string? PartitionLabel, long SizeBytes);

/// <summary>
/// Finds partitions by GPT partition label (PARTNAME in /sys/class/block/*/uevent) without udev,
/// waiting for the disk driver to finish probing.
/// </summary>
public sealed class PartitionFinder
{
    private readonly string _sysClassBlock;

    public PartitionFinder(string sysClassBlock = "/sys/class/block") => _sysClassBlock = sysClassBlock;

    public IEnumerable<BlockDevice> Scan()
    {
        if (!Directory.Exists(_sysClassBlock)) yield break;
        foreach (var dir in Directory.EnumerateDirectories(_sysClassBlock))
        {
            var device = Describe(dir);
            if (device is not null) yield return device;
        }
    }

    public static BlockDevice? Describe(string sysDir)
    {
        var uevent = PseudoFile.TryRead(Path.Combine(sysDir, "uevent"));
        if (uevent is null) return null;
        string? devName = null, partName = null;
        foreach (var line in uevent.Split('\n'))
        {
            if (line.StartsWith("DEVNAME=", StringComparison.Ordinal)) devName = line[8..];
            else if (line.StartsWith("PARTNAME=", StringComparison.Ordinal)) partName = line[9..];
        }
        if (devName is null) return null;
        long sectors = long.TryParse(PseudoFile.TryRead(Path.Combine(sysDir, "size"))?.Trim(), out var s) ? s : 0;
        return new BlockDevice(Path.GetFileName(sysDir), "/dev/" + devName, partName, sectors * 512);
    }

    /// <summary>Waits until a partition labelled <paramref name="label"/> appears, or returns null at the deadline.</summary>
    public BlockDevice? WaitFor(string label, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var found = Scan().FirstOrDefault(d => d.PartitionLabel == label);
            if (found is not null && File.Exists(found.DevicePath)) return found;
            if (DateTime.UtcNow >= deadline) return null;
            Thread.Sleep(5);
        }
    }

    public string DescribeAll() =>
        string.Join(", ", Scan().Select(d => d.PartitionLabel is null ? d.Name : $"{d.Name} ({d.PartitionLabel})")) is { Length: > 0 } s
            ? s : "no block devices";
}
