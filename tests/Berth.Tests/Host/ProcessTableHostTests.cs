using Berth.Runtime.Linux;
using Xunit;

namespace Berth.Tests.Host;

public class ProcessTableHostTests
{
    [Fact]
    public void Read_of_this_process()
    {
        var self = ProcessTable.Read(Environment.ProcessId);
        Assert.NotNull(self);
        string status = File.ReadAllText("/proc/self/status");
        int ppid = int.Parse(status.Split('\n').Single(l => l.StartsWith("PPid:", StringComparison.Ordinal))[5..].Trim());
        string comm = File.ReadAllText("/proc/self/comm").TrimEnd('\n');
        Assert.Equal((Environment.ProcessId, comm, ppid, false), (self.Value.Pid, self.Value.Name, self.Value.ParentPid, self.Value.IsKernelThread));
        Assert.Contains(self.Value.State, "RSD"); // the thread group leader's state
        Assert.Equal(Environment.ProcessId, SystemControl.ProcessId);
    }

    [Fact]
    public void Read_of_a_vanished_process_is_null()
    {
        Assert.Null(ProcessTable.Read(int.MaxValue));
    }

    [Fact]
    public void Kernel_threads_are_flagged_and_left_out_of_user_processes()
    {
        var kthreadd = ProcessTable.Read(2);
        Assert.True(kthreadd is { Name: "kthreadd" }, "this host shows no kthreadd as PID 2 (a PID namespace?)");
        Assert.True(kthreadd.Value.IsKernelThread);

        var users = ProcessTable.UserProcesses();
        Assert.DoesNotContain(users, p => p.Pid == 2 || p.IsKernelThread);
        Assert.DoesNotContain(users, p => p.Pid == Environment.ProcessId);
        Assert.Contains(users, p => p.Pid == 1);
    }
}
