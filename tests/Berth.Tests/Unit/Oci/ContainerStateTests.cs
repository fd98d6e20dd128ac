using System.Text;
using Berth.Runtime.Oci;
using Xunit;

namespace Berth.Tests.Unit.Oci;

public class ContainerStateTests
{
    [Fact]
    public void State_is_written_as_the_spec_defines_it()
    {
        var state = new ContainerState
        {
            Id = "web",
            Status = ContainerStatus.Created,
            Pid = 4422,
            Bundle = "/var/lib/berth/bundles/web",
            Annotations = new Dictionary<string, string> { ["org.example.role"] = "frontend" },
        };
        Assert.Equal("""{"ociVersion":"1.2.0","id":"web","status":"created","pid":4422,"bundle":"/var/lib/berth/bundles/web","annotations":{"org.example.role":"frontend"}}""",
            state.ToJson(indented: false));
    }

    [Fact]
    public void An_oom_kill_is_reported_as_an_extra_property_readers_may_ignore()
    {
        var state = new ContainerState { Id = "m", Status = ContainerStatus.Stopped, Pid = 0, Bundle = "/b", OomKills = 1, MemoryMax = 16777216 };
        string json = state.ToJson(indented: false);
        Assert.EndsWith(""","bundle":"/b","oomKilled":{"oomKill":1,"memoryMax":16777216}}""", json);
        Assert.Equal("m", ContainerState.Parse(state.ToUtf8()).Id);
        Assert.Contains("\"memoryMax\":\"max\"", (state with { MemoryMax = null }).ToJson(indented: false));
        Assert.DoesNotContain("oomKilled", (state with { OomKills = null }).ToJson(indented: false));
    }

    [Fact]
    public void State_round_trips()
    {
        foreach (var status in Enum.GetValues<ContainerStatus>())
        {
            var state = new ContainerState { Id = "a", Status = status, Pid = status == ContainerStatus.Stopped ? null : 7, Bundle = "/b" };
            var back = ContainerState.Parse(state.ToUtf8());
            Assert.Equal(state.ToJson(), back.ToJson());
            Assert.Equal(status, back.Status);
        }
    }

    [Fact]
    public void Bad_state_is_an_error_naming_the_json_path()
    {
        static string Error(string json) =>
            Assert.Throws<SpecException>(() => ContainerState.Parse(Encoding.UTF8.GetBytes(json))).Message;
        Assert.Equal("state.json: $.status: unknown status \"paused\" (expected creating, created, running or stopped)",
            Error("""{"ociVersion":"1.2.0","id":"a","status":"paused","pid":1,"bundle":"/b"}"""));
        Assert.Equal("state.json: $.pid: required while the container is running",
            Error("""{"ociVersion":"1.2.0","id":"a","status":"running","bundle":"/b"}"""));
        Assert.Equal("state.json: $.id: required field is missing",
            Error("""{"ociVersion":"1.2.0","status":"stopped","bundle":"/b"}"""));
        Assert.StartsWith("state.json: invalid JSON at line 1, byte ", Error("""{"ociVersion":"""));
    }
}
