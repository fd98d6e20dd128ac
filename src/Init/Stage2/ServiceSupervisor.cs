using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Init.Stage2;

public enum RestartPolicy { No, OnFailure, Always }

public enum ServiceState { Waiting, Running, BackingOff, Stopping, Stopped, Exited, Failed }

/// <summary>A process PID 1 keeps running.</summary>
public sealed class ServiceDefinition
{
    public required string Name { get; init; }
    public required SpawnSpec Spec { get; init; }
    public RestartPolicy Restart { get; init; } = RestartPolicy.Always;
    public int StopSignal { get; init; } = SIGTERM;
}

/// <summary>What the supervisor knows about one service right now.</summary>
public sealed record ServiceStatus(string Name, ServiceState State, int Pid, int Restarts, DateTime? Since, string? LastExit);

/// <summary>
/// Starts services, restarts them by their policy with exponential backoff (100 ms doubling to
/// 30 s, reset after 10 s of healthy running, as runit and s6 do), and stops them in reverse order.
/// </summary>
public sealed class ServiceSupervisor
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StableAfter = TimeSpan.FromSeconds(10);

    private readonly ChildReaper _reaper;
    private readonly List<Service> _services = new();
    private readonly object _gate = new();
    private bool _stopping;

    public ServiceSupervisor(ChildReaper reaper) => _reaper = reaper;

    private sealed class Service(ServiceDefinition definition)
    {
        public ServiceDefinition Definition { get; } = definition;
        public ServiceState State = ServiceState.Waiting;
        public int Pid;
        public int Restarts;
        public DateTime? StartedAt;
        public string? LastExit;
        public TimeSpan Backoff = FirstBackoff;
        public Timer? RestartTimer;
        public readonly ManualResetEventSlim Exited = new(true);
    }

    public int Count { get { lock (_gate) return _services.Count; } }

    public void Start(ServiceDefinition definition)
    {
        var service = new Service(definition);
        lock (_gate) _services.Add(service);
        Launch(service);
    }

    private void Launch(Service service)
    {
        lock (_gate)
        {
            if (_stopping) return;
            try
            {
                service.Exited.Reset();
                service.Pid = _reaper.Spawn(service.Definition.Spec, (pid, status) => OnExit(service, status));
                service.State = ServiceState.Running;
                service.StartedAt = DateTime.UtcNow;
                BootLog.Info($"service {service.Definition.Name} started (pid {service.Pid})");
            }
            catch (Exception e)
            {
                service.Exited.Set();
                service.LastExit = e.Message;
                BootLog.Error($"service {service.Definition.Name}: {e.Message}");
                ScheduleRestart(service, failed: true);
            }
        }
    }

    private void OnExit(Service service, ExitStatus status)
    {
        lock (_gate)
        {
            service.Pid = 0;
            service.LastExit = status.ToString();
            service.Exited.Set();
            if (_stopping || service.State == ServiceState.Stopping)
            {
                service.State = ServiceState.Stopped;
                return;
            }
            if (service.StartedAt is { } started && DateTime.UtcNow - started >= StableAfter)
                service.Backoff = FirstBackoff;
            bool failed = !(status.Exited && status.Code == 0);
            BootLog.Info($"service {service.Definition.Name} ended: {status}");
            ScheduleRestart(service, failed);
        }
    }

    private void ScheduleRestart(Service service, bool failed)
    {
        var policy = service.Definition.Restart;
        if (policy == RestartPolicy.No || (policy == RestartPolicy.OnFailure && !failed))
        {
            service.State = failed ? ServiceState.Failed : ServiceState.Exited;
            return;
        }
        service.State = ServiceState.BackingOff;
        var delay = service.Backoff;
        service.Backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, service.Backoff.Ticks * 2));
        service.RestartTimer?.Dispose();
        service.RestartTimer = new Timer(_ =>
        {
            lock (_gate) service.Restarts++;
            Launch(service);
        }, null, delay, Timeout.InfiniteTimeSpan);
    }

    public IReadOnlyList<ServiceStatus> Snapshot()
    {
        lock (_gate)
            return _services.Select(s => new ServiceStatus(s.Definition.Name, s.State, s.Pid, s.Restarts,
                s.StartedAt, s.LastExit)).ToList();
    }

    /// <summary>Stops every service, last started first: its stop signal, then SIGKILL after the grace period.</summary>
    public void StopAll(TimeSpan grace)
    {
        List<Service> services;
        lock (_gate)
        {
            _stopping = true;
            services = _services.AsEnumerable().Reverse().ToList();
            foreach (var s in services)
            {
                s.RestartTimer?.Dispose();
                if (s.State == ServiceState.BackingOff) s.State = ServiceState.Stopped;
            }
        }
        foreach (var s in services)
        {
            int pid;
            lock (_gate)
            {
                pid = s.Pid;
                if (pid == 0) continue;
                s.State = ServiceState.Stopping;
            }
            SystemControl.Kill(pid, s.Definition.StopSignal);
            SystemControl.Kill(pid, SIGCONT);
            if (!s.Exited.Wait(grace))
            {
                BootLog.Warn($"service {s.Definition.Name} (pid {pid}) ignored its stop signal; killing it");
                SystemControl.Kill(pid, SIGKILL);
                s.Exited.Wait(TimeSpan.FromSeconds(2));
            }
        }
    }
}
