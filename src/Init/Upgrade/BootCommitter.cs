using System.Globalization;
using Berth.Init.Stage2;

namespace Berth.Init.Upgrade;

/// <summary>
/// Says whether this boot is healthy. For now the supervisor's view (every service running,
/// and stable for a settle time); the service supervisor will provide real health checks here.
/// </summary>
public interface IBootHealth
{
    /// <summary>True when healthy; <paramref name="detail"/> says what is not, or what was checked.</summary>
    bool Check(out string detail);
}

/// <summary>Healthy when every supervised service has been running without a restart for the settle time.</summary>
public sealed class SupervisorBootHealth(ServiceSupervisor supervisor, TimeSpan settle) : IBootHealth
{
    public bool Check(out string detail)
    {
        var now = DateTime.UtcNow;
        var services = supervisor.Snapshot();
        // Healthy: running for the settle time and, with a health check, passing it; a one-shot that completed is fine too.
        var bad = services.Where(s => !(s.State == ServiceState.Exited && s.LastExit == "exit code 0")
                                      && (s.State != ServiceState.Running || s.Since is null || now - s.Since < settle
                                          || s.Health is HealthState.Starting or HealthState.Unhealthy)).ToList();
        detail = bad.Count == 0
            ? $"{services.Count} services running for {settle.TotalSeconds:F0}s"
            : string.Join(", ", bad.Select(s => $"{s.Name} {s.State.ToString().ToLowerInvariant()}" +
                                                (s.Health == HealthState.None ? "" : $" ({s.Health.ToString().ToLowerInvariant()})")));
        return bad.Count == 0;
    }
}

/// <summary>
/// PID 1's half of A/B: after the ready line, repairs the grubenv copies, records a failed
/// attempt when GRUB fell back, and commits a trial boot (X_OK=1 X_TRIES=0) once it is healthy;
/// when health is not reached within the timeout it sets X_TRIES=0 and asks for a reboot, so
/// GRUB boots the other slot. Never throws: a problem with grubenv is a warning, not a boot failure.
/// </summary>
public sealed class BootCommitter
{
    private readonly Func<IEnvBlockCopies> _openEnv;
    private readonly char _booted;
    private readonly string _bootedVersion;
    private readonly IBootHealth _health;
    private readonly TimeSpan _timeout;
    private readonly Action<string> _reboot;
    private readonly Action<string> _info, _warn;
    private readonly TimeSpan _poll;

    public BootCommitter(Func<IEnvBlockCopies> openEnv, char booted, string bootedVersion, IBootHealth health, TimeSpan timeout,
        Action<string> reboot, Action<string> info, Action<string> warn, TimeSpan? poll = null)
    {
        _openEnv = openEnv;
        _booted = booted;
        _bootedVersion = bootedVersion;
        _health = health;
        _timeout = timeout;
        _reboot = reboot;
        _info = info;
        _warn = warn;
        _poll = poll ?? TimeSpan.FromSeconds(1);
    }

    public enum Outcome { AlreadyCommitted, Committed, HealthFailed, Error }

    public static void StartInBackground(BootCommitter committer) =>
        new Thread(() => committer.Run()) { IsBackground = true, Name = "boot-commit" }.Start();

    public Outcome Run()
    {
        IEnvBlockCopies? copies = null;
        try
        {
            copies = _openEnv();
            var store = new GrubEnvStore(copies);
            if (store.Repair() is { } repaired) (repaired.WasCorrupt ? _warn : _info)($"grubenv: {repaired.Message}");
            var state = store.Load().State;
            NoteFallback(state);
            if (state[_booted].Ok)
            {
                _info($"slot {_booted} is committed ({state.Describe()})");
                return Outcome.AlreadyCommitted;
            }
            _info($"slot {_booted} is on trial ({state.Describe()}); committing it once the boot is healthy (timeout {_timeout.TotalSeconds:F0}s)");
            var deadline = DateTime.UtcNow + _timeout;
            string detail;
            while (!_health.Check(out detail))
            {
                if (DateTime.UtcNow >= deadline)
                {
                    var after = store.Update(e => AbState.Apply(e, _booted, new SlotFlags(false, 0)));
                    string why = $"slot {_booted} not healthy within {_timeout.TotalSeconds:F0}s ({detail}); giving it up: {after.Describe()}";
                    _warn(why);
                    Record("failed", why);
                    _reboot(why);
                    return Outcome.HealthFailed;
                }
                Thread.Sleep(_poll);
            }
            var committed = store.Update(e => AbState.Apply(e, _booted, new SlotFlags(true, 0)));
            BootLog.Notice($"slot {_booted} committed: {detail}; {committed.Describe()}");
            Record("committed", $"slot {_booted} healthy ({detail})");
            return Outcome.Committed;
        }
        catch (Exception e)
        {
            _warn($"A/B: {e.Message}");
            return Outcome.Error;
        }
        finally { (copies as IDisposable)?.Dispose(); }
    }

    /// <summary>An installed upgrade whose slot did not come up: GRUB used its tries and booted this slot instead.</summary>
    private void NoteFallback(AbState state)
    {
        var last = UpgradeHistory.Last();
        if (last is not { Result: "installed" or "writing" } || last.Slot.Length != 1) return;
        char slot = last.Slot[0];
        if (last.Result == "writing")
        {
            // the upgrade process never finished: a power cut or crash while the slot was written
            last.Result = "failed";
            last.Detail = $"interrupted while writing slot {slot} (power cut or crash); slot {slot} stays marked bad";
            _warn("upgrade " + last.Detail);
            UpgradeHistory.TrySave(last, _warn);
            return;
        }
        if (slot == _booted) return;
        if (state[slot].Bootable) return;
        last.Result = "failed";
        last.Detail = string.Create(CultureInfo.InvariantCulture,
            $"slot {slot} ({last.Version}) did not boot healthy in {AbState.MaxTries} tries; back on slot {_booted} ({_bootedVersion})");
        _warn("upgrade " + last.Detail);
        UpgradeHistory.TrySave(last, _warn);
    }

    private void Record(string result, string detail)
    {
        var last = UpgradeHistory.Last();
        if (last is null || last.Slot != _booted.ToString()) return;
        last.Result = result;
        last.Detail = detail;
        UpgradeHistory.TrySave(last, _warn);
    }
}
