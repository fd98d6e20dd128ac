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
        ["syslogd"] = Berth.SystemServices.Syslog.SyslogdEntry.Run,
        ["ntpd"] = Berth.SystemServices.Time.NtpdEntry.Run,
        ["acpid"] = Berth.SystemServices.Power.AcpidEntry.Run,
        ["netconf"] = Berth.SystemServices.Network.NetconfEntry.Run,
        ["devmgr"] = Berth.SystemServices.DeviceManager.DevmgrEntry.Run,
        ["berth-login"] = Berth.SystemServices.Console.LoginEntry.Run,
    };

    public static int Run(string[] args)
    {
        string name = Path.GetFileName(Environment.GetCommandLineArgs()[0]);
        // A system service is PID 1 of its own container's pid namespace: a service's name wins.
        if (name != "init" && EntryPoints.TryGetValue(name, out var entry)) return entry(args);
        // The kernel runs /init and /sbin/init; PID 1 is init whatever else its name.
        if (Environment.ProcessId == 1) return InitEntry.Run(args);
        if (EntryPoints.TryGetValue(name, out entry)) return entry(args);
        if (args.Length > 0 && EntryPoints.TryGetValue(args[0], out entry)) return entry(args[1..]);
        return Cli(args);
    }

    private static int Cli(string[] args)
    {
        if (args.Length > 0 && Berth.Init.Cli.ServiceCli.Commands.Contains(args[0])) return Berth.Init.Cli.ServiceCli.Run(args);
        switch (args.FirstOrDefault())
        {
            case "version" or "--version":
                Console.WriteLine(BerthVersion.Current);
                return 0;
            case "config":
                return Berth.Init.CloudConfig.ConfigCli.Run(args[1..]);
            case "image":
                return Berth.Init.Cli.ImageCli.Run(args[1..]);
            case null or "help" or "--help" or "-h":
                Console.WriteLine("""
                    usage: berth COMMAND

                      version        print the OS version
                      config ...     validate, get, set, export cloud-config (berth config help)
                      os ...         A/B upgrades: os upgrade FILE|URL, os status, os rollback
                    """ + Berth.Init.Cli.ServiceCli.Usage + Berth.Init.Cli.ImageCli.Usage + """
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
