using System.Text;
using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Init.CloudConfig;

/// <summary>
/// <c>berth config validate|get|set|export</c>. It reads the files directly (no PID 1 needed), so
/// <c>validate</c> gives the same report on any Linux machine. <c>--root DIR</c> or
/// BERTH_CONFIG_ROOT moves every path under DIR.
/// </summary>
public sealed class ConfigCli(TextWriter stdout, TextWriter stderr)
{
    public const string Usage = """
        usage: berth config COMMAND [--root DIR]

          validate [--user-data] FILE check a cloud-config file: file:line:column for each finding;
                                      exit 1 on errors, 0 with only warnings; --user-data (or a file
                                      named user-data) also wants the #cloud-config first line
          get KEY                     the merged value of a dotted key (e.g. berth.network.dns.nameservers)
          set KEY VALUE               write KEY into /var/lib/berth/conf/cloud-config.yml (atomically);
                                      VALUE is YAML (e.g. [a, b]); for a list, a,b works too
          export [--merged] [--sources]
                                      the user config (cloud-config.yml), or every source merged;
                                      --sources lists each value with where it came from
          apply                       PID 1 reads the config again and restarts only the services
                                      whose definition changed (adds new ones, stops removed ones);
                                      other keys apply at the next boot. Exit 3: PID 1 unreachable
        """;

    public static int Run(string[] args) => new ConfigCli(Console.Out, Console.Error).Execute(args);

