using Berth.Runtime.Interop;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Runtime.Linux;

/// <summary>Typed wrappers over mount(2), umount2(2), pivot_root, chroot and statfs.</summary>
public static class Mounts
{
    public static void Mount(string? source, string target, string? fsType, ulong flags = 0, string? data = null)
    {
        if (LibC.Mount(source, target, fsType, flags, data) != 0)
            throw SyscallException.Last($"mount {fsType ?? "(bind/move)"} {source ?? "none"} on", target);
    }

    /// <summary>Creates the mount point if needed, then mounts.</summary>
    public static void MountAt(string? source, string target, string? fsType, ulong flags = 0, string? data = null)
    {
        Files.MakeDirectories(target);
        Mount(source, target, fsType, flags, data);
    }

    public static void Move(string from, string to) => Mount(from, to, null, MS_MOVE);

    public static void Bind(string from, string to, bool recursive = false) =>
        Mount(from, to, null, MS_BIND | (recursive ? MS_REC : 0));

    public static void RemountReadOnly(string target) => Mount(null, target, null, MS_REMOUNT | MS_RDONLY);

    public static void Unmount(string target, int flags = 0)
    {
        if (LibC.Umount2(target, flags) != 0)
            throw SyscallException.Last("umount", target);
    }

    public static void Chroot(string path)
    {
        if (LibC.Chroot(path) != 0) throw SyscallException.Last("chroot", path);
    }

    public static void Chdir(string path)
    {
        if (LibC.Chdir(path) != 0) throw SyscallException.Last("chdir", path);
    }

    public static long FileSystemType(string path)
    {
        if (LibC.StatFs(path, out var buf) != 0) throw SyscallException.Last("statfs", path);
        return buf.Type;
    }

    public static bool IsReadOnly(string path)
    {
        if (LibC.StatFs(path, out var buf) != 0) throw SyscallException.Last("statfs", path);
        return (buf.Flags & 1) != 0; // ST_RDONLY
    }

    /// <summary>The mounts the kernel reports for this namespace, outermost first.</summary>
    public static IReadOnlyList<MountInfo> Table()
    {
        var list = new List<MountInfo>();
        string text = PseudoFile.Read("/proc/self/mountinfo", 1 << 20);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var info = MountInfo.Parse(line);
            if (info is not null) list.Add(info);
        }
        return list;
    }
}

/// <summary>One line of /proc/self/mountinfo.</summary>
public sealed record MountInfo(int Id, int ParentId, string MountPoint, string Options, string FsType, string Source)
{
    public static MountInfo? Parse(string line)
    {
        // 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
        var parts = line.Split(' ');
        int dash = Array.IndexOf(parts, "-");
        if (parts.Length < 7 || dash < 6 || dash + 2 >= parts.Length) return null;
        return new MountInfo(int.Parse(parts[0]), int.Parse(parts[1]), Unescape(parts[4]), parts[5],
            parts[dash + 1], Unescape(parts[dash + 2]));
    }

    private static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 3 < s.Length)
            {
                sb.Append((char)Convert.ToInt32(s.Substring(i + 1, 3), 8));
                i += 3;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }
}
