using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Init.Stage1;

/// <summary>What the STATE partition turned out to be at boot.</summary>
public enum StateOutcome { Mounted, Formatted, Grown, Missing, Corrupt, Disabled }

/// <summary>
/// STATE (ext4, label berth-state) holds everything that must survive a reboot. A blank partition
/// is formatted on first boot; one that holds something we cannot mount is never formatted (it may
/// be the user's data): the boot goes on with tmpfs and a loud warning.
/// </summary>
public sealed class StatePartition
{
    public const string Label = "berth-state";
    private const int Ext4MagicOffset = 1024 + 0x38;

    private readonly string _newRoot;

    public StatePartition(string newRoot) => _newRoot = newRoot;

    public enum Content { Blank, Ext4, Other }

    /// <summary>Looks at the first 64 KiB: all zeros is blank; the ext2/3/4 magic is ext4.</summary>
    public static Content Probe(string device)
    {
        using var fd = FileDescriptor.Open(device, O_RDONLY);
        var buf = new byte[64 * 1024];
        int n = fd.PRead(buf, 0);
        if (n > Ext4MagicOffset + 1 && buf[Ext4MagicOffset] == 0x53 && buf[Ext4MagicOffset + 1] == 0xEF)
            return Content.Ext4;
        return buf.AsSpan(0, n).IndexOfAnyExcept((byte)0) < 0 ? Content.Blank : Content.Other;
    }

    /// <summary>Size of the ext4 filesystem on <paramref name="device"/>, from its superblock.</summary>
    public static long FilesystemBytes(string device)
    {
        using var fd = FileDescriptor.Open(device, O_RDONLY);
        var sb = new byte[1024];
        fd.PRead(sb, 1024);
        uint blocksLo = BitConverter.ToUInt32(sb, 0x04);
        uint logBlockSize = BitConverter.ToUInt32(sb, 0x18);
        uint incompat = BitConverter.ToUInt32(sb, 0x60);
        uint blocksHi = (incompat & 0x80) != 0 ? BitConverter.ToUInt32(sb, 0x150) : 0; // 64bit feature
        long blocks = ((long)blocksHi << 32) | blocksLo;
        return blocks * (1024L << (int)logBlockSize);
    }

    /// <summary>Runs a program from the new root with its own dynamic loader and libraries.</summary>
    public int RunFromNewRoot(string program, params string[] args)
    {
        var loader = Path.Combine(_newRoot, "lib64/ld-linux-x86-64.so.2");
        var argv = new List<string> { "--library-path", $"{_newRoot}/lib/x86_64-linux-gnu:{_newRoot}/usr/lib/x86_64-linux-gnu", Path.Combine(_newRoot, program.TrimStart('/')) };
        argv.AddRange(args);
        var env = new Dictionary<string, string>
        {
            ["PATH"] = "/bin",
            ["MKE2FS_CONFIG"] = Path.Combine(_newRoot, "etc/mke2fs.conf"),
        };
        int pid = ProcessSpawner.Spawn(new SpawnSpec { Executable = loader, Arguments = argv, Environment = env });
        var status = ChildReaper.WaitFor(pid);
        return status.Exited ? status.Code : 128 + status.Signal;
    }

    /// <summary>Mounts STATE at <paramref name="target"/>, formatting or growing it as needed.</summary>
    public StateOutcome MountAt(BlockDevice? device, string target, Action<string> warn)
    {
        Files.MakeDirectories(target);
        if (device is null)
        {
            warn($"no partition labelled '{Label}': STATE is a tmpfs, NOTHING WILL SURVIVE A REBOOT");
            MountTmpfs(target);
            return StateOutcome.Missing;
        }
        var outcome = StateOutcome.Mounted;
        var content = Probe(device.DevicePath);
        if (content == Content.Blank)
        {
            BootLog.Notice($"STATE {device.DevicePath} is blank: creating an ext4 filesystem (first boot)");
            int rc = RunFromNewRoot("/sbin/mke2fs", "-q", "-F", "-t", "ext4", "-L", Label, "-m", "0",
                "-E", "lazy_itable_init=1,lazy_journal_init=1", device.DevicePath);
            if (rc != 0)
            {
                warn($"mke2fs on {device.DevicePath} failed with exit code {rc}: STATE is a tmpfs, NOTHING WILL SURVIVE A REBOOT");
                MountTmpfs(target);
                return StateOutcome.Corrupt;
            }
            outcome = StateOutcome.Formatted;
        }
        else if (content == Content.Other)
        {
            warn($"STATE {device.DevicePath} holds something that is not ext4; it is left untouched. "
                + "STATE is a tmpfs, NOTHING WILL SURVIVE A REBOOT");
            MountTmpfs(target);
            return StateOutcome.Corrupt;
        }

        try
        {
            Mounts.Mount(device.DevicePath, target, "ext4", MS_NOATIME | MS_NODEV | MS_NOSUID, "errors=remount-ro");
        }
        catch (SyscallException e)
        {
            warn($"cannot mount STATE {device.DevicePath}: {e.Message}. It is left untouched; "
                + "STATE is a tmpfs, NOTHING WILL SURVIVE A REBOOT");
            MountTmpfs(target);
            return StateOutcome.Corrupt;
        }

        // Grow the filesystem when the partition is larger (an image written to a bigger partition).
        long fsBytes = FilesystemBytes(device.DevicePath);
        if (device.SizeBytes - fsBytes >= 4L * 1024 * 1024)
        {
            BootLog.Notice($"growing STATE from {fsBytes >> 20} MiB to {device.SizeBytes >> 20} MiB");
            int rc = RunFromNewRoot("/sbin/resize2fs", device.DevicePath);
            if (rc != 0) warn($"resize2fs {device.DevicePath} failed with exit code {rc}; STATE keeps its size");
            else if (outcome == StateOutcome.Mounted) outcome = StateOutcome.Grown;
        }
        return outcome;
    }

    private static void MountTmpfs(string target) =>
        Mounts.Mount("state", target, "tmpfs", MS_NODEV | MS_NOSUID, "mode=0755");
}
