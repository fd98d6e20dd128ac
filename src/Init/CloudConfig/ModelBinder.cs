namespace Berth.Init.CloudConfig;

/// <summary>
/// Reads a tree the schema has accepted into the typed model. Checks the schema cannot express
/// (one of image or bundle, volume syntax, dependencies that exist and do not form a cycle) are
/// reported here; a service that fails them is left out, the rest stays.
/// </summary>
public sealed class ModelBinder
{
    /// <summary>Keeps the dependency walk (recursive) shallow whatever the input.</summary>
    public const int MaxServices = 500;

    private readonly List<ConfigDiagnostic> _found = new();
    private readonly bool _standalone;

    private ModelBinder(bool standalone) => _standalone = standalone;

    public IReadOnlyList<ConfigDiagnostic> Diagnostics => _found;

    /// <summary>
    /// <paramref name="standalone"/>: one source on its own, which may rely on others (a service's
    /// image from os-config.yml, a dependency declared elsewhere), so only what is wrong in itself counts.
    /// </summary>
    public static (CloudConfigModel Model, IReadOnlyList<ConfigDiagnostic> Diagnostics) Bind(ConfigMapping? root, bool standalone = false)
    {
        var binder = new ModelBinder(standalone);
        var model = binder.BindRoot(root ?? ConfigMapping.Empty(new("(defaults)", 1, 1)));
        return (model, binder.Diagnostics);
    }

    private CloudConfigModel BindRoot(ConfigMapping root)
    {
        var berth = root.Get("berth") as ConfigMapping;
        var network = berth?.Get("network") as ConfigMapping;
        var dns = network?.Get("dns") as ConfigMapping;
        var console = berth?.Get("console") as ConfigMapping;
        var ssh = berth?.Get("ssh") as ConfigMapping;
        var upgrade = berth?.Get("upgrade") as ConfigMapping;
        var state = berth?.Get("state") as ConfigMapping;
        var services = BindServices(berth?.Get("services") as ConfigMapping);
        return new CloudConfigModel
        {
            Hostname = Located(root, "hostname"),
            SshAuthorizedKeys = LocatedList(root.Get("ssh_authorized_keys")),
            Users = Items(root.Get("users")).OfType<ConfigMapping>().Select(BindUser).ToList(),
            WriteFiles = Items(root.Get("write_files")).OfType<ConfigMapping>().Select(BindWriteFile).ToList(),
            BootCmd = Items(root.Get("bootcmd")).Select(n => Command(n)!).Where(c => c is not null).ToList(),
            RunCmd = Items(root.Get("runcmd")).Select(n => Command(n)!).Where(c => c is not null).ToList(),
            Mounts = Items(root.Get("mounts")).Select(n => new MountEntry(Strings(n), n.Position)).ToList(),
            Network = new NetworkSettings(
                Entries(network?.Get("interfaces")).Select(e => BindInterface(e.Key, e.Value)).ToList(),
                Strings(dns?.Get("nameservers")), Strings(dns?.Get("search"))),
            Sysctl = Dictionary(berth?.Get("sysctl")),
            Environment = Dictionary(berth?.Get("environment")),
            Console = new ConsoleSettings(Str(console, "tty"), Str(console, "autologin")),
            Ssh = new SshSettings(Bool(ssh, "enabled") ?? true, (int)(Int(ssh, "port") ?? 22), Bool(ssh, "password_login") ?? false),
            Services = services,
            Upgrade = new UpgradeSettings(Str(upgrade, "url"), Str(upgrade, "channel"), Str(upgrade, "public_key"), Bool(upgrade, "auto") ?? false),
            State = new StateSettings(Bool(state, "tmpfs") ?? false, Str(state, "label"), Bool(state, "autoformat") ?? false),
        };
    }

    // ---- node helpers (the schema has checked shapes; null means "not set")

    private static ConfigScalar? Scalar(ConfigNode? n) => n is ConfigScalar { IsNull: false } s ? s : null;
    private static string? Str(ConfigMapping? m, string key) => Scalar(m?.Get(key))?.Value;
    private static bool? Bool(ConfigMapping? m, string key) => Scalar(m?.Get(key)) is { } s ? ConfigValues.Bool(s.Value) : null;
    private static long? Int(ConfigMapping? m, string key) => Scalar(m?.Get(key)) is { } s ? ConfigValues.Integer(s.Value) : null;
    private static TimeSpan? Duration(ConfigMapping? m, string key) => Scalar(m?.Get(key)) is { } s ? ConfigValues.Duration(s.Value) : null;

