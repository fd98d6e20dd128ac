using Berth.Runtime.Containers;
using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Init.Stage2;

/// <summary>One run of a health check: in the service's container (exec) or, for a plain process service, beside it.</summary>
public static class HealthProbe
{
    public static bool Run(ServiceDefinition service, HealthCheck check, ChildReaper reaper, ContainerServices containers, out string detail)
    {
        using var done = new ManualResetEventSlim();
        ExitStatus status = default;
        void OnExit(int _, ExitStatus s) { status = s; done.Set(); }
        int pid;
        try
        {
            if (service.IsContainer)
            {
                pid = containers.StartExec(service.Name, check.Command);
                reaper.Watch(pid, OnExit);
            }
            else
            {
                pid = reaper.Spawn(new SpawnSpec
                {
                    Executable = check.Command[0],
                    Arguments = check.Command.Skip(1).ToList(),
                    OutputPath = "/dev/null",
                }, OnExit);
            }
        }
        catch (Exception e) when (e is RuntimeException or SyscallException or IOException)
        {
            detail = $"cannot run {string.Join(' ', check.Command)}: {e.Message}";
            return false;
        }
        if (!done.Wait(check.Timeout))
        {
            SystemControl.Kill(pid, SIGKILL);
            done.Wait(TimeSpan.FromSeconds(2));
            detail = $"{string.Join(' ', check.Command)} timed out after {check.Timeout.TotalSeconds:0} s";
            return false;
        }
        detail = $"{string.Join(' ', check.Command)}: {status}";
        return status.Exited && status.Code == 0;
    }
}
