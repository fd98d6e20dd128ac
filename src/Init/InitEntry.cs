using Berth.Init.Stage1;
using Berth.Init.Stage2;
using Berth.Runtime.Linux;

namespace Berth.Init;

/// <summary>
/// The <c>init</c> entry point. In the initramfs (marked by /etc/initrd-release) it is stage 1;
/// on the real root it is stage 2. Whatever goes wrong, PID 1 never returns: it logs the error
/// to the console and /dev/kmsg and drops to the emergency shell, still reaping every orphan.
/// </summary>
public static class InitEntry
{
    private static bool TrialBoot()
    {
        try { return KernelCommandLine.FromProc().Get("berth.trial") == "1"; }
        catch (Exception) { return false; }
    }

    public static int Run(string[] args)
    {
        double startMs = BootTimeline.NowMs;
        if (SystemControl.ProcessId != 1)
        {
            Console.Error.WriteLine("berth init: must run as PID 1 (the kernel starts it)");
            return 2;
        }
        SystemControl.SetUmask(0x12); // 022
        var reaper = new ChildReaper();
        bool stage1 = File.Exists("/etc/initrd-release");
        try
        {
            PowerRequests.Install(reaper);
            if (stage1) new Stage1Boot().Run(startMs);
            else new Stage2Boot(reaper).Run(startMs);
            throw new BootFailureException("init returned");
        }
        catch (Exception e)
        {
            try
            {
                BootLog.AttachKernelLog();
                ConsoleStdio.Ensure();
                BootLog.Error($"{(stage1 ? "stage 1" : "stage 2")} failed: {e.Message}");
                if (e is not BootFailureException and not EmergencyRequestedException)
                    BootLog.KmsgOnly(3, "berth: " + e.ToString().Replace('\n', ' '));
                reaper.Start();
                PowerRequests.RouteToFallback();
                if (e is not EmergencyRequestedException && TrialBoot())
                {
                    // The slot was never committed: let GRUB use up its tries and fall back.
                    BootLog.Error("trial boot of an upgraded slot failed: rebooting, so the boot loader can go back to the last good slot");
                    SystemControl.Sync();
                    Thread.Sleep(3000);
                    SystemControl.Reboot(PowerAction.Reboot);
                }
                EmergencyShell.RunForever(reaper, e.Message);
            }
            catch
            {
                // Even the emergency shell failed. Still never exit: the kernel would panic.
            }
            while (true) Thread.Sleep(Timeout.Infinite);
        }
    }
}
