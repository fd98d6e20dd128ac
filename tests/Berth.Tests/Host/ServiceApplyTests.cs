using Berth.Init;
using Berth.Init.Stage2;
using Berth.Runtime.Linux;
using Xunit;

namespace Berth.Tests.Host;

/// <summary>`berth config apply` in the supervisor: only what changed is restarted, with real processes under the reaper.</summary>
[Collection(ReaperCollection.Name)]
public sealed class ServiceApplyTests : IDisposable
{
    private readonly ServiceSupervisor _supervisor = new(ReaperCollection.Reaper);

    public ServiceApplyTests() => BootLog.Quiet = true;

    public void Dispose() => _supervisor.StopAll(TimeSpan.FromSeconds(1));

    private static ServiceDefinition Sleeper(string name, string? fingerprint) => new()
    {
        Name = name,
        Spec = new SpawnSpec { Executable = "/bin/sh", Arguments = ["-c", "exec sleep 60"] },
        Fingerprint = fingerprint,
    };

    private Dictionary<string, ServiceStatus> Snapshot() => _supervisor.Snapshot().ToDictionary(s => s.Name);

    private void WaitRunning(params string[] names) =>
        Assert.True(HostRun.Until(() => names.All(n => Snapshot().TryGetValue(n, out var s) && s.State == ServiceState.Running), TimeSpan.FromSeconds(5)),
            string.Join(", ", _supervisor.Snapshot()));

    [Fact]
    public void Unchanged_services_keep_running_changed_ones_restart_removed_ones_stop_and_new_ones_start()
    {
        _supervisor.StartAll([Sleeper("same", "1"), Sleeper("changed", "1"), Sleeper("gone", "1"), Sleeper("agent", null)]);
        WaitRunning("same", "changed", "gone", "agent");
        var before = Snapshot();

        var report = _supervisor.Apply([Sleeper("same", "1"), Sleeper("changed", "2"), Sleeper("new", "1")], TimeSpan.FromSeconds(2));

        Assert.Equal(["same"], report.Unchanged);
        Assert.Equal(["changed"], report.Restarted);
        Assert.Equal(["gone"], report.Removed);
        Assert.Equal(["new"], report.Added);
        WaitRunning("same", "changed", "new", "agent");
        var after = Snapshot();
        Assert.Equal(before["same"].Pid, after["same"].Pid);
        Assert.Equal(before["agent"].Pid, after["agent"].Pid);
        Assert.NotEqual(before["changed"].Pid, after["changed"].Pid);
        Assert.False(after.ContainsKey("gone"));
        Assert.False(Directory.Exists($"/proc/{before["gone"].Pid}") && File.ReadAllText($"/proc/{before["gone"].Pid}/cmdline").Contains("sleep"),
            "the removed service's process still runs");
        Assert.False(Directory.Exists($"/proc/{before["changed"].Pid}") && File.ReadAllText($"/proc/{before["changed"].Pid}/cmdline").Contains("sleep"),
            "the changed service's old process still runs");
    }

    [Fact]
    public void Applying_the_same_definitions_again_restarts_nothing()
    {
        _supervisor.StartAll([Sleeper("a", "x"), Sleeper("b", "y")]);
        WaitRunning("a", "b");
        var pids = Snapshot().ToDictionary(s => s.Key, s => s.Value.Pid);
        var report = _supervisor.Apply([Sleeper("a", "x"), Sleeper("b", "y")], TimeSpan.FromSeconds(2));
        Assert.Equal(["a", "b"], report.Unchanged.Order());
        Assert.Empty(report.Restarted.Concat(report.Added).Concat(report.Removed));
        Assert.Equal(pids, Snapshot().ToDictionary(s => s.Key, s => s.Value.Pid));
    }
}
