using Berth.Runtime.Oci;

namespace Berth.Runtime.Containers;

/// <summary>
/// Where in the unified hierarchy a container's cgroup goes, from linux.cgroupsPath. The result is
/// always absolute within the hierarchy ("/berth/web"), normalized, and never climbs above its root.
/// </summary>
public static class CgroupPath
{
    /// <summary>The directory of the containers that do not say where they go; the runtime owns it and removes it when empty.</summary>
    public const string DefaultParent = "/berth";

    private const string JsonPath = "$.linux.cgroupsPath";

    /// <param name="cgroupsPath">linux.cgroupsPath as written, or null.</param>
    /// <param name="ownCgroup">The runtime's own cgroup (the "0::" line of /proc/self/cgroup).</param>
    /// <remarks>
    /// A relative path goes under the parent of the runtime's own cgroup, as runc does for a
    /// .scope: the runtime's cgroup holds processes, so by the no-internal-processes rule its
    /// children could not get controllers. At the root (which is exempt) it goes under the root.
    /// </remarks>
    public static string Resolve(string? cgroupsPath, string id, string ownCgroup, string source)
    {
        if (string.IsNullOrEmpty(cgroupsPath)) return DefaultParent + "/" + id;
        if (!cgroupsPath.StartsWith('/') && cgroupsPath.Count(c => c == ':') == 2)
            throw new SpecException(source, JsonPath,
                $"\"{cgroupsPath}\" is systemd's slice:prefix:name form, and Berth has no systemd: give a path such as \"/berth/{id}\"");
        var parts = cgroupsPath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        foreach (var p in parts)
            if (p is "." or "..")
                throw new SpecException(source, JsonPath, $"\"{cgroupsPath}\": \"{p}\" is not allowed in a cgroup path");
        if (parts.Length == 0)
            throw new SpecException(source, JsonPath, $"\"{cgroupsPath}\" is the root of the hierarchy: a container needs a cgroup of its own");
        if (cgroupsPath.StartsWith('/')) return "/" + string.Join('/', parts);
        string parent = ParentOf(ownCgroup);
        return (parent == "/" ? "" : parent) + "/" + string.Join('/', parts);
    }

    public static string ParentOf(string cgroup)
    {
        string trimmed = cgroup.TrimEnd('/');
        int slash = trimmed.LastIndexOf('/');
        return slash <= 0 ? "/" : trimmed[..slash];
    }

    /// <summary>The cgroup of the "0::PATH" line of a /proc/PID/cgroup text, or null on a host without the unified hierarchy.</summary>
    public static string? UnifiedLine(string procCgroup)
    {
        foreach (var line in procCgroup.Split('\n'))
            if (line.StartsWith("0::", StringComparison.Ordinal)) return line[3..].Trim();
        return null;
    }
}
