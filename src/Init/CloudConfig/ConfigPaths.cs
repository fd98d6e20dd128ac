namespace Berth.Init.CloudConfig;

/// <summary>Where each source lives. Tests and `berth config --root DIR` move them all under a directory.</summary>
public sealed record ConfigPaths
{
    public string OsConfig { get; init; } = "/usr/share/berth/os-config.yml";
    /// <summary>The NoCloud seed's user-data and meta-data, copied here by PID 1 at boot.</summary>
    public string SeedDirectory { get; init; } = "/run/berth/seed";
    public string ConfigDirectory { get; init; } = "/var/lib/berth/conf/cloud-config.d";
    public string UserConfig { get; init; } = "/var/lib/berth/conf/cloud-config.yml";
    /// <summary>Per-instance records (runcmd done for instance-id X).</summary>
    public string StateDirectory { get; init; } = "/var/lib/berth/conf";
    public string KernelCommandLine { get; init; } = "/proc/cmdline";

    public string SeedUserData => Path.Combine(SeedDirectory, "user-data");
    public string SeedMetaData => Path.Combine(SeedDirectory, "meta-data");

    public static readonly ConfigPaths Default = new();

    public static ConfigPaths UnderRoot(string root) => new()
    {
        OsConfig = root + Default.OsConfig,
        SeedDirectory = root + Default.SeedDirectory,
        ConfigDirectory = root + Default.ConfigDirectory,
        UserConfig = root + Default.UserConfig,
        StateDirectory = root + Default.StateDirectory,
        KernelCommandLine = root + Default.KernelCommandLine,
    };

    /// <summary>BERTH_CONFIG_ROOT (tests, or inspecting a mounted image) or the real paths.</summary>
    public static ConfigPaths FromEnvironment() =>
        Environment.GetEnvironmentVariable("BERTH_CONFIG_ROOT") is { Length: > 0 } root ? UnderRoot(root.TrimEnd('/')) : Default;
}
