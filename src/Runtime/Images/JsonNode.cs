using System.Text.Json;

namespace Berth.Runtime.Images;

/// <summary>
/// A JSON value together with the file it came from and its JSON path (<c>$.manifests[0].digest</c>),
/// so that every complaint about an image's JSON names both. Read-only over <see cref="JsonDocument"/>:
/// no reflection serializer, which NativeAOT would not keep.
/// </summary>
internal readonly struct JsonNode
{
    public JsonElement Element { get; }
    public string File { get; }
    public string Path { get; }

    private JsonNode(JsonElement element, string file, string path)
    {
        Element = element;
        File = file;
        Path = path;
    }

    /// <summary>Parses <paramref name="utf8"/>; the caller disposes the document after reading.</summary>
    public static JsonDocument Parse(ReadOnlyMemory<byte> utf8, string file)
    {
        try
        {
            return JsonDocument.Parse(utf8, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new ImageException($"{file}: invalid JSON: {e.Message}", e);
        }
    }

    public static JsonNode Root(JsonDocument document, string file)
    {
        var root = new JsonNode(document.RootElement, file, "$");
        if (document.RootElement.ValueKind != JsonValueKind.Object)
            throw root.Error($"expected an object, found {Describe(document.RootElement.ValueKind)}");
        return root;
    }

    /// <summary>The elements of a document whose root is an array (docker-archive's manifest.json), each at <c>$[i]</c>.</summary>
    public static IReadOnlyList<JsonNode> RootArray(JsonDocument document, string file)
    {
        var root = new JsonNode(document.RootElement, file, "$").Expect(JsonValueKind.Array);
        var list = new List<JsonNode>();
        int i = 0;
        foreach (var item in document.RootElement.EnumerateArray())
            list.Add(new JsonNode(item, file, $"$[{i++}]"));
        return list;
    }

    public ImageException Error(string message) => new($"{File}: {Path}: {message}");

    /// <summary>The member <paramref name="name"/>; null when absent or JSON null (Go writes null for empty slices).</summary>
    public JsonNode? Get(string name)
    {
        if (Element.ValueKind != JsonValueKind.Object)
            throw Error($"expected an object, found {Describe(Element.ValueKind)}");
        if (!Element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        return new JsonNode(value, File, Path + "." + name);
    }

    public JsonNode Required(string name) =>
        Get(name) ?? throw new ImageException($"{File}: {Path}.{name}: required but missing");

    public JsonNode RequiredObject(string name) => Required(name).Expect(JsonValueKind.Object);

    public JsonNode? Object(string name) => Get(name)?.Expect(JsonValueKind.Object);

    public string RequiredString(string name) => Required(name).AsString();

    public string? String(string name) => Get(name)?.AsString();

    public long RequiredInt64(string name)
    {
        var node = Required(name).Expect(JsonValueKind.Number);
        return node.Element.TryGetInt64(out long v) ? v : throw node.Error($"{node.Element.GetRawText()} is not an integer");
    }

    public long? Int64(string name)
    {
        var node = Get(name)?.Expect(JsonValueKind.Number);
        if (node is not { } n) return null;
        return n.Element.TryGetInt64(out long v) ? v : throw n.Error($"{n.Element.GetRawText()} is not an integer");
    }

    public string AsString() => Expect(JsonValueKind.String).Element.GetString()!;

    public JsonNode Expect(JsonValueKind kind)
    {
        if (Element.ValueKind != kind)
            throw Error($"expected {Describe(kind)}, found {Describe(Element.ValueKind)}");
        return this;
    }

    /// <summary>The elements of the array <paramref name="name"/>; empty when absent.</summary>
    public IReadOnlyList<JsonNode> Array(string name)
    {
        var node = Get(name);
        if (node is null) return [];
        var array = node.Value.Expect(JsonValueKind.Array);
        var list = new List<JsonNode>(array.Element.GetArrayLength());
        int i = 0;
        foreach (var item in array.Element.EnumerateArray())
            list.Add(new JsonNode(item, File, $"{array.Path}[{i++}]"));
        return list;
    }

    /// <summary>An array of strings, or null when absent: Entrypoint null and Entrypoint [] differ.</summary>
    public IReadOnlyList<string>? StringArray(string name)
    {
        if (Get(name) is null) return null;
        return Array(name).Select(n => n.AsString()).ToList();
    }

    /// <summary>An object of string values (Labels, annotations); empty when absent.</summary>
    public IReadOnlyDictionary<string, string> StringMap(string name)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        var node = Object(name);
        if (node is null) return map;
        foreach (var p in node.Value.Element.EnumerateObject())
        {
            var value = new JsonNode(p.Value, File, node.Value.Path + "." + p.Name);
            map[p.Name] = value.AsString();
        }
        return map;
    }

    /// <summary>The keys of an object used as a set (ExposedPorts, Volumes: <c>{"80/tcp": {}}</c>).</summary>
    public IReadOnlyList<string> Keys(string name)
    {
        var node = Object(name);
        return node is null ? [] : node.Value.Element.EnumerateObject().Select(p => p.Name).ToList();
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}
