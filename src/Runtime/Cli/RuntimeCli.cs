using System.Text.Json;
using Berth.Runtime.Containers;
using Berth.Runtime.Linux;
using Berth.Runtime.Oci;

namespace Berth.Runtime.Cli;

/// <summary>
/// `berth-runtime`: runc's command line, so that anything that drives runc (containerd's shim,
/// podman, scripts) can drive Berth's runtime. Global options come before the command.
/// </summary>
public static class RuntimeCli
{
    public const string Usage = """
        usage: berth-runtime [--root DIR] [--log FILE] [--log-format text|json] COMMAND [OPTIONS] ...

          create [-b BUNDLE] [--pid-file F] [--console-socket S] [--preserve-fds N] ID
          start ID                     release a created container
          run [-b BUNDLE] [-d] [--pid-file F] [--console-socket S] [--preserve-fds N] ID
          state ID                     the OCI state as JSON
          kill [-a] ID [SIGNAL]        default SIGTERM; -a: every process of the container
          delete [-f] ID
          exec [-e K=V] [--cwd D] [-u UID[:GID]] [-t --console-socket S] [-d] [--pid-file F]
               [-p process.json] [--cap CAP] [--no-new-privs] ID COMMAND [ARG...]
          list [-f table|json] [-q]
          ps [-f table|json] ID
          spec [-b BUNDLE] [--rootless]  write a default config.json
          features                     what this runtime implements, as JSON
        """;

