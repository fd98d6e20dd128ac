using System.Runtime.InteropServices;
using System.Text;
using Berth.Runtime.Interop;
using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Runtime.Images;

/// <summary>
/// Typed wrappers over the *at() system calls, openat2(2) and xattrs (bindings in <see cref="LibC"/>).
/// Every call works relative to a directory descriptor, so that a path, once resolved inside a
/// root, is never looked up again from "/". <c>display</c> is the path errors name.
/// </summary>
internal static unsafe class AtCalls
{
    public const int AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200, AT_EMPTY_PATH = 0x1000;
    public const int O_PATH = 0x200000;
    public const ulong RESOLVE_NO_XDEV = 0x01, RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_NO_SYMLINKS = 0x04,
        RESOLVE_BENEATH = 0x08, RESOLVE_IN_ROOT = 0x10;
    public const uint S_IFIFO = 0x1000, S_IFBLK = 0x6000, S_IFSOCK = 0xC000;
    public const int EXDEV = 18, ERANGE = 34, ELOOP = 40, ENODATA = 61, EOPNOTSUPP = 95;
    public const long SYS_getdents64 = 217, SYS_openat2 = 437;
    public const int LOCK_EX = 2, LOCK_UN = 8;

    private static int LastErrno => Marshal.GetLastPInvokeError();

    /// <summary>
    /// openat2(2) under <paramref name="dir"/> with <paramref name="resolve"/> flags; returns the errno
    /// instead of throwing so callers can treat ENOENT as "absent". EAGAIN (a concurrent rename seen
    /// during a RESOLVE_IN_ROOT walk) is retried, as the man page asks.
    /// </summary>
    public static int TryOpenAt2(FileDescriptor dir, string path, int flags, ulong resolve, string display, out FileDescriptor? fd)
    {
        var how = new LibC.OpenHow { Flags = (ulong)(flags | O_CLOEXEC), Mode = 0, Resolve = resolve };
        byte[] name = Encoding.UTF8.GetBytes(path + "\0");
        for (int attempt = 0; ; attempt++)
        {
            long result;
            fixed (byte* p = name)
                result = LibC.Syscall4(SYS_openat2, dir.Fd, (nint)p, (nint)(&how), sizeof(LibC.OpenHow));
            if (result >= 0)
            {
                fd = new FileDescriptor((int)result, display);
                return 0;
            }
            int errno = LastErrno;
            if (errno == EAGAIN && attempt < 64) continue;
            if (errno == ENOSYS)
                throw new ImageException($"openat2(2) is not available (Linux 5.6 or later is needed to unpack images safely), resolving {display}");
            fd = null;
            return errno;
        }
    }

    public static FileDescriptor OpenAt(FileDescriptor dir, string name, int flags, int mode, string display)
    {
        int fd = LibC.OpenAt(dir.Fd, name, flags | O_CLOEXEC, mode);
        if (fd < 0) throw SyscallException.Last("openat", display);
        return new FileDescriptor(fd, display);
    }

    /// <summary>mkdirat; returns the errno (0 on success).</summary>
    public static int TryMkdirAt(FileDescriptor dir, string name, int mode) =>
        LibC.MkdirAt(dir.Fd, name, mode) == 0 ? 0 : LastErrno;

    public static void MkdirAt(FileDescriptor dir, string name, int mode, string display)
    {
        if (LibC.MkdirAt(dir.Fd, name, mode) != 0) throw SyscallException.Last("mkdirat", display);
    }

    public static void MknodAt(FileDescriptor dir, string name, uint type, int mode, ulong device, string display)
    {
        if (LibC.MknodAt(dir.Fd, name, (int)type | mode, device) != 0) throw SyscallException.Last("mknodat", display);
    }

    public static void SymlinkAt(string target, FileDescriptor dir, string name, string display)
    {
        if (LibC.SymlinkAt(target, dir.Fd, name) != 0) throw SyscallException.Last($"symlinkat (-> {target})", display);
    }

    /// <summary>linkat without AT_SYMLINK_FOLLOW: a hard link to a symlink links the symlink itself, as tar means it.</summary>
    public static void LinkAt(FileDescriptor fromDir, string fromName, FileDescriptor toDir, string toName, string fromDisplay, string display)
    {
        if (LibC.LinkAt(fromDir.Fd, fromName, toDir.Fd, toName, 0) != 0)
            throw SyscallException.Last($"linkat (to {fromDisplay})", display);
    }

    public static void UnlinkAt(FileDescriptor dir, string name, int flags, string display)
    {
        if (LibC.UnlinkAt(dir.Fd, name, flags) != 0) throw SyscallException.Last("unlinkat", display);
    }

    public static int TryRenameAt(FileDescriptor fromDir, string fromName, FileDescriptor toDir, string toName) =>
        LibC.RenameAt(fromDir.Fd, fromName, toDir.Fd, toName) == 0 ? 0 : LastErrno;

