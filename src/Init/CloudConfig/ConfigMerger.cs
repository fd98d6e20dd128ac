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
        var merged = low;
        foreach (var (key, value) in up.Entries)
        {
            var existing = merged.Get(key.Value);
            // A null in an upper source means "not set here", not "erase": layering only adds.
            if (value is ConfigScalar { IsNull: true } && existing is not null) continue;
            merged = merged.With(existing is null ? key : merged.KeyNode(key.Value)!, existing is null ? value : Merge(existing, value));
        }
        return merged;
    }
}
