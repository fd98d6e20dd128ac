using System.Text.Json;

namespace Berth.Runtime.Oci;

/// <summary>
/// What a reading pass shares: the file name used in messages and the warnings collected so far.
/// </summary>
internal sealed class SpecReadContext(string source)
{
    public string Source { get; } = source;
    public List<SpecWarning> Warnings { get; } = [];

    public SpecException Error(string path, string detail) => new(Source, path, detail);
    public void Warn(string path, string message) => Warnings.Add(new SpecWarning(path, message));
}

/// <summary>
/// Typed reads of single JSON values; every failure names the value's JSON path. A hand mapping
/// instead of JsonSerializer keeps the binary free of reflection and lets each message say where.
/// </summary>
internal static class JsonValue
{
    public static string KindName(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    private static SpecException WrongKind(JsonElement e, string path, SpecReadContext ctx, string expected) =>
        ctx.Error(path, $"expected {expected}, got {KindName(e.ValueKind)}");

    public static string String(JsonElement e, string path, SpecReadContext ctx) =>
        e.ValueKind == JsonValueKind.String ? e.GetString()! : throw WrongKind(e, path, ctx, "a string");

    public static bool Bool(JsonElement e, string path, SpecReadContext ctx) => e.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw WrongKind(e, path, ctx, "a boolean"),
    };

    private static SpecException OutOfRange(JsonElement e, string path, SpecReadContext ctx, string range) =>
        ctx.Error(path, $"expected an integer in {range}, got {e.GetRawText()}");

    private static void RequireNumber(JsonElement e, string path, SpecReadContext ctx)
    {
        if (e.ValueKind != JsonValueKind.Number) throw WrongKind(e, path, ctx, "a number");
    }

    public static long Int64(JsonElement e, string path, SpecReadContext ctx)
    {
        RequireNumber(e, path, ctx);
        return e.TryGetInt64(out long v) ? v : throw OutOfRange(e, path, ctx, $"{long.MinValue}..{long.MaxValue}");
    }

    public static ulong UInt64(JsonElement e, string path, SpecReadContext ctx)
    {
        RequireNumber(e, path, ctx);
        return e.TryGetUInt64(out ulong v) ? v : throw OutOfRange(e, path, ctx, $"0..{ulong.MaxValue}");
    }

    public static int Int32(JsonElement e, string path, SpecReadContext ctx)
    {
        RequireNumber(e, path, ctx);
        return e.TryGetInt32(out int v) ? v : throw OutOfRange(e, path, ctx, $"{int.MinValue}..{int.MaxValue}");
    }

    public static uint UInt32(JsonElement e, string path, SpecReadContext ctx)
    {
        RequireNumber(e, path, ctx);
        return e.TryGetUInt32(out uint v) ? v : throw OutOfRange(e, path, ctx, $"0..{uint.MaxValue}");
    }

    public static ushort UInt16(JsonElement e, string path, SpecReadContext ctx)
    {
        RequireNumber(e, path, ctx);
        return e.TryGetUInt16(out ushort v) ? v : throw OutOfRange(e, path, ctx, $"0..{ushort.MaxValue}");
    }

    public static IReadOnlyList<T> List<T>(JsonElement e, string path, SpecReadContext ctx, Func<JsonElement, string, T> item)
    {
        if (e.ValueKind != JsonValueKind.Array) throw WrongKind(e, path, ctx, "an array");
        var list = new List<T>(e.GetArrayLength());
        int i = 0;
        foreach (var element in e.EnumerateArray())
        {
            list.Add(item(element, JsonPaths.Index(path, i)));
            i++;
        }
        return list;
    }

    public static IReadOnlyDictionary<string, T> Map<T>(JsonElement e, string path, SpecReadContext ctx, Func<JsonElement, string, T> value)
    {
        _ = JsonObjectReader.Open(e, path, ctx); // kind and duplicate checks
        var map = new Dictionary<string, T>(StringComparer.Ordinal);
        foreach (var property in e.EnumerateObject())
            map[property.Name] = value(property.Value, JsonPaths.Field(path, property.Name));
        return map;
    }
}

/// <summary>
/// Reads one JSON object field by field. Fields never asked for are reported as warnings by
/// <see cref="Finish"/>: an unknown field in a config is never silently ignored.
/// </summary>
internal sealed class JsonObjectReader
{
    private readonly JsonElement _element;
    private readonly SpecReadContext _ctx;
    private readonly HashSet<string> _consumed = new(StringComparer.Ordinal);

    public string Path { get; }
    public SpecReadContext Context => _ctx;

