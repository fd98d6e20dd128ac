using Berth.Init.Stage1;
using Berth.Runtime.Kernel;
using Berth.Runtime.Linux;
using Berth.Runtime.Storage;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Init.CloudConfig;

/// <summary>
/// cloud-init's NoCloud data source: a disk (or partition) whose vfat or iso9660 filesystem is
/// labelled "cidata", holding user-data and meta-data (what cloud-localds makes). Found by
/// probing superblocks under /sys/class/block, mounted read-only just long enough to copy the two
/// files to /run/berth/seed, where the loader and `berth config` read them.
/// </summary>
public static class NoCloudSeed
{
    public const string Label = "cidata";
    private const string MountPoint = "/run/berth/seed-mount";

    /// <summary>Berth's own GPT partitions: never the seed, so not worth a read at boot.</summary>
    private static readonly HashSet<string> OwnPartitions = ["bios", "esp", "berth-a", "berth-b", "berth-state"];

    public static (string Device, FilesystemInfo Filesystem)? Find(string sysClassBlock = "/sys/class/block")
    {
        foreach (var device in new PartitionFinder(sysClassBlock).Scan())
        {
            if (device.SizeBytes == 0 || device.Name.StartsWith("loop", StringComparison.Ordinal)
                || device.Name.StartsWith("ram", StringComparison.Ordinal)
                || (device.PartitionLabel is { } label && OwnPartitions.Contains(label))
                || IsPartitioned(sysClassBlock, device.Name)) continue;
            if (FilesystemProbe.Probe(device.DevicePath) is { } fs && string.Equals(fs.Label, Label, StringComparison.OrdinalIgnoreCase))
                return (device.DevicePath, fs);
        }
        return null;
    }

    /// <summary>
    /// modules.dep alone: enough for vfat's and isofs's dependencies, and it skips parsing the alias,
    /// builtin and softdep files on the boot path (a module that is built in is simply not found).
    /// </summary>
    private static ModuleLoader DependencyOnlyLoader()
    {
        string root = Path.Combine("/lib/modules", PseudoFile.Read("/proc/sys/kernel/osrelease").Trim());
        return new ModuleLoader(ModuleIndex.FromText(root, File.ReadAllText(Path.Combine(root, "modules.dep"))));
    }

    private static bool KernelHasFilesystem(string type) =>
        (PseudoFile.TryRead("/proc/filesystems") ?? "").Split('\n').Any(l => l.EndsWith("\t" + type, StringComparison.Ordinal));

    /// <summary>A disk with a partition table holds its filesystems in the partitions (sysfs lists them as vda1...).</summary>
    private static bool IsPartitioned(string sysClassBlock, string name)
    {
        try { return Directory.EnumerateDirectories(Path.Combine(sysClassBlock, name), name + "*").Any(); }
        catch (IOException) { return false; }
    }

    /// <summary>Copies the seed's files into <paramref name="seedDirectory"/>; returns the device, or null when there is no seed.</summary>
    public static string? CopyTo(string seedDirectory, Action<string> warn)
    {
        if (Find() is not { } seed) return null;
        string module = seed.Filesystem.Type == "vfat" ? "vfat" : "isofs";
        try
        {
            // Debian's vfat defaults: codepage 437, iocharset ascii (utf8 names need no module).
            var needed = seed.Filesystem.Type == "vfat" ? new[] { module, "nls_cp437", "nls_ascii" } : [module];
            var loader = KernelHasFilesystem(seed.Filesystem.Type) ? null : DependencyOnlyLoader();
            foreach (var m in loader is null ? [] : needed)
            {
                try { loader!.Load(m); }
                catch (ModuleNotFoundException) { /* built in, or not needed for this filesystem */ }
            }
        }
        catch (Exception e) when (e is IOException or ModuleNotFoundException) { warn($"cloud-config seed: loading {module}: {e.Message}"); }

        Files.MakeDirectories(MountPoint, 0x1c0);
        Mounts.Mount(seed.Device, MountPoint, seed.Filesystem.Type, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
        try
        {
            Files.MakeDirectories(seedDirectory, 0x1c0);
            foreach (var name in new[] { "user-data", "meta-data" })
            {
                string from = Path.Combine(MountPoint, name);
                if (!File.Exists(from)) continue;
                // One byte past the limit, so the loader still reports an oversized file as such.
                var bytes = ConfigSourceReader.ReadBounded(from);
                Files.WriteAtomically(Path.Combine(seedDirectory, name), bytes, 0x180);
            }
        }
        finally
        {
            try { Mounts.Unmount(MountPoint); }
            catch (SyscallException e) { warn($"cloud-config seed: {e.Message}"); }
        }
        return seed.Device;
    }
}
