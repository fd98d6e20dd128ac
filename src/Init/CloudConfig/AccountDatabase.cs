using System.Globalization;
using System.Text;

namespace Berth.Init.CloudConfig;

/// <summary>
/// /etc/passwd, /etc/group and /etc/shadow as lines, with the users of the config added or
/// updated. Pure text in, text out: the boot writes the result into the /etc overlay. An
/// account without a password hash is locked ("!"); root keeps the image's entry unless a hash is given.
/// </summary>
public sealed class AccountDatabase
{
    private sealed record Passwd(string Name, string Password, uint Uid, uint Gid, string Gecos, string Home, string Shell)
    {
        public override string ToString() => $"{Name}:{Password}:{Uid}:{Gid}:{Gecos}:{Home}:{Shell}";
    }

    private sealed record Group(string Name, string Password, uint Gid, List<string> Members)
    {
        public override string ToString() => $"{Name}:{Password}:{Gid}:{string.Join(',', Members)}";
    }

    private readonly List<Passwd> _passwd;
    private readonly List<Group> _group;
    private readonly List<string[]> _shadow;

    public AccountDatabase(string passwd, string group, string shadow)
    {
        _passwd = Lines(passwd).Select(f => f.Length >= 7 && uint.TryParse(f[2], out var u) && uint.TryParse(f[3], out var g)
            ? new Passwd(f[0], f[1], u, g, f[4], f[5], f[6]) : null).OfType<Passwd>().ToList();
        _group = Lines(group).Select(f => f.Length >= 3 && uint.TryParse(f[2], out var g)
            ? new Group(f[0], f[1], g, f.Length > 3 ? f[3].Split(',', StringSplitOptions.RemoveEmptyEntries).ToList() : new List<string>())
            : null).OfType<Group>().ToList();
        _shadow = Lines(shadow).Where(f => f.Length >= 2).ToList();
    }

    public static AccountDatabase Read(string etc)
    {
        string Text(string name) => File.Exists(Path.Combine(etc, name)) ? File.ReadAllText(Path.Combine(etc, name)) : "";
        return new AccountDatabase(Text("passwd"), Text("group"), Text("shadow"));
    }

    private static IEnumerable<string[]> Lines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#')).Select(l => l.Split(':'));

    public string PasswdText => string.Concat(_passwd.Select(p => p + "\n"));
    public string GroupText => string.Concat(_group.Select(g => g + "\n"));
    public string ShadowText => string.Concat(_shadow.Select(s => string.Join(':', s) + "\n"));

    public string? HomeOf(string user) => _passwd.FirstOrDefault(p => p.Name == user)?.Home;

    public bool TryUser(string name, out uint uid, out uint gid)
    {
        var p = _passwd.FirstOrDefault(p => p.Name == name)
            ?? (uint.TryParse(name, out var n) ? new Passwd(name, "", n, n, "", "", "") : null);
        (uid, gid) = p is null ? (0u, 0u) : (p.Uid, p.Gid);
        return p is not null;
    }

    /// <summary>"user", "user:group", numeric ids too.</summary>
    public bool TryOwner(string owner, out uint uid, out uint gid)
    {
        var parts = owner.Split(':', 2);
        if (!TryUser(parts[0], out uid, out gid)) return false;
        if (parts.Length == 1) return true;
        var g = _group.FirstOrDefault(g => g.Name == parts[1]);
        if (g is not null) gid = g.Gid;
        else if (uint.TryParse(parts[1], out var n)) gid = n;
        else return false;
        return true;
    }

    /// <summary>Adds or updates a user; returns a message when the entry cannot be applied.</summary>
    public string? Apply(UserAccount user, string defaultHomeRoot)
    {
        string name = user.Name.Value;
        if (name.Length == 0) return "no name";
        // A ':' or a newline in any field would split or add lines in /etc/passwd, /etc/group or /etc/shadow.
        foreach (var (what, value) in new[] { ("passwd", user.PasswordHash), ("gecos", user.Gecos), ("homedir", user.HomeDirectory), ("shell", user.Shell) })
            if (value is not null && value.IndexOfAny([':', '\n', '\r']) >= 0) return $"{what} must not contain ':' or a line break";
        if (user.Groups.FirstOrDefault(g => !ConfigValues.IsUserName(g)) is { } badGroup)
            return $"\"{badGroup}\" is not a valid group name";
        var existing = _passwd.FirstOrDefault(p => p.Name == name);
        if (existing is null)
        {
            uint uid = user.Uid is { } u ? (uint)u : NextFree(_passwd.Select(p => p.Uid));
            if (_passwd.Any(p => p.Uid == uid)) return $"uid {uid} is taken by \"{_passwd.First(p => p.Uid == uid).Name}\"";
            var primary = _group.FirstOrDefault(g => g.Name == name);
            if (primary is null)
            {
                uint gid = _group.Any(g => g.Gid == uid) ? NextFree(_group.Select(g => g.Gid)) : uid;
                primary = new Group(name, "x", gid, new List<string>());
                _group.Add(primary);
            }
            existing = new Passwd(name, "x", uid, primary.Gid, user.Gecos ?? "", user.HomeDirectory ?? $"{defaultHomeRoot}/{name}", user.Shell);
            _passwd.Add(existing);
        }
        else
        {
            int i = _passwd.IndexOf(existing);
            existing = existing with { Shell = user.Shell, Gecos = user.Gecos ?? existing.Gecos, Home = user.HomeDirectory ?? existing.Home };
            _passwd[i] = existing;
        }
        foreach (var groupName in user.Groups)
        {
            var g = _group.FirstOrDefault(g => g.Name == groupName);
            if (g is null)
            {
                g = new Group(groupName, "x", NextFree(_group.Select(x => x.Gid)), new List<string>());
                _group.Add(g);
            }
            if (!g.Members.Contains(name)) g.Members.Add(name);
        }
        SetPassword(name, user.PasswordHash, user.LockPassword, keepIfNoHash: name == "root");
        return null;
    }

    private void SetPassword(string name, string? hash, bool lockIt, bool keepIfNoHash)
    {
        var entry = _shadow.FirstOrDefault(s => s[0] == name);
        if (hash is null && entry is not null && (keepIfNoHash || !lockIt)) return;
        // lock_passwd: true with a hash keeps the hash but disables it, as usermod -L does.
        string field = hash is null ? "!" : lockIt ? "!" + hash : hash;
        if (entry is null)
        {
            string days = ((long)(DateTime.UtcNow - DateTime.UnixEpoch).TotalDays).ToString(CultureInfo.InvariantCulture);
            _shadow.Add([name, field, days, "0", "99999", "7", "", "", ""]);
        }
        else entry[1] = field;
    }

    /// <summary>Ordinary accounts start at 1000, as Debian's adduser.</summary>
    private static uint NextFree(IEnumerable<uint> taken)
    {
        var set = taken.ToHashSet();
        uint n = 1000;
        while (set.Contains(n)) n++;
        return n;
    }

    public override string ToString() => new StringBuilder().Append(PasswdText).Append(GroupText).ToString();
}
