namespace Berth.Init.CloudConfig;

/// <summary>
/// The top layer: <c>berth.KEY.PATH=VALUE</c> words of the kernel command line set
/// <c>berth.KEY.PATH</c> (e.g. <c>berth.sysctl.vm.swappiness=10</c>, <c>berth.network.dns.nameservers=1.1.1.1,9.9.9.9</c>),
/// and <c>berth.hostname=NAME</c> sets <c>hostname</c>. Flat <c>berth.*</c> boot switches
/// (<see cref="KernelCommandLine.KnownKeys"/>) are not config. A VALUE reads as YAML flow
/// (<c>[a, b]</c>, <c>{k: v}</c>); where a list is expected, a plain VALUE is split at commas.
/// </summary>
public static class KernelConfigSource
{
    public const string Name = "kernel command line";

    public static bool IsConfigKey(string key) =>
        key == "berth.hostname" || (key.StartsWith("berth.", StringComparison.Ordinal) && key.Count(c => c == '.') >= 2);

    public static ConfigSource? From(string cmdlineText)
    {
        var words = KernelCommandLine.Split(cmdlineText);
        ConfigMapping? tree = null;
        var found = new List<ConfigDiagnostic>();
        int searchFrom = 0;
        foreach (var word in words)
        {
            int at = cmdlineText.IndexOf(word, searchFrom, StringComparison.Ordinal);
            if (at >= 0) searchFrom = at + word.Length;
            int eq = word.IndexOf('=');
            string key = eq < 0 ? word : word[..eq];
            if (!IsConfigKey(key)) continue;
            var pos = new SourcePosition(Name, 1, at < 0 ? 1 : at + 1);
            string dotted = key == "berth.hostname" ? "hostname" : key;
            var path = ConfigPath.Parse(dotted, out var error);
            if (error is not null)
            {
                found.Add(new(Severity.Warning, pos, $"{key}: {error}; ignored"));
                continue;
            }
            var value = ValueNode(eq < 0 ? "" : word[(eq + 1)..], path.Type, pos);
            tree = path.Set(tree ?? ConfigMapping.Empty(pos), value);
        }
        if (tree is null && found.Count == 0) return null;
        var source = ConfigSourceReader.FromTree(tree, Name, SourceKind.KernelCommandLine);
        return source with { Diagnostics = [.. found, .. source.Diagnostics] };
    }

    /// <summary>VALUE as YAML; a bad YAML VALUE is taken as a plain string.</summary>
    public static ConfigNode ValueNode(string text, SchemaType expected, SourcePosition pos)
    {
        ConfigNode? parsed = null;
        try { parsed = YamlTreeReader.Read(text, pos.File); }
        catch (ConfigSyntaxException) { }
        parsed = Reposition(parsed ?? new ConfigScalar(text, plain: false, pos), pos);
        bool wantsList = expected is ListType || (expected is EitherType e && e.Options.Any(o => o is ListType) && !e.Options.Any(o => o is ScalarType));
        if (wantsList && parsed is ConfigScalar { IsNull: false } s)
            return new ConfigSequence(s.Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(v => (ConfigNode)new ConfigScalar(v, plain: true, pos)).ToList(), pos);
        return parsed;
    }

    /// <summary>Positions inside VALUE are relative to the word; point them all at the word.</summary>
    private static ConfigNode Reposition(ConfigNode node, SourcePosition pos) => node switch
    {
        ConfigScalar s => new ConfigScalar(s.Value, s.Plain, pos),
        ConfigSequence q => new ConfigSequence(q.Items.Select(i => Reposition(i, pos)).ToList(), pos),
        ConfigMapping m => new ConfigMapping(m.Entries.Select(e =>
            new KeyValuePair<ConfigScalar, ConfigNode>((ConfigScalar)Reposition(e.Key, pos), Reposition(e.Value, pos))).ToList(), pos),
        _ => node,
    };
}
