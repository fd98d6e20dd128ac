using Berth.Runtime.Interop;
using Berth.Runtime.Linux;

namespace Berth.Runtime.Containers;

/// <summary>
/// The cgroup v2 (unified) hierarchy of this machine: /sys/fs/cgroup on a pure v2 host such as the
/// Berth guest, /sys/fs/cgroup/unified on a hybrid one (v1 controllers, v2 for process tracking only).
/// </summary>
public sealed class CgroupHierarchy(string mount)
{
    public static readonly IReadOnlyList<string> Candidates = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"];

    /// <summary>Where the cgroup2 filesystem is mounted.</summary>
    public string Mount { get; } = mount;

    /// <summary>The first candidate that is a cgroup2 mount (by statfs magic, not by name), or null.</summary>
    public static CgroupHierarchy? Find()
    {
        foreach (var path in Candidates)
        {
            if (LibC.StatFs(path, out var fs) == 0 && fs.Type == Consts.CGROUP2_SUPER_MAGIC)
                return new CgroupHierarchy(path);
        }
        return null;
    }

    /// <summary>The directory of a cgroup given as a path within the hierarchy ("/berth/web").</summary>
    public string DirectoryOf(string cgroup) => cgroup == "/" ? Mount : Mount + cgroup;

    /// <summary>The runtime's own cgroup, "/" when /proc/self/cgroup has no unified line.</summary>
    public static string OwnCgroup() => CgroupPath.UnifiedLine(PseudoFile.TryRead("/proc/self/cgroup") ?? "") ?? "/";

    /// <summary>A space-separated list file such as cgroup.controllers or cgroup.subtree_control; empty if unreadable.</summary>
    public static IReadOnlyList<string> ReadList(string dir, string file) =>
        (PseudoFile.TryRead(Path.Combine(dir, file)) ?? "").Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries);

    public static IReadOnlyList<string> Controllers(string dir) => ReadList(dir, "cgroup.controllers");

    /// <summary>The processes of a cgroup and of every cgroup below it (a container may make its own).</summary>
    public static IReadOnlyList<int> Processes(string dir)
    {
        var pids = new List<int>();
        Collect(dir, pids);
        return pids;
    }

    private static void Collect(string dir, List<int> pids)
    {
        foreach (var p in ReadList(dir, "cgroup.procs"))
            if (int.TryParse(p, out int pid)) pids.Add(pid);
        foreach (var sub in SubCgroups(dir)) Collect(sub, pids);
    }

    public static IEnumerable<string> SubCgroups(string dir)
    {
        try { return Directory.GetDirectories(dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
    }

    /// <summary>The "populated" key of cgroup.events: true while any process is in the cgroup or below; null if unreadable.</summary>
    public static bool? Populated(string dir)
    {
        var text = PseudoFile.TryRead(Path.Combine(dir, "cgroup.events"));
        if (text is null) return null;
        return KeyedValue(text, "populated") is { } v ? v != 0 : null;
    }

    /// <summary>A value of a flat-keyed file ("key value" lines: cgroup.events, memory.events, cpu.stat).</summary>
    public static long? KeyedValue(string text, string key)
    {
        foreach (var line in text.Split('\n'))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && parts[0] == key && long.TryParse(parts[1], out long v)) return v;
        }
        return null;
    }
}
