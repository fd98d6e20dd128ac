using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Runtime.Images;

/// <summary>Whole-tree operations on directories that hold unpacked images.</summary>
public static class DirectoryTree
{
    /// <summary>
    /// Removes <paramref name="path"/> and everything below it; nothing when it does not exist.
    /// Works by descriptors and never follows a symlink, so a rootfs full of links to "/" is removed
    /// without touching anything outside it.
    /// </summary>
    public static void RemoveAll(string path)
    {
        string full = Path.GetFullPath(path).TrimEnd('/');
        string parent = Path.GetDirectoryName(full) ?? throw new ImageException($"refusing to remove {full}");
        using var dir = FileDescriptor.TryOpen(parent, O_RDONLY | O_DIRECTORY);
        if (dir is null) return;
        RemoveTree(dir, Path.GetFileName(full), full);
    }

    internal static void RemoveTree(FileDescriptor parent, string name, string display)
    {
        if (AtCalls.TryStatAt(parent, name, display) is not { } st) return;
        if ((st.Mode & S_IFMT) == S_IFDIR)
        {
            using (var dir = AtCalls.OpenAt(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, display))
                foreach (var child in AtCalls.ReadDirectory(dir))
                    RemoveTree(dir, child, display + "/" + child);
            AtCalls.UnlinkAt(parent, name, AtCalls.AT_REMOVEDIR, display);
        }
        else
        {
            AtCalls.UnlinkAt(parent, name, 0, display);
        }
    }
}
