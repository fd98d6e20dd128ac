using System.Globalization;
using System.Text;

namespace Berth.Runtime.Images;

/// <summary>The identity a container's process runs as, resolved from an image's <c>User</c>.</summary>
/// <param name="Home">The passwd entry's home directory; null when the user has no entry.</param>
public sealed record ContainerUser(uint Uid, uint Gid, IReadOnlyList<uint> AdditionalGids, string? Name, string? Home)
{
    /// <summary>passwd and group files bigger than this are refused rather than read.</summary>
    public const long MaxDatabaseSize = 4 << 20;

    /// <summary>
    /// Resolves <paramref name="spec"/> (<c>user</c>, <c>uid</c>, <c>user:group</c>, <c>uid:gid</c>, any
    /// mix; empty means root) against the rootfs's own /etc/passwd and /etc/group, read through
    /// <see cref="ContainedRoot"/> so that a symlinked /etc/passwd cannot make Berth read the host's.
    /// The rules are runc's (libcontainer/user.GetExecUser), which umoci and Docker share:
    /// a name must exist; a number need not; without an explicit group the primary gid is the passwd
    /// entry's and the additional gids are the groups that list the user as a member; with an
    /// explicit group there are no additional gids.
    /// </summary>
    public static ContainerUser Resolve(string? spec, ContainedRoot rootfs)
    {
        string? passwd = ReadText(rootfs, "etc/passwd");
        string? group = ReadText(rootfs, "etc/group");
        return Resolve(spec, passwd, group, rootfs.Display("etc/passwd"), rootfs.Display("etc/group"));
    }

    private static string? ReadText(ContainedRoot rootfs, string relative) =>
        rootfs.ReadFile(relative, MaxDatabaseSize) is { } bytes ? Encoding.UTF8.GetString(bytes) : null;

    /// <param name="passwd">The passwd file's text, or null when the image has none.</param>
    /// <param name="passwdPath">Names the passwd file in errors (likewise <paramref name="groupPath"/>).</param>
    public static ContainerUser Resolve(string? spec, string? passwd, string? group, string passwdPath, string groupPath)
    {
        spec = spec?.Trim() ?? "";
        int colon = spec.IndexOf(':');
        string userArg = colon < 0 ? spec : spec[..colon];
        string groupArg = colon < 0 ? "" : spec[(colon + 1)..];
        if (userArg.Length == 0) userArg = "0";

        bool userIsNumber = TryId(userArg, out uint uidArg);
        var entry = Entries(passwd).FirstOrDefault(f =>
            userIsNumber ? TryId(f[2], out uint u) && u == uidArg : f[0] == userArg);

        uint uid, gid = 0;
        string? name = null;
        string? home = null;
        if (entry is not null && TryId(entry[2], out uid) && TryId(entry[3], out gid))
        {
            name = entry[0];
            home = entry[5].Length > 0 ? entry[5] : "/";
        }
        else if (userIsNumber)
        {
            uid = uidArg;
        }
        else
        {
            throw new ImageException(passwd is null
                ? $"user \"{userArg}\" cannot be resolved: the image has no {passwdPath}"
                : $"user \"{userArg}\" is not in {passwdPath}");
        }

        var additional = new List<uint>();
        if (groupArg.Length > 0)
        {
            bool groupIsNumber = TryId(groupArg, out uint gidArg);
            var match = Entries(group).FirstOrDefault(f =>
                groupIsNumber ? TryId(f[2], out uint g) && g == gidArg : f[0] == groupArg);
            if (match is not null && TryId(match[2], out uint matched)) gid = matched;
            else if (groupIsNumber) gid = gidArg;
            else
                throw new ImageException(group is null
                    ? $"group \"{groupArg}\" cannot be resolved: the image has no {groupPath}"
                    : $"group \"{groupArg}\" is not in {groupPath}");
        }
        else if (name is not null)
        {
            foreach (var f in Entries(group))
                if (f[3].Split(',').Any(member => member.Trim() == name) && TryId(f[2], out uint g) && !additional.Contains(g))
                    additional.Add(g);
        }
        return new ContainerUser(uid, gid, additional, name, home);
    }

    /// <summary>The colon-separated lines of a passwd or group file, padded to 7 fields; lines without an id are skipped.</summary>
    private static IEnumerable<string[]> Entries(string? text)
    {
        if (text is null) yield break;
        foreach (var raw in text.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#') continue;
            var f = line.Split(':');
            if (f.Length < 3) continue;
            if (f.Length < 7) f = [.. f, .. Enumerable.Repeat("", 7 - f.Length)];
            yield return f;
        }
    }

    private static bool TryId(string text, out uint id) =>
        uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out id) && id != uint.MaxValue;
}
