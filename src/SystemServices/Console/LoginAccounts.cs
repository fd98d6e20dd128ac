namespace Berth.SystemServices.Console;

/// <summary>A user as login needs it: from /etc/passwd, /etc/group and /etc/shadow, which PID 1 writes from cloud-config.</summary>
public sealed record LoginUser(string Name, uint Uid, uint Gid, string Home, string Shell, string? Hash, IReadOnlyList<uint> Groups);

public static class LoginAccounts
{
    public const string DefaultShell = "/bin/sh";

    /// <summary>The user <paramref name="name"/> from the three files' text; null when passwd does not name it.</summary>
    public static LoginUser? Find(string name, string passwd, string group, string shadow)
    {
        if (name.Length == 0 || name.Contains(':')) return null;
        var p = Fields(passwd).FirstOrDefault(f => f.Length >= 7 && f[0] == name);
        if (p is null || !uint.TryParse(p[2], out uint uid) || !uint.TryParse(p[3], out uint gid)) return null;
        // "x" points at shadow; anything else in passwd's field is the hash itself (old style).
        string? hash = p[1] == "x" ? Fields(shadow).FirstOrDefault(s => s.Length >= 2 && s[0] == name)?[1] : p[1];
        var groups = new List<uint> { gid };
        foreach (var g in Fields(group))
            if (g.Length >= 4 && uint.TryParse(g[2], out uint id) && g[3].Split(',').Contains(name) && !groups.Contains(id))
                groups.Add(id);
        return new LoginUser(name, uid, gid, p[5].Length > 0 ? p[5] : "/", p[6].Length > 0 ? p[6] : DefaultShell, hash, groups);
    }

    /// <summary>
    /// Whether <paramref name="password"/> logs <paramref name="user"/> in. An unknown user costs the
    /// same crypt(3) as a known one, so neither the answer nor its timing tells which part was wrong.
    /// </summary>
    public static bool Authenticate(LoginUser? user, string password)
    {
        const string Decoy = "$6$berthdecoysalt$Qbzc9m5L1xQ1m9uJ8h0c3yJw0k3b2iCq9p8v7o6n5m4l3k2j1i0h9g8f7e6d5c4b3a2Z1Y0X9W8V7U6T5S4R3";
        if (user?.Hash is not { } hash || !hash.StartsWith('$'))
        {
            Runtime.Linux.Accounts.PasswordMatches(password, Decoy);
            return false;
        }
        return Runtime.Linux.Accounts.PasswordMatches(password, hash);
    }

    /// <summary>The environment of the user's shell: nothing of getty's or PID 1's but TERM.</summary>
    public static Dictionary<string, string> Environment(LoginUser user, string? term) => new(StringComparer.Ordinal)
    {
        ["HOME"] = user.Home,
        ["USER"] = user.Name,
        ["LOGNAME"] = user.Name,
        ["SHELL"] = user.Shell,
        ["PATH"] = user.Uid == 0 ? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        ["TERM"] = string.IsNullOrEmpty(term) ? "vt100" : term,
    };

    private static IEnumerable<string[]> Fields(string text) =>
        text.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l.Split(':'));
}
