using Berth.Runtime.Interop;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Runtime.Linux;

/// <summary>How a child ended, decoded from a wait status.</summary>
public readonly record struct ExitStatus(int Raw)
{
    public bool Exited => (Raw & 0x7f) == 0;
    public int Code => (Raw >> 8) & 0xff;
    public int Signal => Raw & 0x7f;
    public override string ToString() => Exited ? $"exit code {Code}" : $"killed by signal {Signal}";
}

/// <summary>
/// Reaps every child of this process, adopted orphans included, on one thread that blocks in
/// wait4(-1). Processes started through <see cref="Spawn"/> get their exit reported to a
/// callback; the rest (orphans re-parented to PID 1) are reaped and counted. A child started some
/// other way (a container's init from clone3) is claimed with <see cref="Watch"/> or waited for
/// with <see cref="Wait"/>: if it ended before it was claimed, its kept status is handed over.
/// </summary>
public sealed class ChildReaper : IChildWaiter
{
    /// <summary>How many unclaimed statuses are kept: orphans are reaped too, and never claimed.</summary>
    private const int UnclaimedKept = 256;

    private readonly object _gate = new();
    private readonly Dictionary<int, Action<int, ExitStatus>> _watched = new();
    private readonly Dictionary<int, ExitStatus> _unclaimed = new();
    private readonly Queue<int> _unclaimedOrder = new();
    private readonly SemaphoreSlim _childStarted = new(0);
    private long _orphansReaped;
    private Thread? _thread;

    public long OrphansReaped => Interlocked.Read(ref _orphansReaped);

    /// <summary>Starts the reaping thread; calling it again is harmless.</summary>
    public void Start()
    {
        if (_thread is not null) return;
        _thread = new Thread(Loop) { IsBackground = true, Name = "reaper" };
        _thread.Start();
    }

    /// <summary>Spawns under the reaper's lock so that an instant exit is still reported.</summary>
    public int Spawn(SpawnSpec spec, Action<int, ExitStatus> onExit)
    {
        lock (_gate)
        {
            int pid = ProcessSpawner.Spawn(spec);
            _watched[pid] = onExit;
            _childStarted.Release();
            return pid;
        }
    }

    /// <summary>Reports the exit of a child this process started itself, at once if it already ended.</summary>
    public void Watch(int pid, Action<int, ExitStatus> onExit)
    {
        ExitStatus kept;
        lock (_gate)
        {
            if (!_unclaimed.Remove(pid, out kept))
            {
                _watched[pid] = onExit;
                _childStarted.Release();
                return;
            }
        }
        onExit(pid, kept);
    }

    /// <summary><see cref="IChildWaiter"/>: blocks until the reaper has collected the child.</summary>
    public int Wait(int pid)
    {
        if (_thread is null) return DirectChildWaiter.Instance.Wait(pid);
        using var done = new ManualResetEventSlim();
        int raw = 0;
        Watch(pid, (_, status) => { raw = status.Raw; done.Set(); });
        done.Wait();
        return raw;
    }

    /// <summary>Blocks until no user process but this one is left, or the timeout passes.</summary>
    public static bool WaitForNoUserProcesses(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (ProcessTable.UserProcesses().Count > 0)
        {
            if (DateTime.UtcNow >= deadline) return false;
            Thread.Sleep(20);
        }
        return true;
    }

    /// <summary>Waits for one child directly (before the reaper thread runs, as in stage 1).</summary>
    public static unsafe ExitStatus WaitFor(int pid)
    {
        while (true)
        {
            int r = LibC.Wait4(pid, out int status, 0, null);
            if (r == pid) return new ExitStatus(status);
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (r < 0 && errno != EINTR) throw new SyscallException("wait4", pid.ToString(), errno);
        }
    }

    private unsafe void Loop()
    {
        while (true)
        {
            int pid = LibC.Wait4(-1, out int status, 0, null);
            if (pid < 0)
            {
                int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                if (errno == ECHILD) _childStarted.Wait(TimeSpan.FromMilliseconds(500));
                continue;
            }
            Action<int, ExitStatus>? callback;
            lock (_gate)
            {
                if (!_watched.Remove(pid, out callback))
                {
                    Interlocked.Increment(ref _orphansReaped);
                    _unclaimed[pid] = new ExitStatus(status);
                    _unclaimedOrder.Enqueue(pid);
                    while (_unclaimedOrder.Count > UnclaimedKept) _unclaimed.Remove(_unclaimedOrder.Dequeue());
                }
            }
            try { callback?.Invoke(pid, new ExitStatus(status)); }
            catch { /* a callback must never stop reaping */ }
        }
    }
}
