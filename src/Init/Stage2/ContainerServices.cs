using Berth.Runtime.Containers;
using Berth.Runtime.Linux;

namespace Berth.Init.Stage2;

/// <summary>
/// Runs services as OCI containers from inside PID 1: the runtime's launcher clones the
/// container's init straight from this process (no runtime process per service), the reaper
/// collects its exit, and the state lives where `berth-runtime list` finds it.
/// </summary>
public sealed class ContainerServices(ChildReaper reaper, string root = ContainerStore.DefaultRoot)
{
    private readonly ContainerStore _store = new(root);
    private readonly object _gate = new();

    private ContainerLauncher Launcher => new(_store, w => BootLog.Warn(w), w => BootLog.Warn(w), reaper);

    /// <summary>Starts bundle as container <paramref name="id"/>, its output into <paramref name="log"/>; returns the init's pid.</summary>
    public int Start(string id, string bundle, ServiceLog? log)
    {
        lock (_gate)
        {
            RemoveLeftover(id);
            FileDescriptor? output = log?.OpenPipe();
            using var devNull = output is null ? null : FileDescriptor.Open("/dev/null", Runtime.Interop.Consts.O_RDONLY);
            try
            {
                var stdio = output is null ? (-1, -1, -1) : (devNull!.Fd, output.Fd, output.Fd);
                Launcher.Run(new CreateOptions { Id = id, Bundle = bundle, Stdio = stdio }, detach: true);
            }
            finally
            {
                // The container holds its own copy now; closing ours lets the log pump see end-of-file when it exits.
                output?.Dispose();
            }
            return _store.Load(id).Pid;
        }
    }

    /// <summary>Starts a command inside a running container (a health check), output discarded; returns its pid.</summary>
    public int StartExec(string id, IReadOnlyList<string> command)
    {
        using var devNull = FileDescriptor.Open("/dev/null", Runtime.Interop.Consts.O_RDWR);
        return Launcher.StartExec(new ExecOptions { Id = id, Args = command, Stdio = (devNull.Fd, devNull.Fd, devNull.Fd) });
    }

    /// <summary>After the container's init <paramref name="pid"/> has exited: its cgroup, poststop hooks, its state.
    /// A restart may already have replaced it: then the new container is left alone.</summary>
    public void Remove(string id, int pid)
    {
        lock (_gate)
        {
            ContainerRecord record;
            try { record = _store.Load(id); }
            catch (Exception e) when (e is RuntimeException or IOException) { return; }
            if (record.Pid == pid) RemoveLeftover(id);
        }
    }

    private void RemoveLeftover(string id)
    {
        if (!Directory.Exists(_store.DirectoryOf(id))) return;
        try { Launcher.Delete(id, force: true); }
        catch (Exception e) when (e is RuntimeException or SyscallException or IOException)
        {
            BootLog.Warn($"container {id}: removing the previous run: {e.Message}");
            try { _store.Remove(id); } catch (IOException) { }
        }
    }
}
