using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.SystemServices.DeviceManager;

/// <summary>
/// Keeps /dev's nodes as the events say. On devtmpfs the kernel made the node already (mode 0600
/// or its driver's, owner root): only owner and mode are set. On any other /dev the node is made,
/// and taken away on remove; a node whose number belongs to another device is left alone.
/// </summary>
public sealed class DeviceNodes(string devRoot)
{
    public string DevRoot => devRoot;

    public string PathOf(string devName) => Path.Combine(devRoot, devName);

    /// <summary>Applies an add/change/remove; returns what it did, for the log (null: nothing).</summary>
    public string? Apply(Uevent e)
    {
        if (!e.HasNode) return null;
        string path = PathOf(e.DevName!);
        uint major = (uint)e.Major!.Value, minor = (uint)e.Minor!.Value;
        bool block = e.Subsystem == "block";
        var existing = DeviceFiles.Describe(path);
        if (e.Action == "remove")
        {
            if (existing is not { } old || old.Block != block || old.Major != major || old.Minor != minor) return null;
            try { Files.Unlink(path); }
            catch (SyscallException x) when (x.Errno == ENOENT) { return null; } // devtmpfs was first
            return $"removed {path}";
        }
        if (e.Action is not ("add" or "change" or "move")) return null;
        var want = DeviceNodePolicy.For(e.Subsystem, e.DevName!, e.DevMode);
        string? did = null;
        if (existing is { } cur && (cur.Block != block || cur.Major != major || cur.Minor != minor))
        {
            // A stale node of a device that went while no one listened: the kernel's numbers win.
            Files.Unlink(path);
            existing = null;
        }
        if (existing is null)
        {
            if (Path.GetDirectoryName(path) is { } dir) Files.MakeDirectories(dir);
            try
            {
                DeviceFiles.MakeNode(path, block, want.Mode, major, minor);
                did = $"created {path} {(block ? 'b' : 'c')} {major}:{minor}";
            }
            catch (SyscallException x) when (x.Errno == EEXIST) { } // devtmpfs made it meanwhile
            existing = DeviceFiles.Describe(path);
            if (existing is null) return did;
        }
        var node = existing.Value;
        if (node.Uid != want.Uid || node.Gid != want.Gid)
        {
            Files.ChangeOwner(path, want.Uid, want.Gid);
            did ??= $"{path} owner {want.Uid}:{want.Gid}";
        }
        // mknod's mode went through the umask; set it whole.
        if (node.Mode != want.Mode || did is not null)
        {
            Files.ChangeMode(path, want.Mode);
            did ??= $"{path} mode {Convert.ToString(want.Mode, 8)}";
        }
        return did;
    }
}
