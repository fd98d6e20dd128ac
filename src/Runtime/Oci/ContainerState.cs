using System.Text.Json;

namespace Berth.Runtime.Oci;

public enum ContainerStatus { Creating, Created, Running, Stopped }

/// <summary>
/// The state of a container as the runtime-spec defines it: what `state` prints, what hooks get on
/// stdin, and what Berth keeps in /run/berth/runtime/&lt;id&gt;/state.json.
/// </summary>
public sealed record ContainerState
{
    public string OciVersion { get; init; } = RuntimeSpec.Version;
    public required string Id { get; init; }
    public required ContainerStatus Status { get; init; }
    /// <summary>The container process as seen from the runtime's pid namespace; required while created or running.</summary>
    public int? Pid { get; init; }
    /// <summary>Absolute path of the bundle directory.</summary>
    public required string Bundle { get; init; }
    public IReadOnlyDictionary<string, string> Annotations { get; init; } = RuntimeSpec.EmptyMap;
    /// <summary>
    /// Berth's addition (the spec lets a runtime add properties): how many processes of the container
    /// the kernel's OOM killer took (memory.events oom_kill), written as "oomKilled" only when any were.
    /// </summary>
    public long? OomKills { get; init; }
    /// <summary>memory.max of the container's cgroup at the time, with <see cref="OomKills"/>; null for "max".</summary>
    public long? MemoryMax { get; init; }

    public static string StatusName(ContainerStatus status) => status switch
    {
        ContainerStatus.Creating => "creating",
        ContainerStatus.Created => "created",
        ContainerStatus.Running => "running",
        ContainerStatus.Stopped => "stopped",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    public byte[] ToUtf8(bool indented = true)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, indented ? SpecWriter.Indented : default)) Write(w);
        return buffer.WrittenSpan.ToArray();
    }

    public string ToJson(bool indented = true) => System.Text.Encoding.UTF8.GetString(ToUtf8(indented));

    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("ociVersion", OciVersion);
        w.WriteString("id", Id);
        w.WriteString("status", StatusName(Status));
        if (Pid is { } pid) w.WriteNumber("pid", pid);
        w.WriteString("bundle", Bundle);
        SpecWriter.StringMap(w, "annotations", Annotations);
        if (OomKills is > 0 and var kills)
        {
            w.WriteStartObject("oomKilled");
            w.WriteNumber("oomKill", kills);
            if (MemoryMax is { } max) w.WriteNumber("memoryMax", max);
            else w.WriteString("memoryMax", "max");
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    /// <summary>Reads state JSON (ours, or what a hook was given); errors name the JSON path.</summary>
    public static ContainerState Parse(ReadOnlyMemory<byte> json, string source = "state.json")
    {
        var ctx = new SpecReadContext(source);
        using var document = SpecReader.ParseDocument(json, source);
        var o = JsonObjectReader.Open(document.RootElement, JsonPaths.Root, ctx);
        string status = o.RequiredString("status");
        var state = new ContainerState
        {
            OciVersion = o.RequiredString("ociVersion"),
            Id = o.RequiredString("id"),
            Status = status switch
            {
                "creating" => ContainerStatus.Creating,
                "created" => ContainerStatus.Created,
                "running" => ContainerStatus.Running,
                "stopped" => ContainerStatus.Stopped,
                _ => throw ctx.Error("$.status", $"unknown status \"{status}\" (expected creating, created, running or stopped)"),
            },
            Pid = o.Int32("pid"),
            Bundle = o.RequiredString("bundle"),
            Annotations = o.StringMap("annotations") ?? RuntimeSpec.EmptyMap,
        };
        // Fields a newer runtime may add are no concern of a reader of state: Finish() is not called.
        if (state.Pid is null && state.Status is ContainerStatus.Created or ContainerStatus.Running)
            throw ctx.Error("$.pid", $"required while the container is {status}");
        return state;
    }
}