    public static int Run(string[] argv)
    {
        var args = new ArgumentReader(argv);
        var log = new RuntimeLog();
        string root = ContainerStore.DefaultRoot;
        try
        {
            while (args.PeekOption() is { } option)
            {
                switch (option)
                {
                    case "--root": root = args.Value(option); break;
                    case "--log": log.Path = args.Value(option); break;
                    case "--log-format": log.Json = args.Value(option) switch
                    {
                        "json" => true,
                        "text" => false,
                        var f => throw new UsageException($"--log-format: expected text or json, got \"{f}\""),
                    }; break;
                    case "--debug": args.Flag(); break;
                    case "--systemd-cgroup": throw new UsageException("--systemd-cgroup: Berth has no systemd; cgroups are managed directly");
                    case "-v" or "--version": args.Flag(); Console.Out.WriteLine($"berth-runtime {RuntimeVersion}\nspec: {RuntimeSpec.Version}"); return 0;
                    case "-h" or "--help": Console.Out.WriteLine(Usage); return 0;
                    default: throw new UsageException($"unknown global option {option}");
                }
            }
            string command = args.Next() ?? throw new UsageException("no command given");
            GcStress.StartFromEnvironment();
            var store = new ContainerStore(root);
            var launcher = new ContainerLauncher(store, log.Warn, log.Error);
            return command switch
            {
                "create" => Create(args, launcher),
                "start" => Start(args, launcher),
                "run" => RunContainer(args, launcher),
                "state" => State(args, store),
                "kill" => Kill(args, launcher),
                "delete" => Delete(args, launcher),
                "exec" => Exec(args, launcher),
                "list" => List(args, store),
                "ps" => Ps(args, store),
                "spec" => Spec(args),
                "features" => Features(args),
                "help" or "--help" or "-h" => Help(),
                _ => throw new UsageException($"unknown command \"{command}\""),
            };
        }
        catch (UsageException e)
        {
            log.Error(e.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }
        catch (Exception e) when (e is RuntimeException or SpecException or SyscallException or IOException or UnauthorizedAccessException
                                       or Security.UnknownCapabilityException or NotSupportedException)
        {
            log.Error(e.Message);
            return 1;
        }
    }

    public static string RuntimeVersion =>
        typeof(RuntimeCli).Assembly.GetName().Version is { } v ? $"{v.Major}.{v.Minor}.{v.Build}" : "0.0.0";

    private static int Help()
    {
        Console.Out.WriteLine(Usage);
        return 0;
    }

    private static CreateOptions CreateOptionsFrom(ArgumentReader args, Func<string, bool>? extra = null)
    {
        string bundle = ".";
        string? pidFile = null, consoleSocket = null;
        int preserve = 0;
        while (args.PeekOption() is { } o)
        {
            switch (o)
            {
                case "-b" or "--bundle": bundle = args.Value(o); break;
                case "--pid-file": pidFile = args.Value(o); break;
                case "--console-socket": consoleSocket = args.Value(o); break;
                case "--preserve-fds": preserve = args.Int(o); break;
                case "--no-pivot" or "--no-new-keyring": args.Flag(); break;
                default:
                    if (extra is null || !extra(o)) throw new UsageException($"unknown option {o}");
                    break;
            }
        }
        string id = args.Id();
        args.End();
        return new CreateOptions { Id = id, Bundle = bundle, PidFile = pidFile, ConsoleSocket = consoleSocket, PreserveFds = preserve };
    }

    private static int Create(ArgumentReader args, ContainerLauncher launcher)
    {
        launcher.Create(CreateOptionsFrom(args));
        return 0;
    }

    private static int RunContainer(ArgumentReader args, ContainerLauncher launcher)
    {
        bool detach = false;
        var options = CreateOptionsFrom(args, o =>
        {
            if (o is not ("-d" or "--detach" or "--keep")) return false;
            args.Flag();
            if (o != "--keep") detach = true;
            return true;
        });
        return launcher.Run(options, detach);
    }

    private static int Start(ArgumentReader args, ContainerLauncher launcher)
    {
        string id = args.Id();
        args.End();
        launcher.Start(id);
        return 0;
    }

    private static int State(ArgumentReader args, ContainerStore store)
    {
        string id = args.Id();
        args.End();
        var state = ContainerProcess.StateOf(store, store.Load(id));
        Console.Out.WriteLine(state.ToJson(indented: true));
        return 0;
    }

    private static int Kill(ArgumentReader args, ContainerLauncher launcher)
    {
        bool all = false;
        while (args.PeekOption() is { } o)
        {
            if (o is "-a" or "--all") { args.Flag(); all = true; }
            else throw new UsageException($"unknown option {o}");
        }
        string id = args.Id();
        int signal = args.Next() is { } s ? Signals.Parse(s) : Signals.Parse("TERM");
        args.End();
        launcher.Kill(id, signal, all);
        return 0;
    }

    private static int Delete(ArgumentReader args, ContainerLauncher launcher)
    {
        bool force = false;
        while (args.PeekOption() is { } o)
        {
            if (o is "-f" or "--force") { args.Flag(); force = true; }
            else throw new UsageException($"unknown option {o}");
        }
        string id = args.Id();
        args.End();
        launcher.Delete(id, force);
        return 0;
    }

    private static int Exec(ArgumentReader args, ContainerLauncher launcher)
    {
        var env = new List<string>();
        var caps = new List<string>();
        var gids = new List<uint>();
        string? cwd = null, consoleSocket = null, pidFile = null, processFile = null;
        uint? uid = null, gid = null;
        bool tty = false, detach = false, nnp = false;
        int preserve = 0;
        while (args.PeekOption() is { } o)
        {
            switch (o)
            {
                case "-e" or "--env": env.Add(args.Value(o)); break;
                case "--cwd": cwd = args.Value(o); break;
                case "-u" or "--user":
                    var parts = args.Value(o).Split(':');
                    uid = ParseId(parts[0], o);
                    if (parts.Length > 1) gid = ParseId(parts[1], o);
                    break;
                case "-g" or "--additional-gids": gids.Add(ParseId(args.Value(o), o)); break;
                case "-t" or "--tty": args.Flag(); tty = true; break;
                case "-d" or "--detach": args.Flag(); detach = true; break;
                case "--console-socket": consoleSocket = args.Value(o); break;
                case "--pid-file": pidFile = args.Value(o); break;
                case "-p" or "--process": processFile = args.Value(o); break;
                case "-c" or "--cap": caps.Add(args.Value(o)); break;
                case "--no-new-privs": args.Flag(); nnp = true; break;
                case "--preserve-fds": preserve = args.Int(o); break;
                default: throw new UsageException($"unknown option {o}");
            }
        }
        string id = args.Id();
        var command = args.Rest();
        return launcher.Exec(new ExecOptions
        {
            Id = id, Args = command, Env = env, Cwd = cwd, Uid = uid, Gid = gid, AdditionalGids = gids, Tty = tty,
            ConsoleSocket = consoleSocket, Detach = detach, PidFile = pidFile, ProcessFile = processFile,
            AddCapabilities = caps, NoNewPrivileges = nnp, PreserveFds = preserve,
        });
    }

    private static uint ParseId(string text, string option) =>
        uint.TryParse(text, out uint id) ? id : throw new UsageException($"{option}: expected a numeric id, got \"{text}\"");

    private static string Format(ArgumentReader args, out bool quiet)
    {
        string format = "table";
        quiet = false;
        while (args.PeekOption() is { } o)
        {
            switch (o)
            {
                case "-f" or "--format": format = args.Value(o); break;
                case "-q" or "--quiet": args.Flag(); quiet = true; break;
                default: throw new UsageException($"unknown option {o}");
            }
        }
        return format is "table" or "json" ? format : throw new UsageException($"--format: expected table or json, got \"{format}\"");
    }

    private static int List(ArgumentReader args, ContainerStore store)
    {
        string format = Format(args, out bool quiet);
        args.End();
        var rows = store.All().Select(r => (Record: r, State: ContainerProcess.StateOf(store, r))).ToList();
        if (quiet)
        {
            foreach (var (r, _) in rows) Console.Out.WriteLine(r.Id);
            return 0;
        }
        if (format == "json")
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartArray();
                foreach (var (r, s) in rows)
                {
                    w.WriteStartObject();
                    w.WriteString("ociVersion", RuntimeSpec.Version);
                    w.WriteString("id", r.Id);
                    w.WriteNumber("pid", s.Pid ?? 0);
                    w.WriteString("status", ContainerState.StatusName(s.Status));
                    w.WriteString("bundle", r.Bundle);
                    w.WriteString("rootfs", r.Rootfs);
                    w.WriteString("created", r.Created.UtcDateTime.ToString("O"));
                    w.WriteString("owner", r.Owner == 0 ? "root" : r.Owner.ToString());
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            Console.Out.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
            return 0;
        }
        Console.Out.WriteLine($"{"ID",-24} {"PID",-8} {"STATUS",-10} {"BUNDLE",-40} {"CREATED",-28} OWNER");
        foreach (var (r, s) in rows)
            Console.Out.WriteLine($"{r.Id,-24} {s.Pid ?? 0,-8} {ContainerState.StatusName(s.Status),-10} {r.Bundle,-40} {r.Created:O} {(r.Owner == 0 ? "root" : r.Owner.ToString())}");
        return 0;
    }

    private static int Ps(ArgumentReader args, ContainerStore store)
    {
        string format = Format(args, out _);
        string id = args.Id();
        args.Rest(); // runc passes these to ps(1); Berth lists from /proc itself
        var record = store.Load(id);
        var pids = ContainerProcesses(store, record);
        if (format == "json")
        {
            Console.Out.WriteLine("[" + string.Join(",", pids) + "]");
            return 0;
        }
        Console.Out.WriteLine($"{"PID",-8} CMD");
        foreach (int pid in pids)
        {
            var cmdline = PseudoFile.TryRead($"/proc/{pid}/cmdline") ?? "";
            Console.Out.WriteLine($"{pid,-8} {cmdline.TrimEnd('\0').Replace('\0', ' ')}");
        }
        return 0;
    }

    /// <summary>The container's processes: its cgroup's, or without one its init and that one's descendants.</summary>
    private static IReadOnlyList<int> ContainerProcesses(ContainerStore store, ContainerRecord record)
    {
        if (ContainerProcess.StatusOf(store, record) == ContainerStatus.Stopped) return [];
        if (record.Cgroup is not null) return CgroupPlacement.Processes(record.Cgroup);
        var all = ProcessTable.UserProcesses();
        var result = new List<int> { record.Pid };
        for (int i = 0; i < result.Count; i++)
            result.AddRange(all.Where(p => p.ParentPid == result[i]).Select(p => p.Pid));
        return result;
    }

    private static int Spec(ArgumentReader args)
    {
        string bundle = ".";
        bool rootless = false;
        while (args.PeekOption() is { } o)
        {
            switch (o)
            {
                case "-b" or "--bundle": bundle = args.Value(o); break;
                case "--rootless": args.Flag(); rootless = true; break;
                default: throw new UsageException($"unknown option {o}");
            }
        }
        args.End();
        string path = Path.Combine(bundle, "config.json");
        if (File.Exists(path)) throw new RuntimeException($"{path} exists: remove it first");
        var spec = rootless ? DefaultSpec.Rootless(SystemControl.UserId, SystemControl.GroupId) : DefaultSpec.Create();
        File.WriteAllBytes(path, SpecWriter.ToUtf8(spec));
        return 0;
    }

    private static int Features(ArgumentReader args)
    {
        args.End();
        Console.Out.WriteLine(Oci.Features.ToJson(RuntimeVersion));
        return 0;
    }
}

/// <summary>A command-line mistake: the message and the usage go to stderr, exit status 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>Reads runc-style arguments: options before positionals, "--opt value" or "--opt=value".</summary>
public sealed class ArgumentReader(IReadOnlyList<string> args)
{
    private int _index;
    private string? _inlineValue;

