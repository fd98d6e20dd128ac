using Berth.Runtime.Linux;

namespace Berth.Init.Api;

/// <summary>
/// Who may use the API: root, and members of the group berth, so an admin who logs in over ssh
/// runs `berth ps` without becoming root. SO_PEERCRED names only the primary gid; the
/// supplementary groups come from /proc/PID/status of the peer.
/// </summary>
public static class ApiAccess
{
    public const uint BerthGid = 990;

    public static bool Allowed(PeerCredentials peer) =>
        Allowed(peer.Uid, peer.Gid, ReadStatus(peer.Pid));

    public static bool Allowed(uint uid, uint gid, string? procStatus) =>
        uid == 0 || gid == BerthGid || SupplementaryGroups(procStatus).Contains(BerthGid);

    /// <summary>The "Groups:" line of /proc/PID/status.</summary>
    public static IReadOnlyList<uint> SupplementaryGroups(string? procStatus)
    {
        if (procStatus is null) return [];
        foreach (var line in procStatus.Split('\n'))
            if (line.StartsWith("Groups:", StringComparison.Ordinal))
                return line[7..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)
                    .Select(g => uint.TryParse(g, out var v) ? v : uint.MaxValue).Where(v => v != uint.MaxValue).ToList();
        return [];
    }

    private static string? ReadStatus(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/status"); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
