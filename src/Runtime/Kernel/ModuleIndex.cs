namespace Berth.Runtime.Kernel;

/// <summary>
/// The kernel module index depmod writes under /lib/modules/VERSION: modules.dep (files and
/// hard dependencies), modules.softdep (pre: modules), modules.builtin and modules.alias.
/// Module names are normalised to underscores, as the kernel does.
/// </summary>
public sealed class ModuleIndex
{
    private readonly Dictionary<string, ModuleEntry> _modules = new();
    private readonly HashSet<string> _builtin = new();
    private readonly Dictionary<string, List<string>> _softPre = new();
    private readonly List<(string Pattern, string Module)> _aliases = new();

    public string Root { get; }

    public sealed record ModuleEntry(string Name, string RelativePath, IReadOnlyList<string> Dependencies);

    private ModuleIndex(string root) => Root = root;

    public static string Normalize(string name) => name.Replace('-', '_');

    public static string NameFromPath(string path)
    {
        var file = Path.GetFileName(path);
        int dot = file.IndexOf(".ko", StringComparison.Ordinal);
        return Normalize(dot >= 0 ? file[..dot] : file);
    }

    /// <summary>Loads the index of <paramref name="root"/> (e.g. /lib/modules/6.1.0-56-amd64).</summary>
    public static ModuleIndex Load(string root)
    {
        var index = new ModuleIndex(root);
        string depFile = Path.Combine(root, "modules.dep");
        if (!File.Exists(depFile))
            throw new FileNotFoundException($"kernel module index {depFile} is missing", depFile);
        index.ParseDep(File.ReadAllText(depFile));
        var builtin = Path.Combine(root, "modules.builtin");
        if (File.Exists(builtin)) index.ParseBuiltin(File.ReadAllText(builtin));
        var softdep = Path.Combine(root, "modules.softdep");
        if (File.Exists(softdep)) index.ParseSoftdep(File.ReadAllText(softdep));
        var alias = Path.Combine(root, "modules.alias");
        if (File.Exists(alias)) index.ParseAliases(File.ReadAllText(alias));
        return index;
    }

    public static ModuleIndex FromText(string root, string dep, string builtin = "", string softdep = "", string alias = "")
    {
        var index = new ModuleIndex(root);
        index.ParseDep(dep);
        index.ParseBuiltin(builtin);
        index.ParseSoftdep(softdep);
        index.ParseAliases(alias);
        return index;
    }

    private void ParseDep(string text)
    {
        foreach (var raw in text.Split('\n'))
        {
            int colon = raw.IndexOf(':');
            if (colon <= 0) continue;
            string path = raw[..colon].Trim();
            var deps = raw[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(NameFromPath).ToList();
            var name = NameFromPath(path);
            _modules[name] = new ModuleEntry(name, path, deps);
        }
    }

    private void ParseBuiltin(string text)
    {
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            _builtin.Add(NameFromPath(line));
    }

    private void ParseSoftdep(string text)
    {
        // softdep MODULE pre: A B post: C
        foreach (var line in text.Split('\n', StringSplitOptions.TrimEntries))
        {
            if (!line.StartsWith("softdep ", StringComparison.Ordinal)) continue;
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length < 3) continue;
            string module = Normalize(words[1]);
            bool pre = false;
            foreach (var w in words.Skip(2))
            {
                if (w == "pre:") { pre = true; continue; }
                if (w == "post:") { pre = false; continue; }
                if (!pre) continue;
                if (!_softPre.TryGetValue(module, out var list)) _softPre[module] = list = new();
                list.Add(w); // may be an alias ("crypto-crc32c"): not normalised

            }
        }
    }

    private void ParseAliases(string text)
    {
        foreach (var line in text.Split('\n', StringSplitOptions.TrimEntries))
        {
            if (!line.StartsWith("alias ", StringComparison.Ordinal)) continue;
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 3) _aliases.Add((words[1], Normalize(words[2])));
        }
    }

    public bool IsBuiltin(string name) => _builtin.Contains(Normalize(name));

    public ModuleEntry? Find(string name) => _modules.GetValueOrDefault(Normalize(name));

    public IReadOnlyList<string> SoftPre(string name) =>
        _softPre.TryGetValue(Normalize(name), out var l) ? l : Array.Empty<string>();

    /// <summary>Modules whose alias pattern matches a device's MODALIAS (fnmatch rules).</summary>
    public IEnumerable<string> ResolveAlias(string modalias)
    {
        var seen = new HashSet<string>();
        foreach (var (pattern, module) in _aliases)
            if (Glob.Match(pattern, modalias) && seen.Add(module))
                yield return module;
    }

    /// <summary>
    /// The modules to load for <paramref name="name"/>, dependencies first, each once.
    /// Built-in modules are left out; a name that is neither built in nor indexed throws.
    /// </summary>
    public IReadOnlyList<ModuleEntry> LoadOrder(string name) => Plan(name).Select(s => s.Module).ToList();

    /// <summary>One module to load; optional ones (reached through a softdep) may fail without failing the load.</summary>
    public readonly record struct PlanStep(ModuleEntry Module, bool Optional);

    /// <summary>Like <see cref="LoadOrder"/>, saying which modules are only soft dependencies.</summary>
    public IReadOnlyList<PlanStep> Plan(string name)
    {
        var order = new List<PlanStep>();
        Visit(name, order, new HashSet<string>(), new HashSet<string>(), optional: false, requiredBy: null);
        return order;
    }

    private void Visit(string rawName, List<PlanStep> order, HashSet<string> done, HashSet<string> inProgress,
        bool optional, string? requiredBy)
    {
        string name = Normalize(rawName);
        if (done.Contains(name) || _builtin.Contains(name)) return;
        if (!_modules.TryGetValue(name, out var entry))
        {
            // softdeps often name an alias ("pre: crc32c" means crc32c_generic or crc32c_intel).
            var viaAlias = ResolveAlias(rawName).Where(m => _modules.ContainsKey(m) || _builtin.Contains(m)).ToList();
            if (viaAlias.Count > 0)
            {
                foreach (var m in viaAlias) Visit(m, order, done, inProgress, optional, requiredBy);
                return;
            }
            if (optional) return;
            throw new ModuleNotFoundException(name, Root, requiredBy);
        }
        if (!inProgress.Add(name)) return; // a cycle in a corrupt index: load what we can
        foreach (var pre in SoftPre(name)) Visit(pre, order, done, inProgress, optional: true, name);
        foreach (var dep in entry.Dependencies) Visit(dep, order, done, inProgress, optional: false, name);
        inProgress.Remove(name);
        if (done.Add(name)) order.Add(new PlanStep(entry, optional));
    }
}

public sealed class ModuleNotFoundException(string module, string root, string? requiredBy)
    : Exception(requiredBy is null
        ? $"kernel module '{module}' not found in {root} (neither in modules.dep nor built in)"
        : $"kernel module '{module}' (needed by '{requiredBy}') not found in {root}")
{
    public string Module { get; } = module;
}
