using Berth.Runtime.Oci;

namespace Berth.Runtime.Containers;

/// <summary>PROVISIONAL: replaced by the hooks branch.</summary>
public static class HookRunner
{
    public static void Run(string stage, IReadOnlyList<HookSpec> hooks, ContainerState state)
    {
        if (hooks.Count > 0) throw new NotSupportedException($"{stage} hooks are not supported yet");
    }

    public static IReadOnlyList<string> RunReportingFailures(string stage, IReadOnlyList<HookSpec> hooks, ContainerState state) =>
        hooks.Count > 0 ? [$"{stage} hooks are not supported yet"] : [];
}
