using System.Globalization;
using Berth.Runtime.Linux;

namespace Berth.Runtime.Containers;

/// <summary>What memory.events says of a container the kernel's OOM killer hit: read before its cgroup goes.</summary>
public sealed record OomReport(long OomKills, long? MemoryMax)
{
    /// <summary>null when the cgroup has no memory controller or nothing in it was OOM-killed.</summary>
    public static OomReport? Read(string? cgroup)
    {
        if (cgroup is null) return null;
        var events = PseudoFile.TryRead(Path.Combine(cgroup, "memory.events"));
        long kills = events is null ? 0 : CgroupHierarchy.KeyedValue(events, "oom_kill") ?? 0;
        if (kills <= 0) return null;
        var max = PseudoFile.TryRead(Path.Combine(cgroup, "memory.max"))?.Trim();
        return new OomReport(kills, long.TryParse(max, NumberStyles.None, CultureInfo.InvariantCulture, out long m) ? m : null);
    }

    public string Message(string id) =>
        $"container \"{id}\" was OOM-killed (memory.max {(MemoryMax is { } m ? $"{m} bytes" : "max")}, oom_kill {OomKills})";
}
