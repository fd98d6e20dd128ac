namespace Berth.Init.CloudConfig;

/// <summary>What a key accepts. The schema drives validation, did-you-mean and `berth config get/set` paths.</summary>
public abstract class SchemaType
{
    /// <summary>For messages: "a string", "a list of strings", ...</summary>
    public abstract string Expected { get; }
}

/// <summary>A scalar, with an optional check of its text.</summary>
public sealed class ScalarType(string expected, Func<string, bool>? accepts = null) : SchemaType
{
    public override string Expected { get; } = expected;
    public bool Accepts(string value) => accepts is null || accepts(value);
}

public sealed class ListType(SchemaType item) : SchemaType
{
    public SchemaType Item { get; } = item;
    public override string Expected => "a list of " + Plural(Item.Expected);

    private static string Plural(string s) => s switch
    {
        _ when s.StartsWith("a list of ", StringComparison.Ordinal) => "lists",
        _ when s.StartsWith("a string or a list", StringComparison.Ordinal) => "commands (strings or lists of strings)",
        "a string" => "strings",
        "a mapping" => "mappings",
        _ => s,
    };
}

/// <summary>A mapping with fixed keys.</summary>
public sealed class RecordType(string expected, params (string Key, SchemaType Type)[] fields) : SchemaType
{
    public IReadOnlyDictionary<string, SchemaType> Fields { get; } = fields.ToDictionary(f => f.Key, f => f.Type, StringComparer.Ordinal);
    public override string Expected { get; } = expected;
}

/// <summary>A mapping whose keys are names the user picks (sysctl keys, service names).</summary>
public sealed class DictionaryType(SchemaType value, Func<string, bool>? keyAccepts = null, string keyExpected = "") : SchemaType
{
    public SchemaType Value { get; } = value;
    public string KeyExpected { get; } = keyExpected;
    public bool AcceptsKey(string key) => keyAccepts is null || keyAccepts(key);
    public override string Expected => "a mapping";
}

/// <summary>One of several shapes, picked by the node's kind (scalar, list or mapping).</summary>
public sealed class EitherType(string expected, params SchemaType[] options) : SchemaType
{
    public IReadOnlyList<SchemaType> Options { get; } = options;
    public override string Expected { get; } = expected;

    public SchemaType? For(ConfigNode node) => Options.FirstOrDefault(o => node switch
    {
        ConfigScalar => o is ScalarType,
        ConfigSequence => o is ListType,
        _ => o is RecordType or DictionaryType,
    });
}
