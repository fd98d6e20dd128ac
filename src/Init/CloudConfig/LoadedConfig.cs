namespace Berth.Init.CloudConfig;

/// <summary>The NoCloud seed's meta-data and, when the user-data is a #! script, the script.</summary>
public sealed record SeedData(string? InstanceId, string? LocalHostname, byte[]? Script);

/// <summary>
/// The services as the supervisor should run them: merged from every source, validated, with the
/// global <c>berth.environment</c> underneath each service's own environment.
/// </summary>
public sealed class ServiceCatalog(IReadOnlyList<ServiceDefinition> all, IReadOnlyDictionary<string, string> globalEnvironment)
{
    public static readonly ServiceCatalog Empty = new([], new Dictionary<string, string>());

    /// <summary>Every valid service, enabled or not, in declaration order.</summary>
    public IReadOnlyList<ServiceDefinition> All { get; } = all;

    /// <summary>Enabled services, each after the services it depends on.</summary>
    public IReadOnlyList<ServiceDefinition> StartOrder { get; } = ServiceGraph.StartOrder(all);

    public ServiceDefinition? Get(string name) => All.FirstOrDefault(s => s.Name == name);

    /// <summary>berth.environment, then the service's own environment on top.</summary>
    public IReadOnlyDictionary<string, string> EnvironmentFor(ServiceDefinition service)
    {
        var env = new Dictionary<string, string>(globalEnvironment, StringComparer.Ordinal);
        foreach (var (k, v) in service.Environment) env[k] = v;
        return env;
    }
}

/// <summary>Every source as read, the merged tree, and the typed model built from it.</summary>
public sealed class LoadedConfig
{
    public required IReadOnlyList<ConfigSource> Sources { get; init; }
    public required ConfigMapping Merged { get; init; }
    public required CloudConfigModel Model { get; init; }
    /// <summary>Findings of the merged model (services that do not fit together) beyond the per-source ones.</summary>
    public required IReadOnlyList<ConfigDiagnostic> MergeDiagnostics { get; init; }
    public SeedData? Seed { get; init; }
    public required ServiceCatalog Services { get; init; }

    public IEnumerable<ConfigDiagnostic> Diagnostics => Sources.SelectMany(s => s.Diagnostics).Concat(MergeDiagnostics);
    public bool HasErrors => Diagnostics.Any(d => d.Severity == Severity.Error);

    /// <summary>Findings shown per source on the console: a hostile file must not flood a slow serial line.</summary>
    public const int MaxReportedPerSource = 20;

    /// <summary>The report as printed on the console: findings (capped per source), then one line per skipped source.</summary>
    public IEnumerable<string> ReportLines()
    {
        foreach (var group in Diagnostics.GroupBy(d => d.Position.File))
        {
            int n = 0;
            foreach (var d in group)
                if (n++ < MaxReportedPerSource) yield return d.ToString();
            if (n > MaxReportedPerSource)
                yield return $"{group.Key}: {n - MaxReportedPerSource} more findings (berth config validate {group.Key} shows them all)";
        }
        foreach (var s in Sources.Where(s => !s.Valid))
            yield return $"{s.Name}: skipped ({s.ErrorCount} {(s.ErrorCount == 1 ? "error" : "errors")}); the other sources still apply";
    }
}
