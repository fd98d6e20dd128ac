using Berth.Init;
using Berth.Init.Stage2;
using Berth.Runtime.Linux;
using Xunit;

namespace Berth.Tests.Host;

/// <summary>depends_on, health checks, one-shots and the crash-loop hold-off, with real processes under the reaper.</summary>
[Collection(ReaperCollection.Name)]
public sealed class ServiceDependencyTests : IDisposable
{
    private readonly ServiceSupervisor _supervisor = new(ReaperCollection.Reaper);
    private readonly TempDir _dir = new();

    public ServiceDependencyTests() => BootLog.Quiet = true;

    public void Dispose()
    {
        _supervisor.StopAll(TimeSpan.FromSeconds(1));
        _dir.Dispose();
    }

    private static ServiceDefinition Sh(string name, string script, params ServiceDependency[] deps) => new()
    {
        Name = name,
        Spec = new SpawnSpec { Executable = "/bin/sh", Arguments = ["-c", script] },
        DependsOn = deps,
    };

    private ServiceStatus Status(string name) => _supervisor.Snapshot().Single(s => s.Name == name);

    private void WaitFor(string name, Func<ServiceStatus, bool> condition, double seconds = 5) =>
        Assert.True(HostRun.Until(() => condition(Status(name)), TimeSpan.FromSeconds(seconds)), $"{name}: {Status(name)}");

    [Fact]
    public void A_service_waits_until_its_dependency_is_healthy()
    {
        string ready = _dir["ready"];
        var db = Sh("db", "exec sleep 60") with
        {
            Health = new HealthCheck { Command = ["/bin/test", "-e", ready], Interval = TimeSpan.FromMilliseconds(100), Retries = 1 },
        };
        var app = Sh("app", "exec sleep 60", new ServiceDependency("db", DependencyCondition.Healthy));
        _supervisor.StartAll([db, app]);
        WaitFor("db", s => s.State == ServiceState.Running);
        // Under load the first probe can take a while: wait for the verdict instead of a fixed sleep.
        WaitFor("db", s => s.Health == HealthState.Unhealthy);
        Thread.Sleep(300);
        Assert.Equal(ServiceState.Waiting, Status("app").State);
        File.WriteAllText(ready, "");
        WaitFor("db", s => s.Health == HealthState.Healthy);
        WaitFor("app", s => s.State == ServiceState.Running);
    }

    [Fact]
    public void Completed_waits_for_a_one_shot_to_exit_0_and_started_does_not_wait()
    {
        string marker = _dir["migrated"];
        var migrate = Sh("migrate", $"sleep 0.5; touch {marker}") with { OneShot = true };
        var web = Sh("web", $"test -e {marker} && exec sleep 60; exit 9", new ServiceDependency("migrate", DependencyCondition.Completed));
        var side = Sh("side", "exec sleep 60", new ServiceDependency("migrate"));
        _supervisor.StartAll([migrate, web, side]);
        WaitFor("side", s => s.State == ServiceState.Running, 2);
        Assert.False(File.Exists(marker), "started waited for completion");
        WaitFor("web", s => s.State == ServiceState.Running);
        WaitFor("migrate", s => s.State == ServiceState.Exited);
        Assert.Equal(0, Status("migrate").Restarts);
        Assert.Equal(0, Status("web").Restarts);
    }

    [Fact]
    public void Unknown_dependencies_and_cycles_fail_with_the_reason_and_do_not_hold_up_the_rest()
    {
        _supervisor.StartAll([
            Sh("a", "exec sleep 60", new ServiceDependency("b")),
            Sh("b", "exec sleep 60", new ServiceDependency("a")),
            Sh("c", "exec sleep 60", new ServiceDependency("ghost")),
            Sh("d", "exec sleep 60", new ServiceDependency("c")),
            Sh("e", "exec sleep 60"),
        ]);
        WaitFor("e", s => s.State == ServiceState.Running);
        Assert.Equal(ServiceState.Failed, Status("a").State);
        Assert.Equal("dependency cycle: a → b → a", Status("a").LastExit);
        Assert.Equal("depends on \"ghost\", which is not a service", Status("c").LastExit);
        Assert.Equal("depends on \"c\", which cannot start", Status("d").LastExit);
    }

    [Fact]
    public void A_dependent_of_a_failed_one_shot_fails_too()
    {
        _supervisor.StartAll([
            Sh("setup", "exit 4") with { OneShot = true },
            Sh("after", "exec sleep 60", new ServiceDependency("setup", DependencyCondition.Completed)),
        ]);
        WaitFor("after", s => s.State == ServiceState.Failed);
        Assert.Equal("dependency \"setup\" is failed, never completed", Status("after").LastExit);
    }

    [Fact]
    public void A_crash_loop_is_held_off()
    {
        _supervisor.Start(Sh("loop", "exit 1") with { Restart = RestartPolicy.Always });
        WaitFor("loop", s => s.State == ServiceState.HeldOff, 10);
        int restarts = Status("loop").Restarts;
        Assert.Equal(4, restarts); // the 5th failure within a minute starts the hold-off
        Thread.Sleep(1000);
        Assert.Equal(restarts, Status("loop").Restarts);
        Assert.Equal(ServiceState.HeldOff, Status("loop").State);
    }

    [Fact]
    public void StopAll_stops_dependents_before_what_they_depend_on()
    {
        string log = _dir["stops"];
        string Stopper(string name) => $"trap 'echo {name} >> {log}; exit 0' TERM; while true; do sleep 0.05; done";
        _supervisor.StartAll([
            Sh("base", Stopper("base")),
            Sh("middle", Stopper("middle"), new ServiceDependency("base")),
            Sh("top", Stopper("top"), new ServiceDependency("middle")),
        ]);
        WaitFor("top", s => s.State == ServiceState.Running);
        Thread.Sleep(200); // let every shell install its trap
        _supervisor.StopAll(TimeSpan.FromSeconds(3));
        Assert.Equal(["top", "middle", "base"], File.ReadAllLines(log));
    }
}
