using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Init.Stage2;

public enum RestartPolicy { No, OnFailure, Always }

public enum ServiceState { Waiting, Running, BackingOff, HeldOff, Stopping, Stopped, Exited, Failed }

/// <summary>A process PID 1 keeps running: a plain process (<see cref="Spec"/>) or an OCI bundle run as a container.</summary>
public sealed record ServiceDefinition
{
    public required string Name { get; init; }
    public SpawnSpec? Spec { get; init; }
    /// <summary>An OCI bundle directory; the service then runs as container <see cref="Name"/>.</summary>
    public string? Bundle { get; init; }
    /// <summary>
    /// Makes the bundle when the service is about to start (a user service's image unpacked and
    /// mounted): the slow part of a start runs on the service's own thread, not on the boot path;
    /// warnings go to its log. Used when <see cref="Bundle"/> is null.
    /// </summary>
    public Func<List<string>, string>? PrepareBundle { get; init; }
    public bool IsContainer => Bundle is not null || PrepareBundle is not null;
    /// <summary>The service's log: the supervisor's notes, and its stdout and stderr when <see cref="CaptureOutput"/>.</summary>
    public ServiceLog? Log { get; init; }
    /// <summary>False for a service whose stdio is a terminal it opens itself (a getty).</summary>
    public bool CaptureOutput { get; init; } = true;
    public RestartPolicy Restart { get; init; } = RestartPolicy.Always;
    public int StopSignal { get; init; } = SIGTERM;
    public IReadOnlyList<ServiceDependency> DependsOn { get; init; } = [];
    public HealthCheck? Health { get; init; }
    /// <summary>Runs to completion (bootcmd-like): never restarted; exit 0 satisfies "completed" dependents.</summary>
    public bool OneShot { get; init; }
    /// <summary>
    /// What the definition was made from (the service's config and the config.json it leads to):
    /// `berth config apply` restarts a service when this changes. Null for services config does
    /// not declare (the agent, the console), which apply never touches.
    /// </summary>
    public string? Fingerprint { get; init; }
}

/// <summary>What the supervisor knows about one service right now.</summary>
public sealed record ServiceStatus(string Name, ServiceState State, int Pid, int Restarts, DateTime? Since, string? LastExit,
    string Kind = "process", HealthState Health = HealthState.None);

