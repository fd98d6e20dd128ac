using System.Text.Json;

namespace Berth.Runtime.Oci;

/// <summary>
/// Writes a <see cref="RuntimeSpec"/> as config.json (for `spec`), field for field with
/// Utf8JsonWriter, leaving out what is unset as Go's omitempty does, so that reading the output
/// back gives the same spec.
/// </summary>
public static class SpecWriter
{
    public static readonly JsonWriterOptions Indented = new() { Indented = true, IndentCharacter = '\t', IndentSize = 1 };

    public static byte[] ToUtf8(RuntimeSpec spec)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, Indented)) Write(w, spec);
        return buffer.WrittenSpan.ToArray();
    }

    public static string ToJson(RuntimeSpec spec) => System.Text.Encoding.UTF8.GetString(ToUtf8(spec));

    public static void Write(Utf8JsonWriter w, RuntimeSpec spec)
    {
        w.WriteStartObject();
        w.WriteString("ociVersion", spec.OciVersion);
        if (spec.Process is { } p) { w.WritePropertyName("process"); WriteProcess(w, p); }
        if (spec.Root is { } root)
        {
            w.WriteStartObject("root");
            w.WriteString("path", root.Path);
            if (root.Readonly) w.WriteBoolean("readonly", true);
            w.WriteEndObject();
        }
        OptionalString(w, "hostname", spec.Hostname);
        OptionalString(w, "domainname", spec.Domainname);
        if (spec.Mounts.Count > 0)
        {
            w.WriteStartArray("mounts");
            foreach (var m in spec.Mounts) WriteMount(w, m);
            w.WriteEndArray();
        }
        if (spec.Hooks is { } hooks) WriteHooks(w, hooks);
        StringMap(w, "annotations", spec.Annotations);
        if (spec.Linux is { } linux) { w.WritePropertyName("linux"); LinuxWriter.Write(w, linux); }
        w.WriteEndObject();
    }

    private static void WriteProcess(Utf8JsonWriter w, ProcessSpec p)
    {
        w.WriteStartObject();
        if (p.Terminal) w.WriteBoolean("terminal", true);
        if (p.ConsoleSize is { } size)
        {
            w.WriteStartObject("consoleSize");
            w.WriteNumber("height", size.Height);
            w.WriteNumber("width", size.Width);
            w.WriteEndObject();
        }
        w.WriteStartObject("user");
        w.WriteNumber("uid", p.User.Uid);
        w.WriteNumber("gid", p.User.Gid);
        if (p.User.Umask is { } umask) w.WriteNumber("umask", umask);
        if (p.User.AdditionalGids.Count > 0)
        {
            w.WriteStartArray("additionalGids");
            foreach (var g in p.User.AdditionalGids) w.WriteNumberValue(g);
            w.WriteEndArray();
        }
        w.WriteEndObject();
        Strings(w, "args", p.Args);
        Strings(w, "env", p.Env);
        w.WriteString("cwd", p.Cwd);
        if (p.Capabilities is { } caps)
        {
            w.WriteStartObject("capabilities");
            NullableStrings(w, "bounding", caps.Bounding);
            NullableStrings(w, "effective", caps.Effective);
            NullableStrings(w, "inheritable", caps.Inheritable);
            NullableStrings(w, "permitted", caps.Permitted);
            NullableStrings(w, "ambient", caps.Ambient);
            w.WriteEndObject();
        }
        if (p.Rlimits.Count > 0)
        {
            w.WriteStartArray("rlimits");
            foreach (var r in p.Rlimits)
            {
                w.WriteStartObject();
                w.WriteString("type", r.Type);
                w.WriteNumber("hard", r.Hard);
                w.WriteNumber("soft", r.Soft);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (p.NoNewPrivileges) w.WriteBoolean("noNewPrivileges", true);
        if (p.OomScoreAdj is { } oom) w.WriteNumber("oomScoreAdj", oom);
        OptionalString(w, "apparmorProfile", p.ApparmorProfile);
        OptionalString(w, "selinuxLabel", p.SelinuxLabel);
        if (p.IoPriority is { } io)
        {
            w.WriteStartObject("ioPriority");
            w.WriteString("class", io.Class);
            w.WriteNumber("priority", io.Priority);
            w.WriteEndObject();
        }
        if (p.Scheduler is { } s)
        {
            w.WriteStartObject("scheduler");
            w.WriteString("policy", s.Policy);
            OptionalNumber(w, "nice", s.Nice);
            OptionalNumber(w, "priority", s.Priority);
            Strings(w, "flags", s.Flags);
            OptionalNumber(w, "runtime", s.Runtime);
            OptionalNumber(w, "deadline", s.Deadline);
            OptionalNumber(w, "period", s.Period);
            w.WriteEndObject();
        }
        if (p.ExecCpuAffinity is { } affinity)
        {
            w.WriteStartObject("execCPUAffinity");
            OptionalString(w, "initial", affinity.Initial);
            OptionalString(w, "final", affinity.Final);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private static void WriteMount(Utf8JsonWriter w, MountSpec m)
    {
        w.WriteStartObject();
        w.WriteString("destination", m.Destination);
        OptionalString(w, "type", m.Type);
        OptionalString(w, "source", m.Source);
        Strings(w, "options", m.Options);
        IdMappings(w, "uidMappings", m.UidMappings);
        IdMappings(w, "gidMappings", m.GidMappings);
        w.WriteEndObject();
    }

    private static void WriteHooks(Utf8JsonWriter w, HooksSpec hooks)
    {
        w.WriteStartObject("hooks");
        void List(string name, IReadOnlyList<HookSpec> list)
        {
            if (list.Count == 0) return;
            w.WriteStartArray(name);
            foreach (var h in list)
            {
                w.WriteStartObject();
                w.WriteString("path", h.Path);
                Strings(w, "args", h.Args);
                Strings(w, "env", h.Env);
                OptionalNumber(w, "timeout", h.Timeout);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        List("prestart", hooks.Prestart);
        List("createRuntime", hooks.CreateRuntime);
        List("createContainer", hooks.CreateContainer);
        List("startContainer", hooks.StartContainer);
        List("poststart", hooks.Poststart);
        List("poststop", hooks.Poststop);
        w.WriteEndObject();
    }

    internal static void IdMappings(Utf8JsonWriter w, string name, IReadOnlyList<IdMapping> maps)
    {
        if (maps.Count == 0) return;
        w.WriteStartArray(name);
        foreach (var m in maps)
        {
            w.WriteStartObject();
            w.WriteNumber("containerID", m.ContainerId);
            w.WriteNumber("hostID", m.HostId);
            w.WriteNumber("size", m.Size);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    internal static void OptionalString(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null) w.WriteString(name, value);
    }

    internal static void OptionalNumber(Utf8JsonWriter w, string name, long? value)
    {
        if (value is { } v) w.WriteNumber(name, v);
    }

    internal static void OptionalNumber(Utf8JsonWriter w, string name, ulong? value)
    {
        if (value is { } v) w.WriteNumber(name, v);
    }

    internal static void OptionalBool(Utf8JsonWriter w, string name, bool? value)
    {
        if (value is { } v) w.WriteBoolean(name, v);
    }

    internal static void Strings(Utf8JsonWriter w, string name, IReadOnlyList<string> values)
    {
        if (values.Count == 0) return;
        NullableStrings(w, name, values);
    }

    /// <summary>Writes a list even when empty: for capability sets an empty list (no caps) differs from none given.</summary>
    internal static void NullableStrings(Utf8JsonWriter w, string name, IReadOnlyList<string>? values)
    {
        if (values is null) return;
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    internal static void StringMap(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, string> map)
    {
        if (map.Count == 0) return;
        w.WriteStartObject(name);
        foreach (var (k, v) in map) w.WriteString(k, v);
        w.WriteEndObject();
    }
}
