using Berth.Runtime.Linux;

namespace Berth.Init.CloudConfig;

/// <summary>
/// Runs bootcmd/runcmd entries and the #! user-data through PID 1's reaper, one at a time, output
/// on the console. A command that outlives its time limit is left running and the next one starts.
/// </summary>
public sealed class CommandRunner(ChildReaper reaper, ApplyReport report, IReadOnlyDictionary<string, string> environment, string stdio = "/dev/console")
{
    public TimeSpan Limit { get; init; } = TimeSpan.FromMinutes(5);

    public void RunAll(string what, IReadOnlyList<CommandLine> commands)
    {
        for (int i = 0; i < commands.Count; i++)
            Run($"{what}[{i}]", commands[i].Argv, commands[i].Position);
    }

    /// <summary>posix_spawn does not search PATH; cloud-init's [sh, -c, ...] form expects it to.</summary>
    private string Resolve(string command)
    {
        if (command.Contains('/')) return command;
        string path = environment.TryGetValue("PATH", out var p) ? p : "/usr/sbin:/usr/bin:/sbin:/bin";
        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
            if (File.Exists(Path.Combine(dir, command))) return Path.Combine(dir, command);
        return command;
    }

    public ExitStatus? Run(string what, IReadOnlyList<string> argv, SourcePosition position)
    {
        var done = new ManualResetEventSlim();
        ExitStatus status = default;
        try
        {
            reaper.Spawn(new SpawnSpec
            {
                Executable = Resolve(argv[0]),
                Arguments = argv.Skip(1).ToList(),
                Environment = environment,
                StdioPath = File.Exists(stdio) ? stdio : null,
                WorkingDirectory = "/",
            }, (_, s) =>
            {
                status = s;
                done.Set();
            });
        }
        catch (Exception e) when (e is SyscallException or IOException)
        {
            report.Error(position, $"{what}: cannot start {argv[0]}: {e.Message}");
            return null;
        }
        if (!done.Wait(Limit))
        {
            report.Warning(position, $"{what}: still running after {Limit.TotalSeconds:F0}s; going on without it");
            return null;
        }
        if (!(status.Exited && status.Code == 0)) report.Warning(position, $"{what}: {status}");
        return status;
    }
}
