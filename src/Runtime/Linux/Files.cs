using Berth.Runtime.Interop;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Runtime.Linux;

/// <summary>File-system operations that .NET's System.IO does not expose (lstat, st_dev, mknod).</summary>
public static class Files
{
    public readonly record struct FileStatus(ulong Device, ulong Inode, uint Mode, long Size, ulong RDev)
    {
        public bool IsDirectory => (Mode & S_IFMT) == S_IFDIR;
        public bool IsSymlink => (Mode & S_IFMT) == S_IFLNK;
        public bool IsRegular => (Mode & S_IFMT) == S_IFREG;
    }

    public static FileStatus LStat(string path)
    {
        if (LibC.LStat(path, out var st) != 0) throw SyscallException.Last("lstat", path);
        return new FileStatus(st.Dev, st.Ino, st.Mode, st.Size, st.RDev);
    }

    public static FileStatus? TryStat(string path)
    {
        if (LibC.StatPath(path, out var st) != 0) return null;
        return new FileStatus(st.Dev, st.Ino, st.Mode, st.Size, st.RDev);
    }

    public static void MakeDirectories(string path, int mode = 0x1ed /* 0755 */)
    {
        if (Directory.Exists(path)) return;
        var parent = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(parent) && parent != path) MakeDirectories(parent, mode);
        if (LibC.Mkdir(path, mode) != 0)
        {
            var e = SyscallException.Last("mkdir", path);
            if (e.Errno != EEXIST) throw e;
        }
    }

    public static void ChangeMode(string path, int mode)
    {
        if (LibC.Chmod(path, mode) != 0) throw SyscallException.Last("chmod", path);
    }

    /// <summary>chown(2) (follows symlinks, as chown(1) does without -h).</summary>
    public static void ChangeOwner(string path, uint uid, uint gid)
    {
        if (LibC.FchownAt(-100 /* AT_FDCWD */, path, uid, gid, 0) != 0) throw SyscallException.Last("chown", path);
    }

    /// <summary>flock(LOCK_EX), retried on EINTR; released when the descriptor is closed.</summary>
    public static void LockExclusive(FileDescriptor fd)
    {
        while (LibC.Flock(fd.Fd, 2 /* LOCK_EX */) != 0)
        {
            var e = SyscallException.Last("flock", fd.Path);
            if (e.Errno != EINTR) throw e;
        }
    }

    public static void Unlink(string path)
    {
        if (LibC.Unlink(path) != 0) throw SyscallException.Last("unlink", path);
    }

    public static void RemoveDirectory(string path)
    {
        if (LibC.Rmdir(path) != 0) throw SyscallException.Last("rmdir", path);
    }

    public static void Symlink(string target, string linkPath)
    {
        if (LibC.Symlink(target, linkPath) != 0) throw SyscallException.Last("symlink", linkPath);
    }

    public static void MakeCharDevice(string path, int mode, uint major, uint minor)
    {
        ulong dev = ((ulong)(major & 0xfff) << 8) | (minor & 0xff) | ((ulong)(minor & ~0xffu) << 12)
            | ((ulong)(major & ~0xfffu) << 32);
        if (LibC.Mknod(path, (int)S_IFCHR | mode, dev) != 0) throw SyscallException.Last("mknod", path);
    }

    /// <summary>
    /// Writes a file so that after a crash it holds either the old or the new content:
    /// temp file, fsync, rename, fsync of the directory.
    /// </summary>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> content, int mode = 0x1a4 /* 0644 */) =>
        WriteAtomically(path, content, mode, durable: true);

    /// <summary>
    /// Temp file and rename, so readers see the old content or the new. With <paramref name="durable"/>
    /// the file and its directory are fsync'ed too; without, the write is only atomic, which is all
    /// that state on a tmpfs (/run) needs, and saves two disk flushes on every container start.
    /// </summary>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> content, int mode, bool durable)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string tmp = Path.Combine(dir, "." + Path.GetFileName(path) + ".tmp");
        using (var fd = FileDescriptor.Open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode))
        {
            fd.WriteAll(content);
            if (durable) fd.FSync();
        }
        File.Move(tmp, path, overwrite: true);
        if (!durable) return;
        using var dirFd = FileDescriptor.Open(dir, O_RDONLY | O_DIRECTORY);
        dirFd.FSync();
    }
}
