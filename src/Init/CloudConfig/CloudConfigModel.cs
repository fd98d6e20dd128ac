namespace Berth.Init.CloudConfig;

public sealed record UserAccount
{
    public required Located<string> Name { get; init; }
    /// <summary>crypt(3) hash for /etc/shadow; null keeps the account locked.</summary>
    public string? PasswordHash { get; init; }
    public bool LockPassword { get; init; } = true;
    public IReadOnlyList<string> Groups { get; init; } = [];
    public IReadOnlyList<Located<string>> SshAuthorizedKeys { get; init; } = [];
    public string Shell { get; init; } = "/bin/sh";
    public int? Uid { get; init; }
    public string? Gecos { get; init; }
    public string? HomeDirectory { get; init; }
}

public enum FileEncoding { Text, Base64, Gzip, GzipBase64 }

public sealed record WriteFileEntry
{
    public required Located<string> Path { get; init; }
    public string Content { get; init; } = "";
    public FileEncoding Encoding { get; init; }
    public int Permissions { get; init; } = 0x1a4; // 0644
    public string Owner { get; init; } = "root:root";
    public bool Append { get; init; }
    public required SourcePosition Position { get; init; }
}

/// <summary>cloud-init's mounts entry: [device, mount point, type, options, dump, pass].</summary>
public sealed record MountEntry(IReadOnlyList<string> Fields, SourcePosition Position);

public sealed record InterfaceSettings(string Name, bool Dhcp, IReadOnlyList<string> Addresses, string? Gateway, int? Mtu, SourcePosition Position);

public sealed record NetworkSettings(IReadOnlyList<InterfaceSettings> Interfaces, IReadOnlyList<string> Nameservers, IReadOnlyList<string> Search);

public sealed record ConsoleSettings(string? Tty, string? Autologin);

/// <summary>berth.ssh: dropbear's switch, port and whether passwords may log in (keys only by default).</summary>
public sealed record SshSettings(bool Enabled = true, int Port = 22, bool PasswordLogin = false);

public sealed record UpgradeSettings(string? Url, string? Channel, string? PublicKey, bool Auto);

public sealed record StateSettings(bool Tmpfs, string? Label, bool Autoformat);

/// <summary>The merged, validated configuration of the machine.</summary>
public sealed record CloudConfigModel
{
    public Located<string>? Hostname { get; init; }
    public IReadOnlyList<Located<string>> SshAuthorizedKeys { get; init; } = [];
    public IReadOnlyList<UserAccount> Users { get; init; } = [];
    public IReadOnlyList<WriteFileEntry> WriteFiles { get; init; } = [];
    public IReadOnlyList<CommandLine> BootCmd { get; init; } = [];
    public IReadOnlyList<CommandLine> RunCmd { get; init; } = [];
    public IReadOnlyList<MountEntry> Mounts { get; init; } = [];
    public NetworkSettings Network { get; init; } = new([], [], []);
    public IReadOnlyDictionary<string, Located<string>> Sysctl { get; init; } = new Dictionary<string, Located<string>>();
    public IReadOnlyDictionary<string, Located<string>> Environment { get; init; } = new Dictionary<string, Located<string>>();
    public ConsoleSettings Console { get; init; } = new(null, null);
    public SshSettings Ssh { get; init; } = new();
    /// <summary>Every declared service (enabled or not), in declaration order.</summary>
    public IReadOnlyList<ServiceDefinition> Services { get; init; } = [];
    public UpgradeSettings Upgrade { get; init; } = new(null, null, null, false);
    public StateSettings State { get; init; } = new(false, null, false);
}
