using Berth.Init;

namespace Berth;

/// <summary>
/// One binary, many programs, as busybox: the entry point is chosen by the name it was started
/// as (argv[0], through a symlink) or, for <c>berth</c>, by the first argument.
/// </summary>
public static class MultiCall
{
    private static readonly Dictionary<string, Func<string[], int>> EntryPoints = new()
    {
        ["init"] = InitEntry.Run,
        ["berth-runtime"] = Berth.Runtime.Cli.RuntimeCli.Run,
        ["runtime"] = Berth.Runtime.Cli.RuntimeCli.Run,
    };

    public static int Run(string[] args)
    {
        string name = Path.GetFileName(Environment.GetCommandLineArgs()[0]);
        // The kernel runs /init and /sbin/init; PID 1 is init whatever its name.
        if (Environment.ProcessId == 1) return InitEntry.Run(args);
        if (EntryPoints.TryGetValue(name, out var entry)) return entry(args);
        if (args.Length > 0 && EntryPoints.TryGetValue(args[0], out entry)) return entry(args[1..]);
        return Cli(args);
    }

    private static int Cli(string[] args)
    {
        switch (args.FirstOrDefault())
        {
            case "version" or "--version":
                Console.WriteLine(BerthVersion.Current);
                return 0;
            case "os":
                return Berth.Init.Upgrade.OsCommand.Run(args[1..]);
            case null or "help" or "--help" or "-h":
                Console.WriteLine("""
                    usage: berth COMMAND

                      version        print the OS version
                      os ...         A/B upgrades: os upgrade FILE|URL, os status, os rollback
                      init           PID 1 (started by the kernel; also as /sbin/init)
                      runtime ...    the OCI runtime (runc's command line; also as berth-runtime)

                    Entry points by name (symlinks to this binary): init, berth-runtime
                    """);
                return args.Length == 0 ? 2 : 0;
            default:
                Console.Error.WriteLine($"berth: unknown command '{args[0]}' (try 'berth help')");
                return 2;
        }
    }
}
