using System.Text;

namespace Berth.Init.CloudConfig;

/// <summary>
/// Reads every source that exists, lowest first (built-in defaults, os-config.yml, the NoCloud
/// seed, cloud-config.d/*.yml sorted, cloud-config.yml, the kernel command line), skips the
/// invalid ones whole and merges the rest. Only files that exist are parsed.
/// </summary>
public static class CloudConfigLoader
{
    public static LoadedConfig Load(ConfigPaths paths, string? cmdlineText = null, ConfigLimits? limits = null)
    {
        var sources = new List<ConfigSource> { BuiltInDefaults.Source() };
        void Add(ConfigSource? s)
        {
            if (s is not null) sources.Add(s);
        }

        Add(ConfigSourceReader.FromFile(paths.OsConfig, SourceKind.OsConfig, limits));
        var seed = ReadSeed(paths, sources, limits);
        if (Directory.Exists(paths.ConfigDirectory))
            foreach (var file in Directory.EnumerateFiles(paths.ConfigDirectory, "*.yml").Order(StringComparer.Ordinal))
                Add(ConfigSourceReader.FromFile(file, SourceKind.ConfigDirectory, limits));
        Add(ConfigSourceReader.FromFile(paths.UserConfig, SourceKind.UserConfig, limits));
        cmdlineText ??= File.Exists(paths.KernelCommandLine) ? File.ReadAllText(paths.KernelCommandLine) : "";
        Add(KernelConfigSource.From(cmdlineText));
        return Merge(sources, seed);
    }

    public static LoadedConfig Merge(IReadOnlyList<ConfigSource> sources, SeedData? seed = null)
    {
        ConfigNode merged = ConfigMapping.Empty(new(BuiltInDefaults.Name, 1, 1));
        foreach (var s in sources)
            if (s.Tree is not null) merged = ConfigMerger.Merge(merged, s.Tree);
        var root = (ConfigMapping)merged;
        var (model, found) = ModelBinder.Bind(root);
        var environment = model.Environment.ToDictionary(e => e.Key, e => e.Value.Value, StringComparer.Ordinal);
        return new LoadedConfig
        {
            Sources = sources,
            Merged = root,
            Model = model,
            MergeDiagnostics = found,
            Seed = seed,
            Services = new ServiceCatalog(model.Services, environment),
        };
    }

    /// <summary>meta-data (instance-id, local-hostname) and user-data: cloud-config, or a script kept for later.</summary>
    private static SeedData? ReadSeed(ConfigPaths paths, List<ConfigSource> sources, ConfigLimits? limits)
    {
        if (!File.Exists(paths.SeedUserData) && !File.Exists(paths.SeedMetaData)) return null;
        string? instanceId = null, localHostname = null;
        try
        {
            if (File.Exists(paths.SeedMetaData)
                && YamlTreeReader.Read(ConfigSourceReader.ReadBounded(paths.SeedMetaData, limits), paths.SeedMetaData, limits) is ConfigMapping md)
            {
                instanceId = (md.Get("instance-id") as ConfigScalar)?.Value;
                localHostname = (md.Get("local-hostname") as ConfigScalar)?.Value;
            }
        }
        catch (ConfigSyntaxException e)
        {
            sources.Add(new ConfigSource(paths.SeedMetaData, SourceKind.NoCloudSeed, null, [e.ToDiagnostic()]));
        }
        if (localHostname is not null)
        {
            var at = new SourcePosition(paths.SeedMetaData, 1, 1);
            var tree = new ConfigMapping([new(new ConfigScalar("hostname", true, at), new ConfigScalar(localHostname, false, at))], at);
            sources.Add(ConfigSourceReader.FromTree(tree, paths.SeedMetaData, SourceKind.NoCloudSeed));
        }
        byte[]? script = null;
        if (File.Exists(paths.SeedUserData))
        {
            var bytes = ConfigSourceReader.ReadBounded(paths.SeedUserData, limits);
            if (ConfigSourceReader.Classify(bytes) == UserDataKind.Script) script = bytes;
            sources.Add(ConfigSourceReader.FromBytes(bytes, paths.SeedUserData, SourceKind.NoCloudSeed, limits));
        }
        return new SeedData(instanceId, localHostname, script);
    }

    public static string DescribeSources(LoadedConfig config)
    {
        var sb = new StringBuilder();
        foreach (var s in config.Sources)
            sb.Append(s.Valid ? "" : "skipped ").Append(s.Name).Append("; ");
        return sb.ToString().TrimEnd(' ', ';');
    }
}
