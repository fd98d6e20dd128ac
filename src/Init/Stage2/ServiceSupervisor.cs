using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Init.Stage2;

public enum RestartPolicy { No, OnFailure, Always }

public enum ServiceState { Waiting, Running, BackingOff, Stopping, Stopped, Exited, Failed }

/// <summary>A process PID 1 keeps running: a plain process (<see cref="Spec"/>) or an OCI bundle run as a container.</summary>
public sealed class ServiceDefinition
{
    public required string Name { get; init; }
    public SpawnSpec? Spec { get; init; }
    /// <summary>An OCI bundle directory; the service then runs as container <see cref="Name"/>.</summary>
    public string? Bundle { get; init; }
    /// <summary>The service's log: the supervisor's notes, and its stdout and stderr when <see cref="CaptureOutput"/>.</summary>
    public ServiceLog? Log { get; init; }
    /// <summary>False for a service whose stdio is a terminal it opens itself (a getty).</summary>
    public bool CaptureOutput { get; init; } = true;
    public RestartPolicy Restart { get; init; } = RestartPolicy.Always;
    public int StopSignal { get; init; } = SIGTERM;
}

/// <summary>What the supervisor knows about one service right now.</summary>
public sealed record ServiceStatus(string Name, ServiceState State, int Pid, int Restarts, DateTime? Since, string? LastExit, string Kind = "process");

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
    private readonly ContainerServices _containers;
    private readonly List<Service> _services = new();
    private readonly object _gate = new();
    private bool _stopping;

    public ServiceSupervisor(ChildReaper reaper, ContainerServices? containers = null)
    {
        _reaper = reaper;
        _containers = containers ?? new ContainerServices(reaper);
    }

    private sealed class Service(ServiceDefinition definition)
    {
        public ServiceDefinition Definition { get; } = definition;
        public ServiceLog? Log { get; } = definition.Log;
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
                var d = service.Definition;
                if (d.Bundle is { } bundle)
                {
                    service.Pid = _containers.Start(d.Name, bundle, d.CaptureOutput ? d.Log : null);
                    service.State = ServiceState.Running;
                    service.StartedAt = DateTime.UtcNow;
                    // Claimed after the launch: if it has already exited, OnExit runs now (the lock is re-entrant).
                    _reaper.Watch(service.Pid, (_, status) => OnExit(service, status));
                }
                else
                {
                    service.Pid = _reaper.Spawn(d.Spec ?? throw new InvalidOperationException($"service {d.Name} has neither a bundle nor a process"),
                        (_, status) => OnExit(service, status));
                    service.State = ServiceState.Running;
                    service.StartedAt = DateTime.UtcNow;
                }
                service.Log?.Note($"started (pid {service.Pid})");
                BootLog.Info($"service {d.Name} started (pid {service.Pid})");
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
        // The reaper's thread must go back to reaping: the container's teardown runs elsewhere.
        if (service.Definition.Bundle is not null)
        {
            int exited = service.Pid;
            ThreadPool.QueueUserWorkItem(_ => _containers.Remove(service.Definition.Name, exited));
        }
        service.Log?.Note($"ended: {status}");
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
                s.StartedAt, s.LastExit, s.Definition.Bundle is null ? "process" : "container")).ToList();
    }

    private Service Find(string name) =>
        _services.FirstOrDefault(s => s.Definition.Name == name)
        ?? throw new InvalidOperationException($"no service \"{name}\" (berth ps lists them)");

    /// <summary>`berth start`: a stopped, exited or failed service runs again; a running one is left alone.</summary>
    public void StartService(string name)
    {
        Service service;
        lock (_gate)
        {
            service = Find(name);
            if (_stopping) throw new InvalidOperationException("the machine is shutting down");
            if (service.State is ServiceState.Running or ServiceState.Stopping) return;
            service.RestartTimer?.Dispose();
            service.Backoff = FirstBackoff;
        }
        Launch(service);
    }

    /// <summary>`berth stop`: its stop signal, SIGKILL after the grace period; it stays down until started.</summary>
    public void StopService(string name, TimeSpan grace)
    {
        int pid;
        Service service;
        lock (_gate)
        {
            service = Find(name);
            service.RestartTimer?.Dispose();
            if (service.State == ServiceState.BackingOff) service.State = ServiceState.Stopped;
            pid = service.Pid;
            if (pid == 0) return;
            service.State = ServiceState.Stopping;
        }
        SystemControl.Kill(pid, service.Definition.StopSignal);
        SystemControl.Kill(pid, SIGCONT);
        if (!service.Exited.Wait(grace))
        {
            SystemControl.Kill(pid, SIGKILL);
            service.Exited.Wait(TimeSpan.FromSeconds(2));
        }
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
