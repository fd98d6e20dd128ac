namespace Berth.Init.CloudConfig;

/// <summary>
/// The keys Berth reads: cloud-init's common ones and the <c>berth:</c> section (RancherOS's
/// <c>rancher:</c>), whose <c>services</c> use the compose-like service model the supervisor runs.
/// </summary>
public static class CloudConfigSchema
{
    public static readonly ScalarType String = new("a string");
    public static readonly ScalarType Boolean = new("a boolean (true or false)", s => ConfigValues.Bool(s) is not null);
    public static readonly ScalarType Port = new("a TCP port (1-65535)", s => ConfigValues.Integer(s) is >= 1 and <= 65535);
    public static readonly ScalarType Count = new("a whole number", s => ConfigValues.Integer(s) is >= 0);
    public static readonly ScalarType Duration = new("a duration like 30s, 1m30s or 500ms", s => ConfigValues.Duration(s) is not null);
    public static readonly ScalarType Size = new("a size like 512m or 1g", s => ConfigValues.Size(s) is not null);
    public static readonly ScalarType Mode = new("an octal mode like 0644", s => ConfigValues.Mode(s) is not null);
    public static readonly ScalarType Cpus = new("a number of CPUs like 0.5", s => ConfigValues.Cpus(s) is not null);
    public static readonly ScalarType Signal = new("a signal like SIGTERM", s => ConfigValues.Signal(s) is not null);
    public static readonly ScalarType UserName = new("a user name (lowercase letters, digits, _ and -)", s => ConfigValues.IsUserName(s));

    /// <summary>RFC 1123: labels of letters, digits and '-', at most 64 characters (sethostname's limit).</summary>
    public static readonly ScalarType Hostname = new("a host name (letters, digits, '-' and '.', at most 64 characters)",
        ConfigValues.IsHostname);

    public static ScalarType OneOf(params string[] values) =>
        new("one of " + string.Join(", ", values.Select(v => $"\"{v}\"")), values.Contains);

    public static readonly ListType Strings = new(String);
    public static readonly EitherType StringOrList = new("a string or a list of strings", String, Strings);
    /// <summary>bootcmd/runcmd items, command, entrypoint, healthcheck test: a shell line or an argv.</summary>
    public static readonly EitherType Command = new("a string or a list of strings", String, Strings);
    public static readonly EitherType KeyValues = new("a mapping or a list of KEY=VALUE strings",
        new DictionaryType(String), Strings);

    public static readonly ScalarType Namespace = OneOf("host", "private");

    public static readonly RecordType User = new("a mapping",
        ("name", UserName), ("passwd", String), ("hashed_passwd", String), ("lock_passwd", Boolean),
        ("groups", StringOrList), ("ssh_authorized_keys", Strings), ("shell", String), ("uid", Count),
        ("gecos", String), ("homedir", String), ("primary_group", String));

    public static readonly RecordType WriteFile = new("a mapping",
        ("path", String), ("content", String),
        ("encoding", OneOf("text/plain", "b64", "base64", "gzip", "gz", "gz+b64", "gzip+base64", "gz+base64", "gzip+b64")),
        ("permissions", Mode), ("owner", String), ("append", Boolean), ("defer", Boolean));

    public static readonly RecordType HealthCheck = new("a mapping",
        ("test", Command), ("interval", Duration), ("timeout", Duration), ("retries", Count),
        ("start_period", Duration), ("disable", Boolean));

    public static readonly EitherType DependsOn = new("a list of service names or a mapping of service: {condition}",
        Strings,
        new DictionaryType(new RecordType("a mapping",
            ("condition", OneOf("started", "healthy", "completed",
                "service_started", "service_healthy", "service_completed_successfully")))));

    public static readonly RecordType Service = new("a mapping",
        ("image", String), ("bundle", String), ("command", Command), ("entrypoint", Command),
        ("environment", KeyValues), ("volumes", Strings), ("binds", Strings),
        ("net", Namespace), ("pid", Namespace), ("ipc", Namespace),
        ("privileged", Boolean), ("read_only", Boolean), ("cap_add", Strings), ("cap_drop", Strings), ("devices", Strings),
        ("restart", OneOf("no", "on-failure", "always")), ("depends_on", DependsOn), ("healthcheck", HealthCheck),
        ("stop_signal", Signal), ("stop_grace_period", Duration), ("one_shot", Boolean),
        ("mem_limit", Size), ("cpus", Cpus), ("pids_limit", Count),
        ("user", String), ("working_dir", String), ("labels", KeyValues), ("enabled", Boolean));

    public static readonly RecordType Network = new("a mapping",
        ("interfaces", new DictionaryType(new RecordType("a mapping",
            ("dhcp", Boolean), ("addresses", Strings), ("gateway", String), ("mtu", Count)))),
        ("dns", new RecordType("a mapping", ("nameservers", Strings), ("search", Strings))));

    public static readonly RecordType BerthSection = new("a mapping",
        ("network", Network),
        ("sysctl", new DictionaryType(String, ConfigValues.IsSysctlName, "a sysctl name like net.ipv4.ip_forward")),
        ("environment", new DictionaryType(String, ConfigValues.IsEnvironmentName, "an environment variable name")),
        ("console", new RecordType("a mapping", ("tty", String), ("autologin", String))),
        ("ssh", new RecordType("a mapping", ("enabled", Boolean), ("port", Port), ("password_login", Boolean))),
        ("services", new DictionaryType(Service, ConfigValues.IsServiceName,
            "a service name (lowercase letters, digits, '_', '.', '-')")),
        ("upgrade", new RecordType("a mapping", ("url", String), ("channel", String), ("public_key", String), ("auto", Boolean))),
        ("state", new RecordType("a mapping", ("tmpfs", Boolean), ("label", String), ("autoformat", Boolean))));

    public static readonly RecordType Root = new("a mapping",
        ("hostname", Hostname),
        ("ssh_authorized_keys", Strings),
        ("users", new ListType(new EitherType("\"default\" or a mapping", String, User))),
        ("write_files", new ListType(WriteFile)),
        ("bootcmd", new ListType(Command)),
        ("runcmd", new ListType(Command)),
        ("mounts", new ListType(Strings)),
        ("berth", BerthSection));
}