    /// <summary>The next option's name if the next argument is an option (stops at "--" and positionals).</summary>
    public string? PeekOption()
    {
        if (_index >= args.Count) return null;
        string a = args[_index];
        if (a == "--") { _index++; return null; }
        if (a.Length < 2 || a[0] != '-') return null;
        int eq = a.IndexOf('=');
        if (eq > 0 && a.StartsWith("--", StringComparison.Ordinal))
        {
            _inlineValue = a[(eq + 1)..];
            return a[..eq];
        }
        _inlineValue = null;
        return a;
    }

    public void Flag()
    {
        if (_inlineValue is not null) throw new UsageException($"{args[_index]}: takes no value");
        _index++;
    }

    public string Value(string option)
    {
        if (_inlineValue is { } v)
        {
            _inlineValue = null;
            _index++;
            return v;
        }
        if (_index + 1 >= args.Count) throw new UsageException($"{option} needs a value");
        _index += 2;
        return args[_index - 1];
    }

    public int Int(string option) =>
        int.TryParse(Value(option), out int n) && n >= 0 ? n : throw new UsageException($"{option}: expected a number");

    public string? Next() => _index < args.Count ? args[_index++] : null;

    public string Id() => Next() ?? throw new UsageException("missing container id");

    public IReadOnlyList<string> Rest()
    {
        var rest = args.Skip(_index).ToList();
        _index = args.Count;
        return rest;
    }

