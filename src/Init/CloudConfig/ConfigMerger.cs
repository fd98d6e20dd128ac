namespace Berth.Init.CloudConfig;

/// <summary>
/// Layers sources: mappings merge key by key (recursively), anything else, lists included, is
/// replaced by the later source. Nodes keep their positions, so the merged tree still says
/// which file each value came from.
/// </summary>
public static class ConfigMerger
{
    public static ConfigNode Merge(ConfigNode lower, ConfigNode upper)
    {
        if (lower is not ConfigMapping low || upper is not ConfigMapping up) return upper;
        // One pass with an index: a hostile file may hold tens of thousands of keys.
        var entries = low.Entries.ToList();
        var index = new Dictionary<string, int>(entries.Count, StringComparer.Ordinal);
        for (int i = 0; i < entries.Count; i++) index[entries[i].Key.Value] = i;
        foreach (var (key, value) in up.Entries)
        {
            if (index.TryGetValue(key.Value, out int i))
            {
                // A null in an upper source means "not set here", not "erase": layering only adds.
                if (value is ConfigScalar { IsNull: true }) continue;
                entries[i] = new(entries[i].Key, Merge(entries[i].Value, value));
            }
            else
            {
                index[key.Value] = entries.Count;
                entries.Add(new(key, value));
            }
        }
        return new ConfigMapping(entries, low.Position);
    }
}
