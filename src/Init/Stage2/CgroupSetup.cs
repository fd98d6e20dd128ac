using Berth.Runtime.Linux;

namespace Berth.Init.Stage2;

/// <summary>
/// Turns on every cgroup v2 controller for the children of the root cgroup, so services and
/// containers in their own cgroups can be limited. The root cgroup is exempt from the
/// no-internal-processes rule, so PID 1 can stay where it is.
/// </summary>
public static class CgroupSetup
{
    public const string Root = "/sys/fs/cgroup";

    public static IReadOnlyList<string> EnableControllers(Action<string> warn)
    {
        var available = PseudoFile.Read(Path.Combine(Root, "cgroup.controllers")).Split(' ',
            StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var enabled = new List<string>();
        foreach (var c in available)
        {
            // One write per controller: a controller that cannot be enabled must not block the others.
            if (PseudoFile.TryWrite(Path.Combine(Root, "cgroup.subtree_control"), "+" + c, out var error))
                enabled.Add(c);
            else warn($"cgroup controller {c} not enabled: {error}");
        }
        return enabled;
    }
}
