namespace Berth.Init.CloudConfig;

/// <summary>
/// A dotted key path (<c>berth.network.dns.nameservers</c>, <c>berth.sysctl.net.ipv4.ip_forward</c>)
/// split by the schema: under a mapping of free names whose values are scalars (sysctl,
/// environment) the rest of the path is one key, dots and all.
/// </summary>
public sealed record ConfigPath(IReadOnlyList<string> Segments, SchemaType Type)
{
    public override string ToString() => string.Join('.', Segments);

    public static ConfigPath Parse(string dotted, out string? error, SchemaType? root = null)
    {
        error = null;
        SchemaType type = root ?? CloudConfigSchema.Root;
        var parts = dotted.Split('.');
        var segments = new List<string>();
        for (int i = 0; i < parts.Length; i++)
        {
            string part = parts[i];
            if (part.Length == 0)
            {
                error = $"\"{dotted}\" has an empty key";
                return new(segments, type);
            }
            if (type is EitherType either)
                type = either.Options.FirstOrDefault(o => o is RecordType or DictionaryType) ?? either.Options[0];
            switch (type)
            {
                case RecordType record:
                    if (!record.Fields.TryGetValue(part, out var field))
                    {
                        error = SchemaValidator.UnknownKey(string.Join('.', segments), part, record.Fields.Keys);
                        return new(segments, type);
                    }
                    segments.Add(part);
                    type = field;
                    break;
                case DictionaryType dict:
                    if (dict.Value is ScalarType)
                    {
                        segments.Add(string.Join('.', parts[i..]));
                        return new(segments, dict.Value);
                    }
                    segments.Add(part);
                    type = dict.Value;
                    break;
                default:
                    error = $"\"{string.Join('.', segments)}\" is {type.Expected}; it has no key \"{part}\"";
                    return new(segments, type);
            }
        }
        return new(segments, type);
    }

    /// <summary>The node at this path in a tree, or null when it is not set.</summary>
    public ConfigNode? Find(ConfigNode? root)
    {
        var node = root;
        foreach (var s in Segments)
            node = (node as ConfigMapping)?.Get(s);
        return node;
    }

    /// <summary>A copy of <paramref name="root"/> with the value at this path replaced (parents created).</summary>
    public ConfigMapping Set(ConfigMapping root, ConfigNode value) => Set(root, 0, value);

    private ConfigMapping Set(ConfigMapping map, int index, ConfigNode value)
    {
        var key = map.KeyNode(Segments[index]) ?? new ConfigScalar(Segments[index], plain: true, value.Position);
        if (index == Segments.Count - 1) return map.With(key, value);
        var child = map.Get(Segments[index]) as ConfigMapping ?? ConfigMapping.Empty(value.Position);
        return map.With(key, Set(child, index + 1, value));
    }

    /// <summary>A mapping holding only this path set to <paramref name="value"/>.</summary>
    public ConfigMapping Wrap(ConfigNode value) => Set(ConfigMapping.Empty(value.Position), value);
}
