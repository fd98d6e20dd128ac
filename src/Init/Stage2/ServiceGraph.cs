namespace Berth.Init.Stage2;

public enum DependencyCondition { Started, Healthy, Completed }

/// <summary>depends_on: the other service, and what it must have reached before this one starts.</summary>
public sealed record ServiceDependency(string Name, DependencyCondition Condition = DependencyCondition.Started);

/// <summary>
/// The depends_on graph of a set of services: which cannot start at all (a dependency that does
/// not exist, or a cycle they are part of), and the order to stop them in (dependents first).
/// Starting needs no order: every service waits for its own dependencies, so independent
/// branches start in parallel.
/// </summary>
public static class ServiceGraph
{
    /// <summary>Services that can never start, with the reason, e.g. "depends on itself through b → a".</summary>
    public static IReadOnlyDictionary<string, string> Problems(IReadOnlyList<ServiceDefinition> services)
    {
        var byName = services.ToDictionary(s => s.Name);
        var problems = new Dictionary<string, string>();
        foreach (var s in services)
            foreach (var d in s.DependsOn)
                if (!byName.ContainsKey(d.Name)) problems[s.Name] = $"depends on \"{d.Name}\", which is not a service";

        // Depth-first search for cycles: every service on a cycle is reported with the cycle.
        var state = new Dictionary<string, int>(); // 1 on the stack, 2 done
        var stack = new List<string>();
        void Visit(string name)
        {
            state[name] = 1;
            stack.Add(name);
            foreach (var d in byName[name].DependsOn)
            {
                if (!byName.ContainsKey(d.Name)) continue;
                if (state.GetValueOrDefault(d.Name) == 1)
                {
                    var cycle = stack.Skip(stack.IndexOf(d.Name)).Append(d.Name).ToList();
                    foreach (var member in cycle.Distinct())
                        problems.TryAdd(member, $"dependency cycle: {string.Join(" → ", cycle)}");
                }
                else if (state.GetValueOrDefault(d.Name) == 0) Visit(d.Name);
            }
            stack.RemoveAt(stack.Count - 1);
            state[name] = 2;
        }
        foreach (var s in services)
            if (state.GetValueOrDefault(s.Name) == 0) Visit(s.Name);

        // A service that (transitively) needs one that cannot start cannot start either.
        bool changed = true;
        while (changed)
        {
            changed = false;
            foreach (var s in services)
            {
                if (problems.ContainsKey(s.Name)) continue;
                var bad = s.DependsOn.FirstOrDefault(d => problems.ContainsKey(d.Name));
                if (bad is null) continue;
                problems[s.Name] = $"depends on \"{bad.Name}\", which cannot start";
                changed = true;
            }
        }
        return problems;
    }

    /// <summary>Names in stop order: a service stops before everything it depends on.</summary>
    public static IReadOnlyList<string> StopOrder(IReadOnlyList<ServiceDefinition> services)
    {
        var byName = services.ToDictionary(s => s.Name);
        var started = new List<string>();
        var seen = new HashSet<string>();
        void Visit(string name)
        {
            if (!seen.Add(name)) return;
            foreach (var d in byName[name].DependsOn)
                if (byName.ContainsKey(d.Name)) Visit(d.Name);
            started.Add(name);
        }
        foreach (var s in services) Visit(s.Name);
        started.Reverse();
        return started;
    }
}