    public int Execute(string[] args)
    {
        var rest = new List<string>();
        ConfigPaths paths = ConfigPaths.FromEnvironment();
        bool merged = false, sources = false, userData = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--root" when i + 1 < args.Length: paths = ConfigPaths.UnderRoot(args[++i].TrimEnd('/')); break;
                case "--merged": merged = true; break;
                case "--sources": sources = true; break;
                case "--user-data": userData = true; break;
                default: rest.Add(args[i]); break;
            }
        }
        try
        {
            return rest switch
            {
                ["validate", var file] => Validate(file, userData || Path.GetFileName(file) == "user-data"),
                ["get", var key] => Get(paths, key),
                ["set", var key, var value] => Set(paths, key, value),
                ["export"] => Export(paths, merged || sources, sources),
                ["apply"] => Apply(),
                [] or ["help" or "--help" or "-h"] => Help(rest.Count == 0),
                _ => Fail($"berth config: bad arguments: {string.Join(' ', args)}\n{Usage}", 2),
            };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail($"berth config: {e.Message}", 1);
        }
    }

    private int Apply()
    {
        Api.ApiResponse r;
        try { r = Api.ApiClient.Call(new Api.ApiRequest("apply-config")); }
        catch (Api.ApiUnavailableException e) { return Fail($"berth config: {e.Message}", 3); }
        if (!r.Ok || r.Applied is not { } a) return Fail($"berth config apply: {r.Error ?? "PID 1 did not apply it"}", 1);
        foreach (var f in a.Findings) stderr.WriteLine(f);
        void Line(string what, IReadOnlyList<string> names) { if (names.Count > 0) stdout.WriteLine($"{what}: {string.Join(' ', names)}"); }
        Line("added", a.Added);
        Line("removed", a.Removed);
        Line("restarted", a.Restarted);
        Line("unchanged", a.Unchanged);
        return 0;
    }

    private int Help(bool missing)
    {
        (missing ? stderr : stdout).WriteLine(Usage);
        return missing ? 2 : 0;
    }

    private int Fail(string message, int code)
    {
        stderr.WriteLine(message);
        return code;
    }

    /// <summary><paramref name="userData"/>: judged as a seed's user-data is at boot (it needs the #cloud-config line).</summary>
    private int Validate(string file, bool userData)
    {
        if (!File.Exists(file)) return Fail($"berth config: {file}: no such file", 2);
        var bytes = ConfigSourceReader.ReadBounded(file);
        if (ConfigSourceReader.Classify(bytes) == UserDataKind.Script)
        {
            stdout.WriteLine($"{file}: a #! script (run once per instance), not cloud-config");
            return 0;
        }
        var source = ConfigSourceReader.FromFile(file, userData ? SourceKind.NoCloudSeed : SourceKind.UserConfig)!;
        foreach (var d in source.Diagnostics) stdout.WriteLine(d);
        int errors = source.ErrorCount, warnings = source.Diagnostics.Count - errors;
        stdout.WriteLine(errors > 0
            ? $"{file}: invalid ({Count(errors, "error")}, {Count(warnings, "warning")})"
            : $"{file}: valid ({Count(warnings, "warning")})");
        return errors > 0 ? 1 : 0;
    }

    private static string Count(int n, string what) => $"{n} {what}{(n == 1 ? "" : "s")}";

    private int Get(ConfigPaths paths, string key)
    {
        var path = ConfigPath.Parse(key, out var error);
        if (error is not null) return Fail($"berth config: {error}", 2);
        var config = CloudConfigLoader.Load(paths);
        ReportSkipped(config);
        var node = path.Find(config.Merged);
        if (node is null or ConfigScalar { IsNull: true }) return Fail($"berth config: {key} is not set", 1);
        stdout.Write(node is ConfigScalar s ? s.Value + "\n" : YamlTreeWriter.Write(node, header: false));
        return 0;
    }

    private void ReportSkipped(LoadedConfig config)
    {
        foreach (var line in config.ReportLines().Where(l => l.Contains(": error: ") || l.Contains(": skipped ")))
            stderr.WriteLine(line);
    }

    private int Set(ConfigPaths paths, string key, string value)
    {
        var path = ConfigPath.Parse(key, out var error);
        if (error is not null) return Fail($"berth config: {error}", 2);
        string dir = Path.GetDirectoryName(Path.GetFullPath(paths.UserConfig))!;
        Files.MakeDirectories(dir, 0x1c0 /* 0700 */);
        // Read, change, write under a lock: two `set`s at once must not lose one of the changes.
        using var lockFd = FileDescriptor.Open(Path.Combine(dir, ".cloud-config.lock"), O_RDWR | O_CREAT | O_CLOEXEC, 0x180);
        Files.LockExclusive(lockFd);
        ConfigMapping root;
        var existing = ConfigSourceReader.FromFile(paths.UserConfig, SourceKind.UserConfig);
        if (existing is null) root = ConfigMapping.Empty(new(paths.UserConfig, 1, 1));
        else if (existing.Tree is null)
        {
            foreach (var d in existing.Diagnostics) stderr.WriteLine(d);
            return Fail($"berth config: {paths.UserConfig} is invalid; fix it first (nothing written)", 1);
        }
        else root = existing.Tree;

        var node = KernelConfigSource.ValueNode(value, path.Type, new SourcePosition("(command line)", 1, 1));
        var updated = path.Set(root, node);
        string text = YamlTreeWriter.Write(updated);
        // Check what will be read back, not what we hold: the file is the truth at the next boot.
        var check = ConfigSourceReader.FromBytes(Encoding.UTF8.GetBytes(text), key, SourceKind.UserConfig);
        if (!check.Valid)
        {
            foreach (var d in check.Diagnostics.Where(d => d.Severity == Severity.Error))
                stderr.WriteLine($"berth config: {key}={value}: {d.Message}");
            return 1;
        }
        // 0600: the file may hold password hashes.
        Files.WriteAtomically(paths.UserConfig, Encoding.UTF8.GetBytes(text), 0x180);
        return 0;
    }

    private int Export(ConfigPaths paths, bool merged, bool sources)
    {
        ConfigNode tree;
        if (merged)
        {
            var config = CloudConfigLoader.Load(paths);
            ReportSkipped(config);
            tree = config.Merged;
        }
        else
        {
            var user = ConfigSourceReader.FromFile(paths.UserConfig, SourceKind.UserConfig);
            if (user is { Tree: null })
            {
                foreach (var d in user.Diagnostics) stderr.WriteLine(d);
                return 1;
            }
            tree = user?.Tree ?? ConfigMapping.Empty(new(paths.UserConfig, 1, 1));
        }
        if (!sources)
        {
            stdout.Write(YamlTreeWriter.Write(tree));
            return 0;
        }
        foreach (var (key, node) in Flatten(tree, ""))
            stdout.WriteLine($"{key}: {YamlTreeWriter.WriteInline(node)}    # {node.Position}");
        return 0;
    }

    /// <summary>Leaves of the tree (scalars and whole lists: a list comes from one source).</summary>
    public static IEnumerable<(string Key, ConfigNode Node)> Flatten(ConfigNode node, string prefix)
    {
        if (node is ConfigMapping m && (m.Entries.Count > 0 || prefix.Length == 0))
        {
            foreach (var (k, v) in m.Entries)
                foreach (var leaf in Flatten(v, SchemaValidator.Join(prefix, k.Value)))
                    yield return leaf;
        }
        else yield return (prefix, node);
    }
}
