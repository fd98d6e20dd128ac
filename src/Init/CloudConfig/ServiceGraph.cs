namespace Berth.Init.CloudConfig;

/// <summary>
/// Dependency checks over the merged services: every dependency exists, "healthy" waits only on a
/// service with a health check, "completed" only on a one-shot, and there is no cycle. A service
/// that fails is dropped with an error, and so is everything that depends on it.
/// </summary>
public static class ServiceGraph
{
    public static List<ServiceDefinition> Check(List<ServiceDefinition> services, List<ConfigDiagnostic> found)
    {
        var byName = services.ToDictionary(s => s.Name, StringComparer.Ordinal);
        var bad = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in services)
            foreach (var d in s.DependsOn)
            {
                string at = $"berth.services.{s.Name}.depends_on";
                if (!byName.TryGetValue(d.Service, out var target))
                    Fail(s, d.Position, $"{at}: unknown service \"{d.Service}\"");
                else if (d.Condition == DependencyCondition.Healthy && target.HealthCheck is null)
                    Fail(s, d.Position, $"{at}: \"{d.Service}\" has no healthcheck, so it can never be healthy");
                else if (d.Condition == DependencyCondition.Completed && !target.OneShot && target.Restart == ServiceRestart.Always)
                    Fail(s, d.Position, $"{at}: \"{d.Service}\" restarts always, so it never completes");
                else if (!target.Enabled && s.Enabled)
                    found.Add(new(Severity.Warning, d.Position, $"{at}: \"{d.Service}\" is disabled; \"{s.Name}\" will wait for it"));
            }

        // Cycles: depth-first with colours; report each cycle once at the service that closes it.
        var colour = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var s in services) Visit(s, new List<string>());

        // Anything depending (transitively) on a dropped service goes too.
        bool changed = true;
        while (changed)
        {
            changed = false;
            foreach (var s in services)
                if (!bad.Contains(s.Name) && s.DependsOn.FirstOrDefault(d => bad.Contains(d.Service)) is { } dep)
                {
                    Fail(s, dep.Position, $"berth.services.{s.Name}: left out because \"{dep.Service}\" is invalid");
                    changed = true;
                }
        }
        return services.Where(s => !bad.Contains(s.Name)).ToList();

        void Visit(ServiceDefinition s, List<string> trail)
        {
            if (colour.GetValueOrDefault(s.Name) == 2) return;
            colour[s.Name] = 1;
            trail.Add(s.Name);
            foreach (var d in s.DependsOn)
            {
                if (!byName.TryGetValue(d.Service, out var next)) continue;
                if (colour.GetValueOrDefault(next.Name) == 1)
                {
                    var cycle = trail.Skip(trail.IndexOf(next.Name)).Append(next.Name);
                    Fail(s, d.Position, $"berth.services.{s.Name}.depends_on: dependency cycle {string.Join(" -> ", cycle)}");
                    foreach (var n in trail.Skip(trail.IndexOf(next.Name))) bad.Add(n);
                }
                else Visit(next, trail);
            }
            trail.RemoveAt(trail.Count - 1);
            colour[s.Name] = 2;
        }

        void Fail(ServiceDefinition s, SourcePosition at, string message)
        {
            found.Add(new(Severity.Error, at, message));
            bad.Add(s.Name);
        }
    }

    /// <summary>Enabled services in an order where each comes after what it depends on (declaration order otherwise).</summary>
    public static IReadOnlyList<ServiceDefinition> StartOrder(IReadOnlyList<ServiceDefinition> services)
    {
        var enabled = services.Where(s => s.Enabled).ToDictionary(s => s.Name, StringComparer.Ordinal);
        var done = new HashSet<string>(StringComparer.Ordinal);
        var order = new List<ServiceDefinition>();
        foreach (var s in services) Add(s);
        return order;

        void Add(ServiceDefinition s)
        {
            if (!enabled.ContainsKey(s.Name) || !done.Add(s.Name)) return;
            foreach (var d in s.DependsOn)
                if (enabled.TryGetValue(d.Service, out var dep)) Add(dep);
            order.Add(s);
        }
    }
}
