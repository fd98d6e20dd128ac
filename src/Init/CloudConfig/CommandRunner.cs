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

    public ExitStatus? Run(string what, IReadOnlyList<string> argv, SourcePosition position)
    {
        var done = new ManualResetEventSlim();
        ExitStatus status = default;
        try
        {
            reaper.Spawn(new SpawnSpec
            {
                Executable = argv[0],
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