/// <summary>
/// Starts services once their dependencies are met (each waits for its own, so the graph starts
/// as parallel as it allows), restarts them by their policy with exponential backoff (100 ms
/// doubling to 30 s, reset after 10 s of running, as runit and s6 do) and holds a crash loop off
/// (5 failures within a minute: a minute's pause), runs their health checks, and stops them
/// dependents first.
/// </summary>
public sealed class ServiceSupervisor
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StableAfter = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan CrashLoopWindow = TimeSpan.FromSeconds(60);
    private const int CrashLoopFailures = 5;
    private static readonly TimeSpan CrashLoopHoldOff = TimeSpan.FromSeconds(60);

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
        public HealthState Health;
        public int HealthFailures;
        public Timer? HealthTimer;
        /// <summary>Counts launches, so a health check that outlives its run cannot speak for the next one.</summary>
        public int Generation;
        public bool Completed;
        public readonly Queue<DateTime> RecentFailures = new();
        /// <summary>Uptime (ms) of the first launch, and of its reaching running and healthy: the boot timeline's entries.</summary>
        public double FirstLaunchMs, FirstRunningMs, FirstHealthyMs;
    }

    public int Count { get { lock (_gate) return _services.Count; } }

    public void Start(ServiceDefinition definition) => StartAll([definition]);

    /// <summary>
    /// Adds the services and starts each as soon as its dependencies allow. One that can never start
    /// (unknown dependency, cycle) is Failed with the reason; the rest are not held up by it.
    /// </summary>
    public void StartAll(IReadOnlyList<ServiceDefinition> definitions)
    {
        var services = definitions.Select(d => new Service(d)).ToList();
        IReadOnlyDictionary<string, string> problems;
        lock (_gate)
        {
            _services.AddRange(services);
            problems = ServiceGraph.Problems(_services.Select(x => x.Definition).ToList());
        }
        foreach (var service in services)
        {
            if (problems.TryGetValue(service.Definition.Name, out var problem))
            {
                lock (_gate)
                {
                    service.State = ServiceState.Failed;
                    service.LastExit = problem;
                    Monitor.PulseAll(_gate);
                }
                BootLog.Error($"service {service.Definition.Name}: {problem}");
            }
            else if (service.Definition.DependsOn.Count == 0) Launch(service);
            else new Thread(() => StartWhenReady(service)) { IsBackground = true, Name = "wait " + service.Definition.Name }.Start();
        }
    }

    private void StartWhenReady(Service service)
    {
        lock (_gate)
        {
            while (true)
            {
                if (_stopping || service.State != ServiceState.Waiting) return;
                string? blocked = null, impossible = null;
                foreach (var d in service.Definition.DependsOn)
                {
                    var other = _services.First(x => x.Definition.Name == d.Name);
                    if (Satisfied(other, d.Condition)) continue;
                    if (CannotSatisfy(other, d.Condition)) impossible = $"dependency \"{d.Name}\" is {other.State.ToString().ToLowerInvariant()}, never {d.Condition.ToString().ToLowerInvariant()}";
                    blocked = d.Name;
                    break;
                }
                if (impossible is not null)
                {
                    service.State = ServiceState.Failed;
                    service.LastExit = impossible;
                    BootLog.Error($"service {service.Definition.Name}: {impossible}");
                    Monitor.PulseAll(_gate);
                    return;
                }
                if (blocked is null) break;
                Monitor.Wait(_gate, 1000);
            }
        }
        Launch(service);
    }

    private static bool Satisfied(Service s, DependencyCondition condition) => condition switch
    {
        DependencyCondition.Started => s.State == ServiceState.Running || s.Completed,
        DependencyCondition.Healthy => (s.State == ServiceState.Running && (s.Definition.Health is null || s.Health == HealthState.Healthy)) || s.Completed,
        _ => s.Completed,
    };

    /// <summary>Whether a dependency has ended in a way that will not change by itself (no restart coming).</summary>
    private static bool CannotSatisfy(Service s, DependencyCondition condition) =>
        s.State is ServiceState.Failed or ServiceState.Stopped || (s.State == ServiceState.Exited && !s.Completed);

    private void Launch(Service service)
    {
        string? prepared = null;
        Exception? prepareFailed = null;
        if (service.Definition is { Bundle: null, PrepareBundle: { } prepare })
        {
            var warnings = new List<string>();
            try { prepared = prepare(warnings); }
            catch (Exception e) { prepareFailed = e; }
            foreach (var w in warnings) service.Log?.Note($"warning: {w}");
        }
        lock (_gate)
        {
            if (_stopping) return;
            try
            {
                service.Exited.Reset();
                var d = service.Definition;
                if (service.FirstLaunchMs == 0) service.FirstLaunchMs = BootTimeline.NowMs;
                if (prepareFailed is not null) throw new InvalidOperationException($"preparing its container: {prepareFailed.Message}", prepareFailed);
                if ((d.Bundle ?? prepared) is { } bundle)
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
                service.Generation++;
                if (service.FirstRunningMs == 0 && service.State == ServiceState.Running) service.FirstRunningMs = BootTimeline.NowMs;
                service.Log?.Note($"started (pid {service.Pid})");
                BootLog.Info($"service {d.Name} started (pid {service.Pid})");
                if (d.Health is { } health && service.State == ServiceState.Running) StartHealthChecks(service, health);
                Monitor.PulseAll(_gate);
            }
            catch (Exception e)
            {
                service.Exited.Set();
                service.LastExit = e.Message;
                BootLog.Error($"service {service.Definition.Name}: {e.Message}");
                service.Log?.Note($"cannot start: {e.Message}");
                ScheduleRestart(service, failed: true);
                Monitor.PulseAll(_gate);
            }
        }
    }

    private void OnExit(Service service, ExitStatus status)
    {
        // The reaper's thread must go back to reaping: the container's teardown runs elsewhere.
        if (service.Definition.IsContainer)
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
            service.HealthTimer?.Dispose();
            service.HealthTimer = null;
            service.Health = HealthState.None;
            Monitor.PulseAll(_gate);
            if (_stopping || service.State == ServiceState.Stopping)
            {
                service.State = ServiceState.Stopped;
                return;
            }
            if (service.Definition.OneShot && status.Exited && status.Code == 0) service.Completed = true;
            if (service.StartedAt is { } started && DateTime.UtcNow - started >= StableAfter)
                service.Backoff = FirstBackoff;
            bool failed = !(status.Exited && status.Code == 0);
            BootLog.Info($"service {service.Definition.Name} ended: {status}");
            ScheduleRestart(service, failed);
        }
    }

    private void ScheduleRestart(Service service, bool failed)
    {
        var policy = service.Definition.OneShot ? RestartPolicy.No : service.Definition.Restart;
        if (policy == RestartPolicy.No || (policy == RestartPolicy.OnFailure && !failed))
        {
            service.State = failed ? ServiceState.Failed : ServiceState.Exited;
            return;
        }
        service.State = ServiceState.BackingOff;
        var delay = service.Backoff;
        service.Backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, service.Backoff.Ticks * 2));
        if (failed)
        {
            var now = DateTime.UtcNow;
            service.RecentFailures.Enqueue(now);
            while (service.RecentFailures.Count > 0 && now - service.RecentFailures.Peek() > CrashLoopWindow) service.RecentFailures.Dequeue();
            if (service.RecentFailures.Count >= CrashLoopFailures)
            {
                // A crash loop costs the machine a start every few seconds and floods the log: pause it.
                delay = CrashLoopHoldOff;
                service.RecentFailures.Clear();
                service.State = ServiceState.HeldOff;
                string why = $"crash loop ({CrashLoopFailures} failures within {CrashLoopWindow.TotalSeconds:0} s): held off for {CrashLoopHoldOff.TotalSeconds:0} s";
                service.Log?.Note(why);
                BootLog.Warn($"service {service.Definition.Name}: {why}");
            }
        }
        service.RestartTimer?.Dispose();
        service.RestartTimer = new Timer(_ =>
        {
            lock (_gate) service.Restarts++;
            Launch(service);
        }, null, delay, Timeout.InfiniteTimeSpan);
    }

    private void StartHealthChecks(Service service, HealthCheck health)
    {
        service.Health = HealthState.Starting;
        service.HealthFailures = 0;
        int generation = service.Generation;
        service.HealthTimer?.Dispose();
        service.HealthTimer = new Timer(_ => CheckHealth(service, health, generation), null, health.Interval, health.Interval);
    }

    private void CheckHealth(Service service, HealthCheck health, int generation)
    {
        lock (_gate)
            if (service.Generation != generation || service.State != ServiceState.Running || !Monitor.TryEnter(service)) return;
        try
        {
            bool ok = HealthProbe.Run(service.Definition, health, _reaper, _containers, out string detail);
            lock (_gate)
            {
                if (service.Generation != generation || service.State != ServiceState.Running) return;
                var before = service.Health;
                if (ok)
                {
                    service.HealthFailures = 0;
                    service.Health = HealthState.Healthy;
                    if (service.FirstHealthyMs == 0) service.FirstHealthyMs = BootTimeline.NowMs;
                }
                else if (service.StartedAt is { } started && DateTime.UtcNow - started < health.StartPeriod) { }
                else if (++service.HealthFailures >= health.Retries) service.Health = HealthState.Unhealthy;
                if (before != service.Health)
                {
                    service.Log?.Note($"health: {service.Health.ToString().ToLowerInvariant()}{(ok ? "" : $" ({detail})")}");
                    if (service.Health == HealthState.Unhealthy) BootLog.Warn($"service {service.Definition.Name} is unhealthy: {detail}");
                    Monitor.PulseAll(_gate);
                }
            }
        }
        finally { Monitor.Exit(service); }
    }

    /// <summary>
    /// Blocks until every service has settled: running (and healthy, if it has a check), completed,
    /// or given up on (failed, held off). Returns the names of those still on their way at the timeout.
    /// </summary>
    public IReadOnlyList<string> WaitUntilSettled(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        List<Service> boot;
        // The services there are now: one added later (the test agent, after coldplug) does not hold up the boot.
        lock (_gate) boot = _services.ToList();
        lock (_gate)
        {
            while (true)
            {
                var pending = boot.Where(s => !Settled(s)).Select(s => s.Definition.Name).ToList();
                var left = deadline - DateTime.UtcNow;
                if (pending.Count == 0 || left <= TimeSpan.Zero) return pending;
                Monitor.Wait(_gate, left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
            }
        }
    }

    private static bool Settled(Service s) => s.State switch
    {
        ServiceState.Running => s.Definition.Health is null || s.Health is HealthState.Healthy or HealthState.Unhealthy,
        ServiceState.Waiting or ServiceState.BackingOff or ServiceState.Stopping => false,
        _ => true,
    };

    /// <summary>Each service's first start for the boot timeline: launched, running (or healthy, if it has a check), and what it waited for.</summary>
    public IReadOnlyList<(string Name, double StartMs, double ReadyMs, IReadOnlyList<string> After)> StartTimes()
    {
        lock (_gate)
            return _services.Where(s => s.FirstLaunchMs > 0)
                .Select(s => (s.Definition.Name, s.FirstLaunchMs,
                    s.Definition.Health is null ? s.FirstRunningMs : s.FirstHealthyMs,
                    (IReadOnlyList<string>)s.Definition.DependsOn.Select(d => d.Name).ToList()))
                .ToList();
    }

    public IReadOnlyList<ServiceStatus> Snapshot()
    {
        lock (_gate)
            return _services.Select(s => new ServiceStatus(s.Definition.Name, s.State, s.Pid, s.Restarts,
                s.StartedAt, s.LastExit, s.Definition.IsContainer ? "container" : "process", s.Health)).ToList();
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
            if (service.State is ServiceState.BackingOff or ServiceState.HeldOff or ServiceState.Waiting) service.State = ServiceState.Stopped;
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

    /// <summary>
    /// `berth config apply`: the configured services become <paramref name="desired"/>. A service
    /// whose fingerprint is unchanged keeps running untouched; a changed one is stopped and started
    /// with its new definition; one no longer declared (or turned off) is stopped and removed; a new
    /// one starts. Services without a fingerprint are left alone.
    /// </summary>
    public ApplyReport Apply(IReadOnlyList<ServiceDefinition> desired, TimeSpan grace)
    {
        var report = new ApplyReport();
        var wanted = desired.Where(d => d.Fingerprint is not null).ToDictionary(d => d.Name);
        List<Service> current;
        lock (_gate)
        {
            if (_stopping) throw new InvalidOperationException("the machine is shutting down");
            current = _services.Where(s => s.Definition.Fingerprint is not null).ToList();
        }
        var toStart = new List<ServiceDefinition>();
        foreach (var s in current)
        {
            string name = s.Definition.Name;
            if (wanted.Remove(name, out var next))
            {
                if (next.Fingerprint == s.Definition.Fingerprint) { report.Unchanged.Add(name); continue; }
                report.Restarted.Add(name);
                toStart.Add(next);
            }
            else report.Removed.Add(name);
            StopService(name, grace);
            lock (_gate) _services.Remove(s);
        }
        report.Added.AddRange(wanted.Keys);
        toStart.AddRange(wanted.Values);
        if (toStart.Count > 0) StartAll(toStart);
        return report;
    }

    /// <summary>Stops every service, last started first: its stop signal, then SIGKILL after the grace period.</summary>
    public void StopAll(TimeSpan grace)
    {
        List<Service> services;
        lock (_gate)
        {
            _stopping = true;
            var order = ServiceGraph.StopOrder(_services.Select(x => x.Definition).ToList());
            services = order.Select(n => _services.First(x => x.Definition.Name == n)).ToList();
            Monitor.PulseAll(_gate);
            foreach (var s in services)
            {
                s.RestartTimer?.Dispose();
                if (s.State is ServiceState.BackingOff or ServiceState.HeldOff or ServiceState.Waiting) s.State = ServiceState.Stopped;
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

/// <summary>What `berth config apply` did, by service name.</summary>
public sealed class ApplyReport
{
    public List<string> Added { get; } = [];
    public List<string> Removed { get; } = [];
    public List<string> Restarted { get; } = [];
    public List<string> Unchanged { get; } = [];
}
