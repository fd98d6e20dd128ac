namespace Berth.Init.CloudConfig;

/// <summary>
/// The lowest layer, built in code so that a boot with no config files parses no YAML at all.
/// It holds only what every Berth machine wants unless told otherwise.
/// </summary>
public static class BuiltInDefaults
{
    public const string Name = "(built-in defaults)";

    public static ConfigSource Source()
    {
        var at = new SourcePosition(Name, 1, 1);
        ConfigScalar S(string v) => new(v, plain: true, at);
        ConfigMapping M(params (string Key, ConfigNode Value)[] entries) =>
            new(entries.Select(e => new KeyValuePair<ConfigScalar, ConfigNode>(S(e.Key), e.Value)).ToList(), at);
        var tree = M(("berth", M(
            ("network", M(("interfaces", M(("eth0", M(("dhcp", S("true")))))))),
            ("upgrade", M(("channel", S("stable")), ("auto", S("false")))))));
        return new ConfigSource(Name, SourceKind.Defaults, tree, []);
    }
}
