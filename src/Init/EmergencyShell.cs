using Berth.Runtime.Linux;

namespace Berth.Init;

/// <summary>
/// Where PID 1 goes when the boot cannot continue: a shell on the console, started again whenever
/// it exits, while every orphan is still reaped. PID 1 never returns from here and never exits.
/// </summary>
public static class EmergencyShell
{
    public static void RunForever(ChildReaper reaper, string reason)
    {
        BootLog.Error($"EMERGENCY: {reason}");
        BootLog.Notice("dropping to the emergency shell; 'reboot' or 'poweroff' to leave (PID 1 keeps running)");
        string? shell = new[] { "/bin/sh", "/bin/busybox" }.FirstOrDefault(File.Exists);
        while (true)
        {
            if (shell is null)
            {
                BootLog.Error("no shell found (/bin/sh); waiting for a power signal");
                Thread.Sleep(Timeout.Infinite);
            }
            string program = shell!;
            var exited = new ManualResetEventSlim();
            try
            {
                reaper.Spawn(new SpawnSpec
                {
                    Executable = program,
                    Arguments = program.EndsWith("busybox", StringComparison.Ordinal) ? ["sh"] : [],
                    StdioPath = "/dev/console",
                    NewSession = true,
                }, (_, _) => exited.Set());
                exited.Wait();
            }
            catch (Exception e)
            {
                BootLog.Error($"cannot start the emergency shell: {e.Message}");
                Thread.Sleep(5000);
            }
            Thread.Sleep(500);
        }
    }
}
