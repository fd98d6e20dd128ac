using System.Collections;
using Berth.Runtime.Interop;
using Berth.Runtime.Linux;
using Berth.Runtime.Oci;

namespace Berth.Runtime.Containers;

/// <summary>
/// The hooks that run in the runtime's own namespaces (prestart, createRuntime, poststart,
/// poststop): each gets the container's state JSON on stdin, the spec's args (args[0] is argv[0])
/// and env, and its timeout. createContainer and startContainer run in the container child.
/// </summary>
public static class HookRunner
{
    /// <summary>Runs the hooks in order; the first failure throws (prestart, createRuntime: the container is not created).</summary>
    public static void Run(IChildWaiter children, string stage, IReadOnlyList<HookSpec> hooks, ContainerState state)
    {
        for (int i = 0; i < hooks.Count; i++)
            if (RunOne(children, stage, i, hooks[i], state) is { } failure) throw new RuntimeException(failure);
    }

    /// <summary>Runs every hook and returns the failures as warnings (poststart, poststop: the spec says go on).</summary>
    public static IReadOnlyList<string> RunReportingFailures(IChildWaiter children, string stage, IReadOnlyList<HookSpec> hooks, ContainerState state)
    {
        var failures = new List<string>();
        for (int i = 0; i < hooks.Count; i++)
            if (RunOne(children, stage, i, hooks[i], state) is { } failure) failures.Add(failure);
        return failures;
    }

    private static string? RunOne(IChildWaiter children, string stage, int index, HookSpec hook, ContainerState state)
    {
        string what = $"{stage} hook {hook.Path} ($.hooks.{stage}[{index}])";
        int memfd = LibC.MemfdCreate("berth-hook-state", 1 /* MFD_CLOEXEC */);
        if (memfd < 0) throw SyscallException.Last("memfd_create", what);
        using var stateFile = new FileDescriptor(memfd, "hook state memfd");
        stateFile.PWriteAll(state.ToUtf8(indented: false), 0);

        int pid;
        try
        {
            pid = ProcessSpawner.Spawn(new SpawnSpec
            {
                Executable = hook.Path,
                Argv0 = hook.Args.Count > 0 ? hook.Args[0] : hook.Path,
                Arguments = hook.Args.Skip(1).ToList(),
                Environment = EnvironmentOf(hook),
                StdinFd = memfd,
            });
        }
        catch (SyscallException e)
        {
            return $"{what}: cannot start: {e.Message}";
        }

        using var pidfd = ContainerProcess.Open(pid);
        if (pidfd is not null && hook.Timeout is int seconds && !ContainerProcess.WaitForExit(pidfd, TimeSpan.FromSeconds(seconds)))
        {
            ContainerProcess.Signal(pidfd, Consts.SIGKILL);
            children.Wait(pid);
            return $"{what}: timed out after {seconds} s and was killed";
        }
        int status = children.Wait(pid);
        return status == 0 ? null : $"{what} failed: {ContainerProcess.DescribeStatus(status)}";
    }

    /// <summary>The hook's env, or the runtime's own when the hook names none (as runc, through Go's exec).</summary>
    private static IReadOnlyDictionary<string, string> EnvironmentOf(HookSpec hook)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        if (hook.Env.Count == 0)
        {
            foreach (DictionaryEntry e in Environment.GetEnvironmentVariables()) env[(string)e.Key] = (string?)e.Value ?? "";
            return env;
        }
        foreach (var e in hook.Env)
        {
            int eq = e.IndexOf('=');
            if (eq > 0) env[e[..eq]] = e[(eq + 1)..];
        }
        return env;
    }
}
