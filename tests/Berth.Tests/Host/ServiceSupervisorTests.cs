using System.Diagnostics;
using Berth.Init;
using Berth.Init.Stage2;
using Berth.Runtime.Linux;
using Xunit;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Tests.Host;

/// <summary>ServiceSupervisor with a real ChildReaper; the test process is not PID 1, but its direct children are its own to reap.</summary>
[Collection(ReaperCollection.Name)]
public sealed class ServiceSupervisorTests : IDisposable
{
    private readonly ServiceSupervisor _supervisor = new(ReaperCollection.Reaper);
    private readonly TempDir _dir = new();

    public ServiceSupervisorTests() => BootLog.Quiet = true;

    public void Dispose()
    {
        _supervisor.StopAll(TimeSpan.FromSeconds(1)); // no service may outlive its test
        _dir.Dispose();
    }

    private static ServiceDefinition Sh(string name, string script, RestartPolicy restart, int stopSignal = SIGTERM) => new()
    {
        Name = name,
        Spec = new SpawnSpec { Executable = "/bin/sh", Arguments = ["-c", script] },
        Restart = restart,
        StopSignal = stopSignal,
    };

    private ServiceStatus Status(string name) => _supervisor.Snapshot().Single(s => s.Name == name);

    private void WaitForState(string name, ServiceState state, TimeSpan? timeout = null) =>
        Assert.True(HostRun.Until(() => Status(name).State == state, timeout ?? TimeSpan.FromSeconds(2)),
            $"{name} is {Status(name)} instead of {state}");

    private static bool SignalBitSet(int pid, string field, int signal)
    {
        var status = PseudoFile.TryRead($"/proc/{pid}/status");
        return status is not null && (HostRun.SignalMask(status, field) & HostRun.Bit(signal)) != 0;
    }

    [Fact]
    public void Always_restarts_a_failing_service_with_growing_delays()
    {
        var sw = Stopwatch.StartNew();
        _supervisor.Start(Sh("crashy", "exit 3", RestartPolicy.Always));
        var seenAt = new List<long>(); // ms at which restart 1, 2, 3 were first seen
        Assert.True(HostRun.Until(() =>
        {
            int r = Status("crashy").Restarts;
            while (seenAt.Count < r) seenAt.Add(sw.ElapsedMilliseconds);
            return r >= 3;
        }, TimeSpan.FromSeconds(3), pollMs: 2), $"restarts: {Status("crashy").Restarts}");

        // 100 ms, then 200 ms, then 400 ms (timers may fire a millisecond early; polling adds a little)
        Assert.True(seenAt[1] >= 290, $"two restarts after {seenAt[1]} ms");
        Assert.True(seenAt[1] - seenAt[0] >= 180, $"second delay {seenAt[1] - seenAt[0]} ms");
        Assert.True(seenAt[2] - seenAt[1] >= 370, $"third delay {seenAt[2] - seenAt[1]} ms");
        Assert.True(seenAt[2] - seenAt[1] > seenAt[1] - seenAt[0] + 100, $"delays do not grow: {string.Join(", ", seenAt)}");
        Assert.Equal("exit code 3", Status("crashy").LastExit);
    }

    [Fact]
    public void StopAll_cancels_a_pending_restart()
    {
        _supervisor.Start(Sh("crashy", "exit 1", RestartPolicy.Always));
        WaitForState("crashy", ServiceState.BackingOff);
        _supervisor.StopAll(TimeSpan.FromSeconds(1));
        int restarts = Status("crashy").Restarts;
        Thread.Sleep(400); // longer than the pending 100 or 200 ms backoff
        Assert.Equal(restarts, Status("crashy").Restarts);
        Assert.Equal(0, Status("crashy").Pid);
    }

    [Fact]
    public void Policy_No_ends_Failed_with_the_exit_code_and_is_not_restarted()
    {
        _supervisor.Start(Sh("once", "exit 3", RestartPolicy.No));
        WaitForState("once", ServiceState.Failed);
        Thread.Sleep(250);
        var s = Status("once");
        Assert.Equal(ServiceState.Failed, s.State);
        Assert.Equal("exit code 3", s.LastExit);
        Assert.Equal(0, s.Restarts);
        Assert.Equal(0, s.Pid);
    }

    [Fact]
    public void Policy_No_killed_by_a_signal_is_Failed()
    {
        _supervisor.Start(Sh("killed", "kill -KILL $$", RestartPolicy.No));
        WaitForState("killed", ServiceState.Failed);
        Assert.Equal("killed by signal 9", Status("killed").LastExit);
    }

    [Fact]
    public void OnFailure_with_exit_0_ends_Exited()
    {
        _supervisor.Start(Sh("oneshot", "exit 0", RestartPolicy.OnFailure));
        WaitForState("oneshot", ServiceState.Exited);
        Thread.Sleep(250);
        var s = Status("oneshot");
        Assert.Equal(ServiceState.Exited, s.State);
        Assert.Equal("exit code 0", s.LastExit);
        Assert.Equal(0, s.Restarts);
    }

    [Fact]
    public void OnFailure_with_a_failure_restarts()
    {
        _supervisor.Start(Sh("flaky", "exit 2", RestartPolicy.OnFailure));
        Assert.True(HostRun.Until(() => Status("flaky").Restarts >= 1, TimeSpan.FromSeconds(2)));
        Assert.Equal("exit code 2", Status("flaky").LastExit);
    }