    private JsonObjectReader(JsonElement element, string path, SpecReadContext ctx)
    {
        _element = element;
        Path = path;
        _ctx = ctx;
    }

    /// <summary>Checks that the value is an object without duplicate fields.</summary>
    public static JsonObjectReader Open(JsonElement element, string path, SpecReadContext ctx)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw ctx.Error(path, $"expected an object, got {JsonValue.KindName(element.ValueKind)}");
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
            if (!names.Add(property.Name))
                throw ctx.Error(JsonPaths.Field(path, property.Name), "duplicate field");
        return new JsonObjectReader(element, path, ctx);
    }

    public string PathOf(string name) => JsonPaths.Field(Path, name);

    public SpecException Error(string name, string detail) => _ctx.Error(PathOf(name), detail);

    public bool Has(string name) =>
        _element.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

    /// <summary>The field's value; false when absent or null (both mean "not set", as in Go's decoder).</summary>
    public bool TryGet(string name, out JsonElement value, out string path)
    {
        _consumed.Add(name);
        path = PathOf(name);
        return _element.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;
    }

    private JsonElement Required(string name, out string path) =>
        TryGet(name, out var v, out path) ? v : throw _ctx.Error(path, "required field is missing");

    public string? String(string name) => TryGet(name, out var v, out var p) ? JsonValue.String(v, p, _ctx) : null;
    public string RequiredString(string name) => JsonValue.String(Required(name, out var p), p, _ctx);
    public bool? Bool(string name) => TryGet(name, out var v, out var p) ? JsonValue.Bool(v, p, _ctx) : null;
    public bool RequiredBool(string name) => JsonValue.Bool(Required(name, out var p), p, _ctx);
    public int? Int32(string name) => TryGet(name, out var v, out var p) ? JsonValue.Int32(v, p, _ctx) : null;
    public uint? UInt32(string name) => TryGet(name, out var v, out var p) ? JsonValue.UInt32(v, p, _ctx) : null;
    public uint RequiredUInt32(string name) => JsonValue.UInt32(Required(name, out var p), p, _ctx);
    public ushort? UInt16(string name) => TryGet(name, out var v, out var p) ? JsonValue.UInt16(v, p, _ctx) : null;
    public long? Int64(string name) => TryGet(name, out var v, out var p) ? JsonValue.Int64(v, p, _ctx) : null;
    public long RequiredInt64(string name) => JsonValue.Int64(Required(name, out var p), p, _ctx);
    public ulong? UInt64(string name) => TryGet(name, out var v, out var p) ? JsonValue.UInt64(v, p, _ctx) : null;
    public ulong RequiredUInt64(string name) => JsonValue.UInt64(Required(name, out var p), p, _ctx);

    public IReadOnlyList<string>? Strings(string name) =>
        TryGet(name, out var v, out var p) ? JsonValue.List(v, p, _ctx, (e, ep) => JsonValue.String(e, ep, _ctx)) : null;

    public IReadOnlyList<T>? List<T>(string name, Func<JsonElement, string, T> item) =>
        TryGet(name, out var v, out var p) ? JsonValue.List(v, p, _ctx, item) : null;

    public IReadOnlyList<T> RequiredList<T>(string name, Func<JsonElement, string, T> item) =>
        JsonValue.List(Required(name, out var p), p, _ctx, item);

    /// <summary>A nested object, or null when absent; call <see cref="Finish"/> on it when done.</summary>
    public JsonObjectReader? Object(string name) =>
        TryGet(name, out var v, out var p) ? Open(v, p, _ctx) : null;

    public JsonObjectReader RequiredObject(string name) => Open(Required(name, out var p), p, _ctx);

    public IReadOnlyDictionary<string, string>? StringMap(string name) =>
        TryGet(name, out var v, out var p) ? JsonValue.Map(v, p, _ctx, (e, ep) => JsonValue.String(e, ep, _ctx)) : null;

    public IReadOnlyDictionary<string, T>? Map<T>(string name, Func<JsonElement, string, T> value) =>
        TryGet(name, out var v, out var p) ? JsonValue.Map(v, p, _ctx, value) : null;

    /// <summary>Marks a field as read on purpose and warns with <paramref name="message"/> if it is present.</summary>
    public void WarnIfPresent(string name, string message)
    {
        if (TryGet(name, out _, out var p)) _ctx.Warn(p, message);
    }

    /// <summary>Warns about every field that no read asked for.</summary>
    public void Finish()
    {
        foreach (var property in _element.EnumerateObject())
            if (!_consumed.Contains(property.Name))
                _ctx.Warn(PathOf(property.Name), "unknown field, ignored");
    }
}
