using Berth.SystemServices.Bundles;
using Config = Berth.Init.CloudConfig;

namespace Berth.Init.Stage2;

/// <summary>
/// cloud-config's <c>berth.services</c> laid over the system services: a system service's entry may
/// turn it off (<c>enabled: false</c>), change its command and environment, or replace its image
/// (it keeps its privileges and binds, not the base's /usr and /bin); any other name is a
/// user service, run from its image (or a bundle path) with its restart policy, dependencies and
/// health check. A service that depends on one that is turned off no longer waits for it.
/// </summary>
public static class ConfiguredServices
{
    /// <summary>A system service's bundle with what its cloud-config entry changes; null when turned off.</summary>
    public static ServiceBundle? Customize(ServiceBundle bundle, Config.ServiceCatalog catalog, Action<string> note)
    {
        if (catalog.Get(bundle.Name) is not { } entry) return bundle;
        if (!entry.Enabled)
        {
            note($"service {bundle.Name} is turned off by cloud-config ({entry.Positions.GetValueOrDefault("enabled", entry.Position)})");
            return null;
        }
        var env = catalog.EnvironmentFor(entry);
        return bundle with
        {
            Image = entry.Image,
            Args = entry.Command?.Argv ?? bundle.Args,
            Env = env.Count == 0 ? bundle.Env : [.. bundle.Env.Where(e => !env.ContainsKey(e[..Math.Max(0, e.IndexOf('='))])), .. env.Select(e => $"{e.Key}={e.Value}")],
        };
    }

    /// <summary>The enabled services of cloud-config that are not system services, as the supervisor runs them.</summary>
    public static List<ServiceDefinition> UserServices(Config.ServiceCatalog catalog, IReadOnlySet<string> systemNames, Config.ConfigMapping merged)
    {
        var list = new List<ServiceDefinition>();
        foreach (var s in catalog.StartOrder)
        {
            if (systemNames.Contains(s.Name)) continue;
            var env = catalog.EnvironmentFor(s);
            var bundle = new UserServiceBundle(s, env);
            list.Add(new ServiceDefinition
            {
                Name = s.Name,
                Fingerprint = Fingerprint(s.Name, env, merged),
                PrepareBundle = bundle.Prepare,
                Log = new ServiceLog(s.Name),
                Restart = RestartOf(s),
                StopSignal = s.StopSignal,
                OneShot = s.OneShot,
                DependsOn = DependenciesOf(s),
                Health = HealthOf(s),
            });
        }
        return list;
    }

    public static RestartPolicy RestartOf(Config.ServiceDefinition s) => s.Restart switch
    {
        Config.ServiceRestart.Always => RestartPolicy.Always,
        Config.ServiceRestart.OnFailure => RestartPolicy.OnFailure,
        _ => RestartPolicy.No,
    };

    public static List<ServiceDependency> DependenciesOf(Config.ServiceDefinition s) =>
        s.DependsOn.Select(d => new ServiceDependency(d.Service, d.Condition switch
        {
            Config.DependencyCondition.Healthy => DependencyCondition.Healthy,
            Config.DependencyCondition.Completed => DependencyCondition.Completed,
            _ => DependencyCondition.Started,
        })).ToList();

    public static HealthCheck? HealthOf(Config.ServiceDefinition s) => s.HealthCheck is { Test: { } test } h
        ? new HealthCheck { Command = test.Argv, Interval = h.Interval, Timeout = h.Timeout, Retries = h.Retries, StartPeriod = h.StartPeriod }
        : null;

    /// <summary>
    /// The service's merged config as text (values only: moving it to another line changes nothing)
    /// and its environment. A new image under the same name is not seen: `berth restart` takes it.
    /// </summary>
    private static string Fingerprint(string name, IReadOnlyDictionary<string, string> env, Config.ConfigMapping merged)
    {
        var node = (merged.Get("berth") as Config.ConfigMapping)?.Get("services") is Config.ConfigMapping services ? services.Get(name) : null;
        return (node is null ? name : Config.YamlTreeWriter.WriteInline(node)) + "\n" + string.Join("\n", env.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={e.Value}"));
    }

    /// <summary>A system service's: what config may change of it (the rest is this binary's own), and its config entry.</summary>
    public static string Fingerprint(ServiceBundle b, Config.ServiceDefinition? entry) =>
        string.Join('\0', b.Args) + "\n" + string.Join('\0', b.Env) + "\n" + b.Image + "\n"
        + entry?.Restart + "\n" + string.Join(',', entry?.DependsOn.Select(d => $"{d.Service}:{d.Condition}") ?? [])
        + "\n" + (entry?.HealthCheck is { Test: { } t } h ? $"{string.Join('\0', t.Argv)}|{h.Interval}|{h.Retries}|{h.StartPeriod}" : "") + "\n" + entry?.StopSignal;

    /// <summary>Drops dependencies on services that are turned off: waiting for them would wait forever.</summary>
    public static List<ServiceDefinition> WithoutDisabledDependencies(List<ServiceDefinition> services, Config.ServiceCatalog catalog, Action<string> note)
    {
        var off = catalog.All.Where(s => !s.Enabled).Select(s => s.Name).ToHashSet();
        if (off.Count == 0) return services;
        return services.Select(s =>
        {
            var dropped = s.DependsOn.Where(d => off.Contains(d.Name)).ToList();
            if (dropped.Count == 0) return s;
            note($"service {s.Name}: not waiting for {string.Join(", ", dropped.Select(d => d.Name))} (turned off)");
            return s with { DependsOn = s.DependsOn.Except(dropped).ToList() };
        }).ToList();
    }
}
