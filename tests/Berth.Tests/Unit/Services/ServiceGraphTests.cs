using Berth.Init.Stage2;
using Xunit;

namespace Berth.Tests.Unit.Services;

public sealed class ServiceGraphTests
{
    private static ServiceDefinition S(string name, params string[] deps) =>
        new() { Name = name, DependsOn = deps.Select(d => new ServiceDependency(d)).ToList() };

    [Fact]
    public void A_sound_graph_has_no_problems_and_stops_dependents_first()
    {
        var services = new[] { S("syslog"), S("devmgr"), S("net", "devmgr", "syslog"), S("ntp", "net"), S("console", "syslog") };
        Assert.Empty(ServiceGraph.Problems(services));
        var order = ServiceGraph.StopOrder(services).ToList();
        Assert.True(order.IndexOf("ntp") < order.IndexOf("net"));
        Assert.True(order.IndexOf("net") < order.IndexOf("devmgr"));
        Assert.True(order.IndexOf("net") < order.IndexOf("syslog"));
        Assert.True(order.IndexOf("console") < order.IndexOf("syslog"));
        Assert.Equal(5, order.Count);
    }

    [Fact]
    public void Self_dependency_and_longer_cycles_name_the_cycle()
    {
        var p = ServiceGraph.Problems([S("a", "a"), S("x", "y"), S("y", "z"), S("z", "x"), S("w", "x")]);
        Assert.Equal("dependency cycle: a → a", p["a"]);
        Assert.Equal("dependency cycle: x → y → z → x", p["x"]);
        Assert.Equal("dependency cycle: x → y → z → x", p["z"]);
        Assert.Equal("depends on \"x\", which cannot start", p["w"]);
    }
}