    [Fact]
    public void Always_restarts_even_a_clean_exit()
    {
        _supervisor.Start(Sh("loop", "exit 0", RestartPolicy.Always));
        Assert.True(HostRun.Until(() => Status("loop").Restarts >= 1, TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public void Running_service_snapshot()
    {
        var before = DateTime.UtcNow;
        _supervisor.Start(new ServiceDefinition { Name = "sleeper", Spec = new SpawnSpec { Executable = "/bin/sleep", Arguments = ["1000"] } });
        var s = Status("sleeper");
        Assert.Equal(ServiceState.Running, s.State);
        Assert.True(s.Pid > 0);
        // vfork releases the parent before execve renames the task: give the name a moment to change.
        string Comm() => File.ReadAllText($"/proc/{s.Pid}/comm").TrimEnd('\n');
        var deadline = DateTime.UtcNow.AddSeconds(2);
        while (Comm() != "sleep" && DateTime.UtcNow < deadline) Thread.Sleep(5);
        Assert.Equal("sleep", Comm());
        Assert.NotNull(s.Since);
        Assert.InRange(s.Since.Value, before, DateTime.UtcNow);
        Assert.Null(s.LastExit);
        Assert.Equal(1, _supervisor.Count);
    }

    [Fact]
    public void StopAll_stops_a_service_with_SIGTERM()
    {
        _supervisor.Start(new ServiceDefinition { Name = "sleeper", Spec = new SpawnSpec { Executable = "/bin/sleep", Arguments = ["1000"] } });
        int pid = Status("sleeper").Pid;
        var sw = Stopwatch.StartNew();
        _supervisor.StopAll(TimeSpan.FromSeconds(2));
        Assert.True(sw.ElapsedMilliseconds < 1500, $"StopAll took {sw.ElapsedMilliseconds} ms");
        var s = Status("sleeper");
        Assert.Equal(ServiceState.Stopped, s.State);
        Assert.Equal("killed by signal 15", s.LastExit);
        Assert.Equal(0, s.Pid);
        Assert.False(Directory.Exists($"/proc/{pid}"), "the service was not reaped");
    }

    [Fact]
    public void StopAll_uses_the_services_stop_signal()
    {
        _supervisor.Start(new ServiceDefinition
        {
            Name = "int", Spec = new SpawnSpec { Executable = "/bin/sleep", Arguments = ["1000"] }, StopSignal = SIGINT,
        });
        _supervisor.StopAll(TimeSpan.FromSeconds(2));
        Assert.Equal("killed by signal 2", Status("int").LastExit);
    }

    [Fact]
    public void StopAll_kills_a_service_that_ignores_SIGTERM_after_the_grace_period()
    {
        // `trap '' TERM` makes SIGTERM ignored, and an ignored signal stays ignored across exec.
        _supervisor.Start(Sh("stubborn", "trap '' TERM; exec sleep 1000", RestartPolicy.Always));
        int pid = Status("stubborn").Pid;
        Assert.True(HostRun.Until(() => SignalBitSet(pid, "SigIgn", SIGTERM)
            && PseudoFile.TryRead($"/proc/{pid}/comm") == "sleep\n", TimeSpan.FromSeconds(2)), "the service never ignored SIGTERM");

        var sw = Stopwatch.StartNew();
        _supervisor.StopAll(TimeSpan.FromMilliseconds(300));
        long ms = sw.ElapsedMilliseconds;
        Assert.InRange(ms, 295, 2000);
        var s = Status("stubborn");
        Assert.Equal(ServiceState.Stopped, s.State);
        Assert.Equal("killed by signal 9", s.LastExit);
        Assert.Equal(0, s.Restarts);
        Assert.False(Directory.Exists($"/proc/{pid}"), "the service was not reaped");
    }

    [Fact]
    public void StopAll_stops_services_in_reverse_start_order()
    {
        string log = _dir["order"];
        foreach (var name in new[] { "first", "second", "third" })
            _supervisor.Start(Sh(name, $"trap 'echo {name} >> \"{log}\"; exit 0' TERM; while :; do sleep 0.02; done", RestartPolicy.Always));
        var pids = _supervisor.Snapshot().Select(s => s.Pid).ToList();
        Assert.True(HostRun.Until(() => pids.All(p => SignalBitSet(p, "SigCgt", SIGTERM)), TimeSpan.FromSeconds(2)), "traps not installed");

        _supervisor.StopAll(TimeSpan.FromSeconds(2));
        Assert.Equal("third\nsecond\nfirst\n", File.ReadAllText(log));
        Assert.All(_supervisor.Snapshot(), s => Assert.Equal((ServiceState.Stopped, "exit code 0"), (s.State, s.LastExit)));
    }

    [Fact]
    public void Service_whose_executable_is_missing_fails_with_the_spawn_error()
    {
        _supervisor.Start(new ServiceDefinition
        {
            Name = "ghost", Spec = new SpawnSpec { Executable = "/nonexistent/berth-service" }, Restart = RestartPolicy.No,
        });
        var s = Status("ghost");
        Assert.Equal(ServiceState.Failed, s.State);
        Assert.Equal("posix_spawn /nonexistent/berth-service failed: ENOENT (No such file or directory)", s.LastExit);
        Assert.Equal(0, s.Pid);
    }

    [Fact]
    public void Services_started_after_StopAll_are_not_launched()
    {
        _supervisor.StopAll(TimeSpan.FromSeconds(1));
        _supervisor.Start(new ServiceDefinition { Name = "late", Spec = new SpawnSpec { Executable = "/bin/sleep", Arguments = ["1000"] } });
        var s = Status("late");
        Assert.Equal(ServiceState.Waiting, s.State);
        Assert.Equal(0, s.Pid);
    }
}
