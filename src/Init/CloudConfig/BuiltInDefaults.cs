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
        ConfigSequence L(IEnumerable<string> items) => new(items.Select(i => (ConfigNode)S(i)).ToList(), at);
        // The system services, so that cloud-config can turn one off, change its command,
        // environment, restart policy or health check, and name it in a user service's depends_on
        // (service_healthy needs the health check here); what each may do (namespaces,
        // capabilities, binds) stays in Stage2.SystemServiceSet. The health checks poll fast: the
        // ready line waits on them.
        var services = Stage2.SystemServiceSet.Names.Select(name =>
        {
            var entries = new List<(string, ConfigNode)> { ("restart", S("always")) };
            if (Stage2.SystemServiceSet.HealthCommand(name) is { } test)
                entries.Add(("healthcheck", M(("test", L(test)), ("interval", S("200ms")), ("retries", S("50")))));
            return (name, (ConfigNode)M([.. entries]));
        });
        var tree = M(("berth", M(
            ("network", M(("interfaces", M(("eth0", M(("dhcp", S("true")))))))),
            ("upgrade", M(("channel", S("stable")), ("auto", S("false")))),
            ("services", M([.. services])))));
        return new ConfigSource(Name, SourceKind.Defaults, tree, []);
    }
}
