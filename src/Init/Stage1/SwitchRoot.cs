using Berth.Runtime.Linux;

namespace Berth.Init.Stage1;

/// <summary>
/// Leaves the initramfs the way busybox's switch_root does: move the pseudo-filesystems into the
/// new root, delete the initramfs contents (they stay in RAM otherwise), make the new root '/',
/// and exec its init.
/// </summary>
public sealed class SwitchRoot
{
    private readonly string _newRoot;

    public SwitchRoot(string newRoot) => _newRoot = newRoot;

    public void MoveMounts(params string[] mountPoints)
    {
        foreach (var m in mountPoints)
        {
            string target = _newRoot + m;
            Files.MakeDirectories(target);
            Mounts.Move(m, target);
        }
    }

    /// <summary>Deletes everything in the initramfs, without crossing into other filesystems.</summary>
    public void FreeInitramfs()
    {
        ulong rootDev = Files.LStat("/").Device;
        DeleteTree("/", rootDev, isRoot: true);
    }

    private void DeleteTree(string dir, ulong rootDev, bool isRoot)
    {
        foreach (var entry in Directory.EnumerateFileSystemEntries(dir))
        {
            if (entry == _newRoot) continue;
            Files.FileStatus st;
            try { st = Files.LStat(entry); }
            catch (SyscallException) { continue; }
            if (st.Device != rootDev) continue; // a mount point: never descend into another filesystem
            try
            {
                if (st.IsDirectory)
                {
                    DeleteTree(entry, rootDev, isRoot: false);
                    Files.RemoveDirectory(entry);
                }
                else Files.Unlink(entry);
            }
            catch (SyscallException) { /* leftovers cost a little RAM, nothing more */ }
        }
    }

    public void EnterAndExec(string init, IReadOnlyList<string> args)
    {
        Mounts.Chdir(_newRoot);
        Mounts.Move(".", "/");
        Mounts.Chroot(".");
        Mounts.Chdir("/");
        ProcessSpawner.Exec(init, args, new Dictionary<string, string>
        {
            ["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin",
            ["HOME"] = "/",
            ["TERM"] = "linux",
        });
    }
}
