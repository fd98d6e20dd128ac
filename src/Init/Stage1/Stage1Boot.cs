using Berth.Runtime.Kernel;
using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Init.Stage1;

/// <summary>
/// Stage 1 runs as /init in the initramfs: it loads the storage and filesystem drivers, mounts the
/// booted slot's root read-only, STATE read-write, tmpfs for the volatile directories and a
/// writable /etc, and hands over to stage 2 on the real root.
/// </summary>
public sealed class Stage1Boot
{
    public const string NewRoot = "/newroot";

    /// <summary>How long the virtio fast path waits for the root before loading every disk driver.</summary>
    private static readonly TimeSpan VirtioGrace = TimeSpan.FromSeconds(2);

    private readonly BootTimeline _timeline = new(stage: 1);
    private KernelCommandLine _cmdline = new("");

    public void Run(double startMs)
    {
        _timeline.Record("kernel", 0, startMs);
        _timeline.Step("mount-pseudo", MountPseudoFilesystems);
        // The kernel drops userspace /dev/kmsg lines past a burst of 10 per 5 s (printk.devkmsg=
        // ratelimit): PID 1 and its services log more than that at boot, and nothing may be lost.
        PseudoFile.TryWrite("/proc/sys/kernel/printk_devkmsg", "on\n", out _);
        BootLog.AttachKernelLog();
        ConsoleStdio.Ensure();
        _cmdline = KernelCommandLine.FromProc();
        BootLog.Quiet = !_cmdline.Flag("berth.debug");
        BootLog.Notice($"stage 1 ({BerthVersion.Current}) at {startMs / 1000:F3}s");
        foreach (var w in _cmdline.Warnings) BootLog.Warn(w);
        if (_cmdline.Get("berth.emergency") == "stage1")
            throw new EmergencyRequestedException("berth.emergency=stage1 on the kernel command line");
        _timeline.Step("fault-around", LimitFaultAround);

        var drivers = _timeline.Step("load-disk-drivers", () => new DiskDrivers(ModuleLoader.ForRunningKernel()));
        _timeline.Step("load-virtio-drivers", drivers.LoadVirtio);
        _timeline.Step("load-extra-modules", () => LoadExtraModules(drivers.Loader));
        _timeline.Step("load-squashfs", () => drivers.LoadRequired("squashfs"));
        string slot = (_cmdline.Get("berth.slot") ?? "A").ToUpperInvariant();
        if (slot is not ("A" or "B"))
        {
            BootLog.Warn($"berth.slot={slot} is not A or B; booting slot A");
            slot = "A";
        }
        var finder = new PartitionFinder();
        var timeout = TimeSpan.FromSeconds(_cmdline.GetInt("berth.device_timeout", 10));
        string slotLabel = "berth-" + slot.ToLowerInvariant();
        // Virtio first (every VM host has it, and it is all QEMU needs); only if the root is not on
        // a virtio disk are the drivers of every other disk controller present loaded.
        var slotDevice = _timeline.Step("wait-root-device", () =>
                finder.WaitFor(slotLabel, drivers.HasVirtioStorage ? VirtioGrace : TimeSpan.Zero)
                ?? LoadAllStorageAndWait(drivers, finder, slotLabel, timeout))
            ?? throw new BootFailureException(
                $"no partition labelled '{slotLabel}' appeared within {timeout.TotalSeconds:F0}s (found: {finder.DescribeAll()})");

        _timeline.Step("mount-root", () =>
        {
            Files.MakeDirectories(NewRoot);
            Mounts.Mount(slotDevice.DevicePath, NewRoot, "squashfs", MS_RDONLY | MS_NODEV);
        });

        _timeline.Step("mount-volatile", () =>
        {
            Mounts.Mount("tmpfs", NewRoot + "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
            Mounts.Mount("tmpfs", NewRoot + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
            Mounts.Mount("tmpfs", NewRoot + "/var", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
            Files.MakeDirectories(NewRoot + "/run/berth");
        });

        _timeline.Step("load-ext4-overlay", () =>
        {
            drivers.LoadRequired("ext4");
            drivers.LoadRequired("overlay");
        });
        var state = _timeline.Step("mount-state", () => MountState(finder));
        File.WriteAllText(NewRoot + "/run/berth/state-outcome", state.ToString().ToLowerInvariant() + "\n");
        File.WriteAllText(NewRoot + "/run/berth/slot", slot + "\n");

        _timeline.Step("mount-etc-overlay", () =>
        {
            // /etc is the image's, made writable for this boot only; configuration that must last
            // lives in STATE and is applied again at every boot.
            Files.MakeDirectories(NewRoot + "/run/berth/etc/upper");
            Files.MakeDirectories(NewRoot + "/run/berth/etc/work");
            Mounts.Mount("etc", NewRoot + "/etc", "overlay", MS_NOSUID | MS_NODEV,
                $"lowerdir={NewRoot}/etc,upperdir={NewRoot}/run/berth/etc/upper,workdir={NewRoot}/run/berth/etc/work");
        });

        if (!File.Exists(NewRoot + "/sbin/init") && !IsSymlink(NewRoot + "/sbin/init"))
            throw new BootFailureException($"the root filesystem of slot {slot} ({slotDevice.DevicePath}) has no /sbin/init");

        var switchRoot = new SwitchRoot(NewRoot);
        _timeline.Step("switch-root", () =>
        {
            switchRoot.MoveMounts("/dev", "/proc", "/sys");
            switchRoot.FreeInitramfs();
        });
        File.WriteAllText(NewRoot + BootTimeline.Stage1HandoffPath, _timeline.ToHandoffText());
        switchRoot.EnterAndExec("/sbin/init", ["/sbin/init"]);
    }

    private static bool IsSymlink(string path)
    {
        try { return Files.LStat(path).IsSymlink; } catch (SyscallException) { return false; }
    }

    private void LimitFaultAround()
    {
        int? bytes = FaultAround.Parse(_cmdline.Get("berth.fault_around_bytes"), out var problem);
        if (problem is not null) BootLog.Warn(problem);
        if (bytes is int n && FaultAround.Set(n) is string why) BootLog.Warn($"fault_around_bytes: {why}");
    }

    private static void MountPseudoFilesystems()
    {
        Mounts.MountAt("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
        Mounts.MountAt("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC);
        Mounts.MountAt("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
    }

    private static BlockDevice? LoadAllStorageAndWait(DiskDrivers drivers, PartitionFinder finder, string label, TimeSpan timeout)
    {
        drivers.LoadAllStorage();
        return finder.WaitFor(label, timeout);
    }

    private void LoadExtraModules(ModuleLoader loader)
    {
        var extra = (_cmdline.Get("berth.modules") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var name in extra)
        {
            try { loader.Load(name); }
            catch (Exception e) when (e is ModuleNotFoundException or SyscallException) { BootLog.Warn($"berth.modules: {e.Message}"); }
        }
    }

    private StateOutcome MountState(PartitionFinder finder)
    {
        string target = NewRoot + "/var/lib/berth";
        var warn = (string m) => BootLog.Warn(m);
        var state = new StatePartition(NewRoot);
        StateOutcome outcome;
        if (_cmdline.Get("berth.state") == "tmpfs")
        {
            Files.MakeDirectories(target);
            Mounts.Mount("state", target, "tmpfs", MS_NODEV | MS_NOSUID, "mode=0755");
            BootLog.Warn("berth.state=tmpfs: STATE is a tmpfs, NOTHING WILL SURVIVE A REBOOT");
            outcome = StateOutcome.Disabled;
        }
        else
        {
            var device = finder.Scan().FirstOrDefault(d => d.PartitionLabel == StatePartition.Label);
            outcome = state.MountAt(device, target, warn);
        }
        // /var/log lives on STATE so logs survive reboots.
        Files.MakeDirectories(target + "/log");
        Files.MakeDirectories(NewRoot + "/var/log");
        Mounts.Bind(target + "/log", NewRoot + "/var/log");
        foreach (var d in new[] { "/var/tmp", "/var/lib", "/var/cache" })
            Files.MakeDirectories(NewRoot + d);
        return outcome;
    }
}
