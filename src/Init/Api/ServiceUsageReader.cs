using System.Globalization;
using Berth.Init.Stage2;
using Berth.Runtime.Containers;
using Berth.Runtime.Linux;

namespace Berth.Init.Api;

/// <summary>What `berth top` shows of a service: its cgroup's cpu.stat and memory.current, or its process's /proc figures.</summary>
public static class ServiceUsageReader
{
    private static readonly ContainerStore Store = new(ContainerStore.DefaultRoot);

    public static ServiceUsage Read(ServiceStatus s)
    {
        if (s.Pid == 0) return new ServiceUsage(s.Name, 0, 0, 0, "-");
        string? cgroup = s.Kind == "container" ? CgroupOf(s.Name) : null;
        if (cgroup is not null && Directory.Exists(cgroup))
        {
            long cpu = Field(PseudoFile.TryRead(Path.Combine(cgroup, "cpu.stat")), "usage_usec");
            long memory = Number(PseudoFile.TryRead(Path.Combine(cgroup, "memory.current")));
            int procs = (PseudoFile.TryRead(Path.Combine(cgroup, "cgroup.procs")) ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
            return new ServiceUsage(s.Name, cpu, memory, procs, "cgroup " + cgroup);
        }
        // A plain process (or a container without a cgroup): its own utime+stime and RSS.
        var stat = PseudoFile.TryRead($"/proc/{s.Pid}/stat");
        long ticks = 0;
        if (stat is not null)
        {
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (fields.Length > 12) ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }
        long rss = Field(PseudoFile.TryRead($"/proc/{s.Pid}/status"), "VmRSS:") * 1024;
        return new ServiceUsage(s.Name, ticks * 10_000 /* USER_HZ 100 */, rss, 1, $"process {s.Pid}");
    }

    private static string? CgroupOf(string id)
    {
        try { return Store.Load(id).Cgroup; }
        catch (Exception e) when (e is RuntimeException or IOException) { return null; }
    }

    private static long Number(string? text) =>
        long.TryParse(text?.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v : 0;

    /// <summary>The number after a key in "key value" lines (cpu.stat, /proc/PID/status).</summary>
    internal static long Field(string? text, string key)
    {
        foreach (var line in (text ?? "").Split('\n'))
            if (line.StartsWith(key, StringComparison.Ordinal))
                return Number(line[key.Length..].Trim().Split(' ')[0]);
        return 0;
    }
}
