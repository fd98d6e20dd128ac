using Berth.Runtime.Interop;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Runtime.Linux;

/// <summary>Device nodes: mknod of char and block devices, and the kernel's dev_t encoding.</summary>
public static class DeviceFiles
{
    /// <summary>glibc's makedev: 12 bits of major and 20 of minor, split as the kernel's new_encode_dev.</summary>
    public static ulong Encode(uint major, uint minor) =>
        ((ulong)(major & 0xfff) << 8) | (minor & 0xff) | ((ulong)(minor & ~0xffu) << 12) | ((ulong)(major & ~0xfffu) << 32);

    public static uint Major(ulong dev) => (uint)(((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfffUL));

    public static uint Minor(ulong dev) => (uint)((dev & 0xff) | ((dev >> 12) & ~0xffUL));

    /// <summary>mknod(2); EEXIST is thrown like any other error, so callers can tell a node that was already there.</summary>
    public static void MakeNode(string path, bool block, int mode, uint major, uint minor)
    {
        uint type = block ? S_IFBLK : S_IFCHR;
        if (LibC.Mknod(path, (int)type | (mode & 0xfff), Encode(major, minor)) != 0) throw SyscallException.Last("mknod", path);
    }

    /// <summary>The node's type and number, or null when <paramref name="path"/> is not a device node (or not there).</summary>
    public static (bool Block, uint Major, uint Minor, uint Mode, uint Uid, uint Gid)? Describe(string path)
    {
        if (LibC.LStat(path, out var st) != 0) return null;
        uint type = st.Mode & S_IFMT;
        if (type != S_IFBLK && type != S_IFCHR) return null;
        return (type == S_IFBLK, Major(st.RDev), Minor(st.RDev), st.Mode & 0xfff, st.Uid, st.Gid);
    }
}
