using System.Text.Json;
using Berth.Init.Stage1;
using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Init.Upgrade;

/// <summary>The machine's slots: partitions berth-a and berth-b, and the one that booted.</summary>
public sealed class SlotLayout
{
    public const string BootedSlotFile = "/run/berth/slot";

    public char Booted { get; }
    private readonly Dictionary<char, BlockDevice> _devices = new();

    public SlotLayout(char booted, IEnumerable<BlockDevice> devices)
    {
        Booted = booted;
        foreach (var d in devices)
            if (d.PartitionLabel is "berth-a" or "berth-b") _devices[char.ToUpperInvariant(d.PartitionLabel[^1])] = d;
    }

    public static SlotLayout ForSystem(PartitionFinder? finder = null)
    {
        string? slot = File.Exists(BootedSlotFile) ? File.ReadAllText(BootedSlotFile).Trim() : null;
        slot ??= KernelCommandLine.FromProc().Get("berth.slot");
        if (slot is not ("A" or "B")) throw new BundleException($"cannot tell which slot booted ({BootedSlotFile} and berth.slot missing)");
        return new SlotLayout(slot[0], (finder ?? new PartitionFinder()).Scan());
    }

    public BlockDevice Device(char slot) => _devices.TryGetValue(slot, out var d) ? d
        : throw new BundleException($"no partition labelled 'berth-{char.ToLowerInvariant(slot)}' for slot {slot}");

    /// <summary>The version in a slot: the running os-release for the booted one, else read from its squashfs.</summary>
    public string VersionOf(char slot)
    {
        if (slot == Booted) return OsRelease.VersionId("/etc/os-release") ?? "unknown";
        var device = Device(slot);
        string mountPoint = "/run/berth/upgrade/inspect-" + char.ToLowerInvariant(slot);
        try
        {
            Files.MakeDirectories(mountPoint);
            Mounts.Mount(device.DevicePath, mountPoint, "squashfs", MS_RDONLY | MS_NODEV | MS_NOSUID | MS_NOEXEC | MS_SILENT);
        }
        catch (SyscallException) { return "unreadable (no squashfs: never written, or written only in part)"; }
        // A slot cut off mid-write can carry a whole superblock and directory table over blocks that
        // were never written: it mounts, and reading a file gives EIO.
        try { return OsRelease.VersionId(mountPoint + "/etc/os-release") ?? "unknown (no VERSION_ID)"; }
        catch (IOException e) { return $"unreadable (the squashfs mounts but {e.Message.Trim()}: written only in part)"; }
        finally { try { Mounts.Unmount(mountPoint, MNT_DETACH); } catch (SyscallException) { } }
    }
}

public static class OsRelease
{
    public static string? VersionId(string path)
    {
        if (!File.Exists(path)) return null;
        foreach (var line in File.ReadLines(path))
            if (line.StartsWith("VERSION_ID=", StringComparison.Ordinal)) return line["VERSION_ID=".Length..].Trim('"');
        return null;
    }
}

/// <summary>The last upgrade attempt, on STATE (survives reboots and fallbacks).</summary>
public static class UpgradeHistory
{
    public const string Directory = "/var/lib/berth/upgrade";
    public static string LastPath => Path.Combine(Directory, "last.json");

    public static UpgradeRecord? Last()
    {
        try
        {
            return File.Exists(LastPath)
                ? JsonSerializer.Deserialize(File.ReadAllBytes(LastPath), UpgradeJsonContext.Default.UpgradeRecord)
                : null;
        }
        catch (Exception e) when (e is JsonException or IOException) { return null; }
    }

    public static void Save(UpgradeRecord record)
    {
        record.Time = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        Files.MakeDirectories(Directory);
        Files.WriteAtomically(LastPath, JsonSerializer.SerializeToUtf8Bytes(record, UpgradeJsonContext.Default.UpgradeRecord));
    }

    public static void TrySave(UpgradeRecord record, Action<string> warn)
    {
        try { Save(record); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { warn($"cannot record the upgrade on STATE: {e.Message}"); }
    }
}