    public void End()
    {
        if (_index < args.Count) throw new UsageException($"unexpected argument \"{args[_index]}\"");
    }
}

/// <summary>Errors and warnings: to stderr, and with --log to a file (JSON lines with --log-format json, as containerd reads them).</summary>
public sealed class RuntimeLog
{
    public string? Path { get; set; }
    public bool Json { get; set; }

    public void Warn(string message) => Write("warning", message);

    public void Error(string message) => Write("error", message);

    private void Write(string level, string message)
    {
        Console.Error.WriteLine(level == "error" ? $"berth-runtime: {message}" : $"berth-runtime: {level}: {message}");
        if (Path is null) return;
        string line;
        if (Json)
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteString("level", level);
                w.WriteString("msg", message);
                w.WriteString("time", DateTime.UtcNow.ToString("O"));
                w.WriteEndObject();
            }
            line = System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
        }
        else line = $"{DateTimeOffset.UtcNow:O} {level}: {message}";
        try { File.AppendAllText(Path, line + "\n"); }
        catch (IOException) { }
    }
}

/// <summary>Signal names and numbers as kill(1) and runc take them: TERM, SIGTERM, 15, RTMIN+3.</summary>
public static class Signals
{
    private static readonly string[] Names =
    [
        "", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM",
        "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF",
        "WINCH", "IO", "PWR", "SYS",
    ];

    public static int Parse(string text)
    {
        if (int.TryParse(text, out int n))
            return n is > 0 and <= 64 ? n : throw new UsageException($"invalid signal {text}: numbers go from 1 to 64");
        string name = text.ToUpperInvariant();
        if (name.StartsWith("SIG", StringComparison.Ordinal)) name = name[3..];
        int index = Array.IndexOf(Names, name);
        if (index > 0) return index;
        if (name is "IOT") return 6;
        if (name is "CLD") return 17;
        if (name is "POLL") return 29;
        if (name.StartsWith("RTMIN", StringComparison.Ordinal) && TryOffset(name[5..], out int up)) return 34 + up;
        if (name.StartsWith("RTMAX", StringComparison.Ordinal) && TryOffset(name[5..], out int down)) return 64 + down;
        throw new UsageException($"unknown signal \"{text}\"");
    }

    private static bool TryOffset(string rest, out int offset)
    {
        offset = 0;
        if (rest.Length == 0) return true;
        return int.TryParse(rest, out offset) && offset is >= -30 and <= 30;
    }
}
