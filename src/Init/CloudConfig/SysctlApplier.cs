using Berth.Runtime.Linux;

namespace Berth.Init.CloudConfig;

/// <summary>berth.sysctl: each key written to /proc/sys (dots become slashes, as sysctl(8) does).</summary>
public static class SysctlApplier
{
    public static int Apply(IReadOnlyDictionary<string, Located<string>> sysctl, ApplyReport report, string procSys = "/proc/sys")
    {
        int applied = 0;
        foreach (var (key, value) in sysctl)
        {
            string path = Path.Combine(procSys, key.Replace('.', '/'));
            if (!File.Exists(path))
                report.Error(value.Position, $"berth.sysctl.{key}: this kernel has no {path}");
            else if (!PseudoFile.TryWrite(path, value.Value, out var error))
                report.Error(value.Position, $"berth.sysctl.{key}: writing \"{value.Value}\" to {path}: {error}");
            else applied++;
        }
        return applied;
    }
}
