namespace Berth.Runtime.Oci;

/// <summary>
/// A config.json (or state.json) that cannot be used. The message always names the file and, when
/// the problem is in a value, the JSON path of that value: <c>config.json: $.process.user.uid: ...</c>.
/// </summary>
public sealed class SpecException : Exception
{
    /// <summary>The file as the caller named it (e.g. "config.json" or a full bundle path).</summary>
    public string FileName { get; }
    /// <summary>JSON path of the offending value ("$.linux.namespaces[2].type"), or null for syntax errors.</summary>
    public string? JsonPath { get; }
    public string Detail { get; }

    public SpecException(string source, string? jsonPath, string detail)
        : base(jsonPath is null ? $"{source}: {detail}" : $"{source}: {jsonPath}: {detail}")
    {
        FileName = source;
        JsonPath = jsonPath;
        Detail = detail;
    }
}

/// <summary>Something in a config that is accepted but not (fully) honoured, or was not understood.</summary>
public sealed record SpecWarning(string JsonPath, string Message)
{
    public string Format(string source) => $"{source}: {JsonPath}: {Message}";
    public override string ToString() => $"{JsonPath}: {Message}";
}

/// <summary>JSON path strings in the form the messages use: $.a.b[2]["key.with.dots"].</summary>
public static class JsonPaths
{
    public const string Root = "$";

    public static string Field(string parent, string name) =>
        IsPlainName(name) ? parent + "." + name : parent + "[\"" + name.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"]";

    public static string Index(string parent, int index) => $"{parent}[{index}]";

    private static bool IsPlainName(string name)
    {
        if (name.Length == 0 || char.IsAsciiDigit(name[0])) return false;
        foreach (char c in name)
            if (!char.IsAsciiLetterOrDigit(c) && c != '_') return false;
        return true;
    }
}