    private static Located<string>? Located(ConfigMapping? m, string key) =>
        Scalar(m?.Get(key)) is { } s ? new Located<string>(s.Value, s.Position) : null;

    private static IEnumerable<ConfigNode> Items(ConfigNode? n) => n is ConfigSequence seq ? seq.Items : [];

    private static IEnumerable<KeyValuePair<ConfigScalar, ConfigNode>> Entries(ConfigNode? n) => n is ConfigMapping m ? m.Entries : [];

    private static List<string> Strings(ConfigNode? n) => n switch
    {
        ConfigSequence seq => seq.Items.OfType<ConfigScalar>().Select(s => s.Value).ToList(),
        ConfigScalar { IsNull: false } s => [s.Value],
        _ => [],
    };

    private static List<Located<string>> LocatedList(ConfigNode? n) =>
        Items(n).OfType<ConfigScalar>().Select(s => new Located<string>(s.Value, s.Position)).ToList();

    private static Dictionary<string, Located<string>> Dictionary(ConfigNode? n)
    {
        var d = new Dictionary<string, Located<string>>(StringComparer.Ordinal);
        foreach (var (k, v) in Entries(n))
            if (Scalar(v) is { } s) d[k.Value] = new(s.Value, s.Position);
        return d;
    }

    /// <summary>A mapping, or a list of KEY=VALUE (or bare KEY, empty value) as compose allows.</summary>
    private static Dictionary<string, string> KeyValues(ConfigNode? n)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        if (n is ConfigMapping) foreach (var (k, v) in Dictionary(n)) d[k] = v.Value;
        foreach (var s in Items(n).OfType<ConfigScalar>())
        {
            int eq = s.Value.IndexOf('=');
            if (eq < 0) d[s.Value] = "";
            else d[s.Value[..eq]] = s.Value[(eq + 1)..];
        }
        return d;
    }

    private static CommandLine? Command(ConfigNode? n) => n switch
    {
        ConfigScalar { IsNull: false } s => new CommandLine([s.Value], Shell: true, s.Position),
        ConfigSequence seq when seq.Items.Count > 0 => new CommandLine(Strings(seq), Shell: false, seq.Position),
        _ => null,
    };

    // ---- cloud-init keys

    private UserAccount BindUser(ConfigMapping m)
    {
        var name = Located(m, "name");
        if (name is null) Error(m.Position, "users: an entry without \"name\" is ignored");
        var groups = m.Get("groups") is ConfigScalar g && !g.IsNull
            ? g.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList()
            : Strings(m.Get("groups"));
        string? hash = Str(m, "passwd") ?? Str(m, "hashed_passwd");
        return new UserAccount
        {
            Name = name ?? new("", m.Position),
            PasswordHash = hash,
            LockPassword = Bool(m, "lock_passwd") ?? hash is null,
            Groups = groups,
            SshAuthorizedKeys = LocatedList(m.Get("ssh_authorized_keys")),
            Shell = Str(m, "shell") ?? "/bin/sh",
            Uid = Int(m, "uid") is { } uid ? (int)Math.Min(uid, int.MaxValue) : null,
            Gecos = Str(m, "gecos"),
            HomeDirectory = Str(m, "homedir"),
        };
    }

    private WriteFileEntry BindWriteFile(ConfigMapping m)
    {
        var path = Located(m, "path");
        if (path is null) Error(m.Position, "write_files: an entry without \"path\" is ignored");
        else if (!path.Value.Value.StartsWith('/')) Error(path.Value.Position, $"write_files: path \"{path.Value.Value}\" is not absolute");
        return new WriteFileEntry
        {
            Path = path ?? new("", m.Position),
            Content = Str(m, "content") ?? "",
            Encoding = Str(m, "encoding") switch
            {
                "b64" or "base64" => FileEncoding.Base64,
                "gzip" or "gz" => FileEncoding.Gzip,
                "gz+b64" or "gzip+base64" or "gz+base64" or "gzip+b64" => FileEncoding.GzipBase64,
                _ => FileEncoding.Text,
            },
            Permissions = Str(m, "permissions") is { } p ? ConfigValues.Mode(p) ?? 0x1a4 : 0x1a4,
            Owner = Str(m, "owner") ?? "root:root",
            Append = Bool(m, "append") ?? false,
            Position = m.Position,
        };
    }

    private static InterfaceSettings BindInterface(ConfigScalar name, ConfigNode value)
    {
        var m = value as ConfigMapping;
        return new InterfaceSettings(name.Value, Bool(m, "dhcp") ?? false, Strings(m?.Get("addresses")), Str(m, "gateway"),
            Int(m, "mtu") is { } mtu ? (int)Math.Min(mtu, int.MaxValue) : null, name.Position);
    }

    // ---- services

    private List<ServiceDefinition> BindServices(ConfigMapping? services)
    {
        var bound = new List<ServiceDefinition>();
        if (services is not null && services.Entries.Count > MaxServices)
            Error(services.Entries[MaxServices].Key.Position, $"berth.services: more than {MaxServices} services; the rest are ignored");
        foreach (var (name, value) in Entries(services).Take(MaxServices))
            if (BindService(name, value as ConfigMapping ?? ConfigMapping.Empty(name.Position)) is { } s) bound.Add(s);
        return _standalone ? bound : ServiceGraph.Check(bound, _found);
    }

    private ServiceDefinition? BindService(ConfigScalar name, ConfigMapping m)
    {
        string path = $"berth.services.{name.Value}";
        int errors = _found.Count(d => d.Severity == Severity.Error);
        string? image = Str(m, "image"), bundle = Str(m, "bundle");
        bool enabled = Bool(m, "enabled") ?? true;
        // A system service runs from the base's prebuilt bundle unless an image replaces it.
        bool system = Stage2.SystemServiceSet.Names.Contains(name.Value);
        if (!_standalone && !system && enabled && image is null && bundle is null) Error(name.Position, $"{path}: needs \"image\" or \"bundle\"");
        if (system && bundle is not null) Error(m.Get("bundle")!.Position, $"{path}: a system service's bundle is built in; give \"image\" to replace it");
        if (image is not null && bundle is not null) Error(m.Get("bundle")!.Position, $"{path}: has both \"image\" and \"bundle\"; give one");

        var volumes = new List<VolumeMount>();
        foreach (var v in Items(m.Get("volumes")).Concat(Items(m.Get("binds"))).OfType<ConfigScalar>())
        {
            var parts = v.Value.Split(':');
            bool ok = parts.Length is 2 or 3 && parts[0].Length > 0 && parts[1].StartsWith('/')
                && (parts.Length == 2 || parts[2] is "ro" or "rw");
            if (!ok) Error(v.Position, $"{path}.volumes: \"{v.Value}\" is not SOURCE:/TARGET[:ro|rw]");
            else volumes.Add(new VolumeMount(parts[0], parts[1], parts.Length == 3 && parts[2] == "ro", v.Position));
        }
        var devices = new List<DeviceMapping>();
        foreach (var d in Items(m.Get("devices")).OfType<ConfigScalar>())
        {
            var parts = d.Value.Split(':');
            if (parts.Length > 3 || !parts[0].StartsWith("/dev/", StringComparison.Ordinal)
                || (parts.Length > 1 && !parts[1].StartsWith('/'))
                || (parts.Length == 3 && (parts[2].Length == 0 || parts[2].Any(c => c is not ('r' or 'w' or 'm')))))
                Error(d.Position, $"{path}.devices: \"{d.Value}\" is not /dev/HOST[:/dev/CONTAINER[:rwm]]");
            else devices.Add(new DeviceMapping(parts[0], parts.Length > 1 ? parts[1] : parts[0], parts.Length == 3 ? parts[2] : "rwm", d.Position));
        }
        var dependencies = new List<ServiceDependency>();
        foreach (var s in Items(m.Get("depends_on")).OfType<ConfigScalar>())
            dependencies.Add(new ServiceDependency(s.Value, DependencyCondition.Started, s.Position));
        foreach (var (dep, cond) in Entries(m.Get("depends_on") as ConfigMapping))
            dependencies.Add(new ServiceDependency(dep.Value, Str(cond as ConfigMapping, "condition") switch
            {
                "healthy" or "service_healthy" => DependencyCondition.Healthy,
                "completed" or "service_completed_successfully" => DependencyCondition.Completed,
                _ => DependencyCondition.Started,
            }, dep.Position));

        HealthCheck? health = null;
        if (m.Get("healthcheck") is ConfigMapping h && Bool(h, "disable") != true)
        {
            var test = HealthTest(h.Get("test"), path);
            if (test is null) Error(h.Position, $"{path}.healthcheck: needs \"test\"");
            health = new HealthCheck(test, Duration(h, "interval") ?? TimeSpan.FromSeconds(30), Duration(h, "timeout") ?? TimeSpan.FromSeconds(30),
                (int)Math.Min(Int(h, "retries") ?? 3, int.MaxValue), Duration(h, "start_period") ?? TimeSpan.Zero, h.Position);
        }

        var positions = m.Entries.ToDictionary(e => e.Key.Value, e => e.Value.Position, StringComparer.Ordinal);
        if (_found.Count(d => d.Severity == Severity.Error) > errors) return null;
        return new ServiceDefinition
        {
            Name = name.Value,
            Position = name.Position,
            Image = image,
            Bundle = bundle,
            Command = Command(m.Get("command")),
            Entrypoint = Command(m.Get("entrypoint")),
            Environment = KeyValues(m.Get("environment")),
            Volumes = volumes,
            Net = Str(m, "net") == "host" ? NamespaceMode.Host : NamespaceMode.Private,
            Pid = Str(m, "pid") == "host" ? NamespaceMode.Host : NamespaceMode.Private,
            Ipc = Str(m, "ipc") == "host" ? NamespaceMode.Host : NamespaceMode.Private,
            Privileged = Bool(m, "privileged") ?? false,
            ReadOnlyRoot = Bool(m, "read_only") ?? false,
            CapAdd = Strings(m.Get("cap_add")).Select(Capability).ToList(),
            CapDrop = Strings(m.Get("cap_drop")).Select(Capability).ToList(),
            Devices = devices,
            Restart = Str(m, "restart") switch { "always" => ServiceRestart.Always, "on-failure" => ServiceRestart.OnFailure, _ => ServiceRestart.No },
            DependsOn = dependencies,
            HealthCheck = health,
            StopSignal = Str(m, "stop_signal") is { } sig ? ConfigValues.Signal(sig) ?? 15 : 15,
            StopGracePeriod = Duration(m, "stop_grace_period") ?? TimeSpan.FromSeconds(10),
            OneShot = Bool(m, "one_shot") ?? false,
            Limits = new ResourceLimits(Str(m, "mem_limit") is { } mem ? ConfigValues.Size(mem) : null,
                Str(m, "cpus") is { } cpus ? ConfigValues.Cpus(cpus) : null, Int(m, "pids_limit")),
            User = Str(m, "user"),
            WorkingDir = Str(m, "working_dir"),
            Labels = KeyValues(m.Get("labels")),
            Enabled = enabled,
            Positions = positions,
        };
    }

    private static string Capability(string name)
    {
        string upper = name.ToUpperInvariant();
        return upper == "ALL" || upper.StartsWith("CAP_", StringComparison.Ordinal) ? upper : "CAP_" + upper;
    }

    /// <summary>compose's test: ["CMD", argv...], ["CMD-SHELL", line], ["NONE"] or a shell line.</summary>
    private CommandLine? HealthTest(ConfigNode? n, string path)
    {
        if (n is not ConfigSequence seq) return Command(n);
        var items = Strings(seq);
        switch (items.FirstOrDefault())
        {
            case "CMD" when items.Count > 1: return new CommandLine(items[1..], Shell: false, seq.Position);
            case "CMD-SHELL" when items.Count == 2: return new CommandLine([items[1]], Shell: true, seq.Position);
            case "NONE": return null;
            case "CMD" or "CMD-SHELL":
                Error(seq.Position, $"{path}.healthcheck.test: \"{items[0]}\" needs a command after it");
                return null;
            default: return Command(seq);
        }
    }

    private void Error(SourcePosition at, string message) => _found.Add(new(Severity.Error, at, message));
}