    public static void FchownAt(FileDescriptor dir, string name, uint uid, uint gid, string display)
    {
        if (LibC.FchownAt(dir.Fd, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0)
            throw SyscallException.Last($"fchownat ({uid}:{gid})", display);
    }

    /// <summary>fchmodat on a name known not to be a symlink (Linux cannot chmod a symlink itself).</summary>
    public static void FchmodAt(FileDescriptor dir, string name, int mode, string display)
    {
        if (LibC.FchmodAt(dir.Fd, name, mode, 0) != 0)
            throw SyscallException.Last($"fchmodat (0{Convert.ToString(mode, 8)})", display);
    }

    public static void UtimensAt(FileDescriptor dir, string name, UnixTime atime, UnixTime mtime, string display)
    {
        var times = stackalloc LibC.TimeSpec[2];
        times[0] = new LibC.TimeSpec { Seconds = atime.Seconds, Nanoseconds = atime.Nanoseconds };
        times[1] = new LibC.TimeSpec { Seconds = mtime.Seconds, Nanoseconds = mtime.Nanoseconds };
        if (LibC.UtimensAt(dir.Fd, name, times, AT_SYMLINK_NOFOLLOW) != 0)
            throw SyscallException.Last("utimensat", display);
    }

    /// <summary>fstatat without following a final symlink; null when the name does not exist.</summary>
    public static LibC.Stat? TryStatAt(FileDescriptor dir, string name, string display, int flags = AT_SYMLINK_NOFOLLOW)
    {
        if (LibC.FstatAt(dir.Fd, name, out var st, flags) == 0) return st;
        int errno = LastErrno;
        if (errno is ENOENT or ENOTDIR) return null;
        throw new SyscallException("fstatat", display, errno);
    }

    /// <summary>The status of the directory <paramref name="dir"/> itself.</summary>
    public static LibC.Stat StatSelf(FileDescriptor dir)
    {
        if (LibC.FstatAt(dir.Fd, "", out var st, AT_EMPTY_PATH) != 0) throw SyscallException.Last("fstat", dir.Path);
        return st;
    }

    public static string ReadLinkAt(FileDescriptor dir, string name, string display)
    {
        var buffer = new byte[4096];
        nint n;
        fixed (byte* p = buffer) n = LibC.ReadlinkAt(dir.Fd, name, p, buffer.Length);
        if (n < 0) throw SyscallException.Last("readlinkat", display);
        return Encoding.UTF8.GetString(buffer, 0, (int)n);
    }

    /// <summary>
    /// The path through which xattr calls reach <paramref name="name"/> in <paramref name="dir"/>:
    /// there is no lsetxattrat before Linux 6.13, and /proc/self/fd/N is the kernel's own handle on
    /// the already-resolved directory, so only the last component is looked up (and not followed).
    /// </summary>
    public static string XattrPath(FileDescriptor dir, string name) => $"/proc/self/fd/{dir.Fd}/{name}";

    /// <summary>lsetxattr; returns the errno (0 on success).</summary>
    public static int TrySetXattr(string path, string attribute, ReadOnlySpan<byte> value)
    {
        fixed (byte* p = value)
            return LibC.LSetXattr(path, attribute, p, (nuint)value.Length, 0) == 0 ? 0 : LastErrno;
    }

    /// <summary>lgetxattr; null when the attribute is absent.</summary>
    public static byte[]? GetXattr(string path, string attribute)
    {
        while (true)
        {
            nint size = LibC.LGetXattr(path, attribute, null, 0);
            if (size < 0)
            {
                int errno = LastErrno;
                if (errno == ENODATA) return null;
                throw new SyscallException($"lgetxattr {attribute}", path, errno);
            }
            var value = new byte[size];
            nint n;
            fixed (byte* p = value) n = LibC.LGetXattr(path, attribute, p, (nuint)value.Length);
            if (n >= 0) return value.AsSpan(0, (int)n).ToArray();
            if (LastErrno != ERANGE) throw SyscallException.Last($"lgetxattr {attribute}", path);
        }
    }

    /// <summary>llistxattr: the names of a file's extended attributes (not following a symlink).</summary>
    public static IReadOnlyList<string> ListXattrs(string path)
    {
        while (true)
        {
            nint size = LibC.LListXattr(path, null, 0);
            if (size < 0) throw SyscallException.Last("llistxattr", path);
            if (size == 0) return [];
            var list = new byte[size];
            nint n;
            fixed (byte* p = list) n = LibC.LListXattr(path, p, (nuint)list.Length);
            if (n >= 0)
                return Encoding.UTF8.GetString(list, 0, (int)n).Split('\0', StringSplitOptions.RemoveEmptyEntries);
            if (LastErrno != ERANGE) throw SyscallException.Last("llistxattr", path);
        }
    }

    /// <summary>glibc's makedev(3) encoding of a device number.</summary>
    public static ulong MakeDevice(uint major, uint minor) =>
        ((ulong)(major & 0xfff) << 8) | (minor & 0xff) | ((ulong)(minor & ~0xffu) << 12) | ((ulong)(major & ~0xfffu) << 32);

    /// <summary>The names in a directory (opened for reading, not O_PATH), without "." and "..", via getdents64(2).</summary>
    public static List<string> ReadDirectory(FileDescriptor dir)
    {
        var names = new List<string>();
        var buffer = new byte[32 * 1024];
        while (true)
        {
            long n;
            fixed (byte* p = buffer) n = LibC.Syscall3(SYS_getdents64, dir.Fd, (nint)p, buffer.Length);
            if (n < 0) throw SyscallException.Last("getdents64", dir.Path);
            if (n == 0) return names;
            // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
            for (int pos = 0; pos < n;)
            {
                int reclen = BitConverter.ToUInt16(buffer, pos + 16);
                var raw = buffer.AsSpan(pos + 19, reclen - 19);
                int nul = raw.IndexOf((byte)0);
                string name = Encoding.UTF8.GetString(nul < 0 ? raw : raw[..nul]);
                if (name is not ("." or "..")) names.Add(name);
                pos += reclen;
            }
        }
    }

    public static void Flock(FileDescriptor fd, int operation)
    {
        while (LibC.Flock(fd.Fd, operation) != 0)
        {
            if (LastErrno != EINTR) throw SyscallException.Last("flock", fd.Path);
        }
    }
}
