namespace Berth.Runtime.Images;

/// <summary>
/// Lexical rules for paths inside an image (tar member names, hard-link targets, paths inside a
/// rootfs): the result is relative to the root, '/'-separated, without ".", ".." or empty
/// components, and "" is the root itself. Symlinks are not this class's business: the kernel
/// resolves those inside the root (see <see cref="ContainedRoot"/>).
/// </summary>
public static class ContainedPath
{
    /// <summary>
    /// Normalizes <paramref name="path"/>. A leading "/" (or "./") is dropped, as GNU tar does, so
    /// "/etc/x" means the rootfs's etc/x. Returns null, with the reason, when ".." would climb above the
    /// root or the name holds a NUL: no image tool writes such a name, so it is an attack, and
    /// unpacking it anywhere would be a guess.
    /// </summary>
    public static string? Normalize(string path, out string? reason)
    {
        reason = null;
        if (path.Contains('\0'))
        {
            reason = "the name contains a NUL byte";
            return null;
        }
        var parts = new List<string>();
        foreach (var part in path.Split('/'))
        {
            switch (part)
            {
                case "" or ".":
                    continue;
                case "..":
                    if (parts.Count == 0)
                    {
                        reason = "its \"..\" components lead outside the root filesystem";
                        return null;
                    }
                    parts.RemoveAt(parts.Count - 1);
                    continue;
                default:
                    parts.Add(part);
                    continue;
            }
        }
        return string.Join('/', parts);
    }

    /// <summary>The parent ("" for a top-level name) and the last component of a normalized, non-root path.</summary>
    public static (string Parent, string Name) Split(string relative)
    {
        int slash = relative.LastIndexOf('/');
        return slash < 0 ? ("", relative) : (relative[..slash], relative[(slash + 1)..]);
    }

    public static string Join(string parent, string name) => parent.Length == 0 ? name : parent + "/" + name;

    /// <summary>True when <paramref name="path"/> is <paramref name="ancestor"/> or lies below it.</summary>
    public static bool IsWithin(string path, string ancestor) =>
        ancestor.Length == 0 || path == ancestor
        || (path.Length > ancestor.Length && path[ancestor.Length] == '/' && path.StartsWith(ancestor, StringComparison.Ordinal));
}
