using Berth.Runtime.Linux;

namespace Berth.Init.Stage2;

/// <summary>
/// Once the machine is ready, gives back the code pages that only boot needed: stage 2 runs the
/// cloud-config parser, the bundle writers and coldplug once, and their pages of /usr/bin/berth
/// would otherwise stay mapped in PID 1 for the machine's life. Pages a service maps too stay
/// (MADV_PAGEOUT skips shared pages), so this frees memory rather than moving it; a page PID 1
/// needs again is read back from the root filesystem's page cache or the disk.
/// </summary>
public static class BootCodePageOut
{
    /// <summary>Returns a line for the boot log: how much of PID 1's RSS was given back, or why not.</summary>
    public static string Run()
    {
        long before = ResidentKiB();
        int failed = 0;
        string? firstError = null;
        foreach (var mapping in ProcessMemory.FileMappings(ProcessMemory.Parse(File.ReadAllText("/proc/self/maps"))))
        {
            try { ProcessMemory.PageOut(mapping); }
            catch (SyscallException e) { failed++; firstError ??= e.Message; }
        }
        long after = ResidentKiB();
        return firstError is null
            ? $"boot code paged out: PID 1 RSS {before} -> {after} KiB"
            : $"boot code paged out: PID 1 RSS {before} -> {after} KiB; {failed} mapping(s) refused: {firstError}";
    }

    private static long ResidentKiB() => Api.ServiceUsageReader.Field(PseudoFile.TryRead("/proc/self/status"), "VmRSS:");
}
