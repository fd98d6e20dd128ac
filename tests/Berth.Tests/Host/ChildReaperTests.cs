using System.Collections.Concurrent;
using Berth.Runtime.Linux;
using Xunit;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Tests.Host;

[Collection(ReaperCollection.Name)]
public class ChildReaperTests
{
    private static ChildReaper Reaper => ReaperCollection.Reaper;

    [Fact]
    public void Exit_of_every_fast_exiting_child_is_reported_to_its_callback()
    {
        const int n = 100;
        var reported = new ConcurrentDictionary<int, ExitStatus>();
        var spawned = new ConcurrentBag<int>();
        long orphansBefore = Reaper.OrphansReaped;
        Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            int pid = Reaper.Spawn(new SpawnSpec { Executable = "/bin/sh", Arguments = ["-c", $"exit {i % 7}"] },
                (p, status) => reported[p] = status);
            spawned.Add(pid);
        });
        Assert.True(HostRun.Until(() => reported.Count == n, TimeSpan.FromSeconds(10)),
            $"{n - reported.Count} of {n} exits were not reported");
        Assert.Equal(spawned.Order(), reported.Keys.Order());
        Assert.All(reported.Values, s => Assert.True(s.Exited));
        Assert.Equal(Enumerable.Range(0, n).Select(i => i % 7).Order(), reported.Values.Select(s => s.Code).Order());
        Assert.Equal(orphansBefore, Reaper.OrphansReaped);
    }

    [Fact]
    public void Callback_gets_the_pid_and_the_signal()
    {
        var done = new TaskCompletionSource<(int, ExitStatus)>();
        int pid = Reaper.Spawn(new SpawnSpec { Executable = "/bin/sh", Arguments = ["-c", "kill -KILL $$"] },
            (p, s) => done.TrySetResult((p, s)));
        Assert.True(done.Task.Wait(TimeSpan.FromSeconds(5)));
        Assert.Equal(pid, done.Task.Result.Item1);
        Assert.Equal("killed by signal 9", done.Task.Result.Item2.ToString());
    }

    [Fact]
    public void Unwatched_children_are_reaped_and_counted_as_orphans()
    {
        long before = Reaper.OrphansReaped;
        int pid = ProcessSpawner.Spawn(new SpawnSpec { Executable = "/bin/true" });
        Assert.True(HostRun.Until(() => Reaper.OrphansReaped == before + 1, TimeSpan.FromSeconds(5)),
            $"orphans reaped: {Reaper.OrphansReaped - before}");
        Assert.True(HostRun.Until(() => !Directory.Exists($"/proc/{pid}"), TimeSpan.FromSeconds(2)), "the child is still a zombie");
    }

    [Fact]
    public void A_child_claimed_after_it_was_reaped_gets_its_kept_status()
    {
        // A container's init is cloned outside Spawn and claimed afterwards: it may be gone by then.
        int pid = ProcessSpawner.Spawn(new SpawnSpec { Executable = "/bin/sh", Arguments = ["-c", "exit 23"] });
        Assert.True(HostRun.Until(() => !Directory.Exists($"/proc/{pid}"), TimeSpan.FromSeconds(5)), "the child was not reaped");
        var claimed = new TaskCompletionSource<ExitStatus>();
        Reaper.Watch(pid, (_, s) => claimed.TrySetResult(s));
        Assert.True(claimed.Task.Wait(TimeSpan.FromSeconds(1)));
        Assert.Equal(23, claimed.Task.Result.Code);
    }

    [Fact]
    public void Wait_blocks_until_the_reaper_collected_a_child_started_elsewhere()
    {
        int pid = ProcessSpawner.Spawn(new SpawnSpec { Executable = "/bin/sh", Arguments = ["-c", "sleep 0.2; exit 4"] });
        var status = new ExitStatus(Reaper.Wait(pid));
        Assert.True(status.Exited);
        Assert.Equal(4, status.Code);
    }

    [Fact]
    public void A_throwing_callback_does_not_stop_reaping()
    {
        int first = Reaper.Spawn(new SpawnSpec { Executable = "/bin/true" }, (_, _) => throw new InvalidOperationException("callback bug"));
        var second = new TaskCompletionSource<int>();
        Assert.True(HostRun.Until(() => !Directory.Exists($"/proc/{first}"), TimeSpan.FromSeconds(5)));
        Reaper.Spawn(new SpawnSpec { Executable = "/bin/sh", Arguments = ["-c", "exit 4"] }, (_, s) => second.TrySetResult(s.Code));
        Assert.True(second.Task.Wait(TimeSpan.FromSeconds(5)), "reaping stopped after a callback threw");
        Assert.Equal(4, second.Task.Result);
    }

    [Fact]
    public void Start_again_is_harmless_one_reaper_thread()
    {
        Reaper.Start();
        Reaper.Start();
        var names = Directory.GetDirectories("/proc/self/task")
            .Select(t => File.ReadAllText(Path.Combine(t, "comm")).TrimEnd('\n')).ToList();
        Assert.Single(names, n => n == "reaper");

        var done = new TaskCompletionSource<ExitStatus>();
        Reaper.Spawn(new SpawnSpec { Executable = "/bin/true" }, (_, s) => done.TrySetResult(s));
        Assert.True(done.Task.Wait(TimeSpan.FromSeconds(5)));
        Assert.Equal("exit code 0", done.Task.Result.ToString());
    }

    [Fact]
    public void Spawn_failure_throws_and_registers_nothing()
    {
        var e = Assert.Throws<SyscallException>(() =>
            Reaper.Spawn(new SpawnSpec { Executable = "/nonexistent/x" }, (_, _) => Assert.Fail("no process, no callback")));
        Assert.Equal(ENOENT, e.Errno);
        var done = new TaskCompletionSource();
        Reaper.Spawn(new SpawnSpec { Executable = "/bin/true" }, (_, _) => done.TrySetResult());
        // Reaped in order: once this exit is reported, the failed spawn's child (which glibc or the
        // reaper collects) is dealt with too and cannot disturb the next test's orphan count.
        Assert.True(done.Task.Wait(TimeSpan.FromSeconds(5)));
    }
}
