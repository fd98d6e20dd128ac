namespace Berth.Init.CloudConfig;

/// <summary>
/// Checks a node tree against the schema. Unknown keys are warnings (with a did-you-mean); a value
/// of the wrong type is an error naming the key path and the expected type. A null value means "not set".
/// </summary>
public static class SchemaValidator
{
    public static List<ConfigDiagnostic> Validate(ConfigNode root, SchemaType schema)
    {
        var found = new List<ConfigDiagnostic>();
        Check(root, schema, "", found, nullAllowed: true);
        return found;
    }

    private static void Check(ConfigNode node, SchemaType type, string path, List<ConfigDiagnostic> found, bool nullAllowed)
    {
        if (node is ConfigScalar { IsNull: true } && nullAllowed) return;
        if (type is EitherType either)
        {
            var option = either.For(node);
            if (option is null || node is ConfigScalar { IsNull: true })
            {
                Mismatch(node, either, path, found);
                return;
            }
            type = option;
        }
        switch (type, node)
        {
            case (ScalarType scalar, ConfigScalar s):
                if (s.IsNull || !scalar.Accepts(s.Value)) Mismatch(node, type, path, found);
                break;
            case (ListType list, ConfigSequence seq):
                for (int i = 0; i < seq.Items.Count; i++)
                    Check(seq.Items[i], list.Item, $"{path}[{i}]", found, nullAllowed: false);
                break;
            case (RecordType record, ConfigMapping map):
                foreach (var (key, value) in map.Entries)
                {
                    string keyPath = Join(path, key.Value);
                    if (record.Fields.TryGetValue(key.Value, out var fieldType))
                        Check(value, fieldType, keyPath, found, nullAllowed: true);
                    else
                        found.Add(new(Severity.Warning, key.Position, UnknownKey(path, key.Value, record.Fields.Keys)));
                }
                break;
            case (DictionaryType dict, ConfigMapping map):
                foreach (var (key, value) in map.Entries)
                {
                    string keyPath = Join(path, key.Value);
                    if (!dict.AcceptsKey(key.Value))
                        found.Add(new(Severity.Error, key.Position, $"{keyPath}: \"{key.Value}\" is not {dict.KeyExpected}"));
                    else
                        Check(value, dict.Value, keyPath, found, nullAllowed: true);
                }
                break;
            default:
                Mismatch(node, type, path, found);
                break;
        }
    }

    public static string Join(string path, string key) => path.Length == 0 ? key : path + "." + key;

    private static void Mismatch(ConfigNode node, SchemaType type, string path, List<ConfigDiagnostic> found) =>
        found.Add(new(Severity.Error, node.Position, $"{(path.Length == 0 ? "top level" : path)}: expected {type.Expected}, got {node.Kind}"));

    public static string UnknownKey(string parentPath, string key, IEnumerable<string> known)
    {
        string message = $"unknown key \"{Join(parentPath, key)}\"";
        var suggestion = DidYouMean(key, known);
        return suggestion is null ? message : $"{message} (did you mean \"{Join(parentPath, suggestion)}\"?)";
    }

    /// <summary>The closest known key within a small edit distance (a typo, not a different word).</summary>
    public static string? DidYouMean(string key, IEnumerable<string> known)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            int d = EditDistance(key.ToLowerInvariant(), candidate);
            if (d < bestDistance) (best, bestDistance) = (candidate, d);
        }
        int allowed = Math.Max(1, Math.Min(3, key.Length / 3));
        return bestDistance <= allowed ? best : null;
    }

    /// <summary>Optimal string alignment distance: a transposition ("hsotname") counts as one edit.</summary>
    public static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}
