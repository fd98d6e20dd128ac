using Berth.Runtime.Oci;

namespace Berth.Runtime.Containers;

/// <summary>PROVISIONAL until the cgroups branch lands: the container's cgroup, opened for clone3.</summary>
internal sealed class CgroupPlacement : IDisposable
{
    public required string Path { get; init; }
    public int DirectoryFd { get; init; } = -1;

    public static CgroupPlacement? Create(RuntimeSpec spec, string id, string source, Action<string> warn) => null;

    public static void Remove(string? path, Action<string> warn) { }

    public static IReadOnlyList<int> Processes(string path) => [];

    public void Dispose() { }
}
