namespace Berth.Init.CloudConfig;

/// <summary>
/// A YAML value as the config layers see it: untyped (scalars stay text until the schema says
/// what they are), immutable (aliases share nodes; merging builds new ones) and positioned.
/// </summary>
public abstract class ConfigNode(SourcePosition position)
{
    public SourcePosition Position { get; } = position;

    /// <summary>Nodes this value stands for once aliases are expanded (bounds hostile input).</summary>
    public abstract long ExpandedSize { get; }

    public abstract string Kind { get; }
}

public sealed class ConfigScalar(string value, bool plain, SourcePosition position) : ConfigNode(position)
{
    public string Value { get; } = value;
    /// <summary>Unquoted: only plain scalars can mean null.</summary>
    public bool Plain { get; } = plain;
    public bool IsNull => Plain && Value is "" or "~" or "null" or "Null" or "NULL";
    public override long ExpandedSize => 1;
    public override string Kind => IsNull ? "null" : Value.Length <= 60 ? $"\"{Value}\"" : $"\"{Value[..57]}...\"";
}

public sealed class ConfigSequence(IReadOnlyList<ConfigNode> items, SourcePosition position) : ConfigNode(position)
{
    private readonly long _size = 1 + items.Sum(i => i.ExpandedSize);
    public IReadOnlyList<ConfigNode> Items { get; } = items;
    public override long ExpandedSize => _size;
    public override string Kind => "a list";
}

public sealed class ConfigMapping : ConfigNode
{
    private readonly long _size;

    public ConfigMapping(IReadOnlyList<KeyValuePair<ConfigScalar, ConfigNode>> entries, SourcePosition position) : base(position)
    {
        Entries = entries;
        _size = 1 + entries.Sum(e => 1 + e.Value.ExpandedSize);
    }

    public IReadOnlyList<KeyValuePair<ConfigScalar, ConfigNode>> Entries { get; }
    public override long ExpandedSize => _size;
    public override string Kind => "a mapping";

    public ConfigNode? Get(string key)
    {
        foreach (var e in Entries)
            if (e.Key.Value == key) return e.Value;
        return null;
    }

    public ConfigScalar? KeyNode(string key) => Entries.FirstOrDefault(e => e.Key.Value == key).Key;

    /// <summary>A copy with <paramref name="key"/> set to <paramref name="value"/> (in place if it exists, else appended).</summary>
    public ConfigMapping With(ConfigScalar key, ConfigNode value)
    {
        var list = Entries.ToList();
        int i = list.FindIndex(e => e.Key.Value == key.Value);
        if (i >= 0) list[i] = new(list[i].Key, value);
        else list.Add(new(key, value));
        return new ConfigMapping(list, Position);
    }

    public static ConfigMapping Empty(SourcePosition position) => new([], position);
}
