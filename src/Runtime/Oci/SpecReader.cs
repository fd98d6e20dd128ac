using System.Text.Json;
using Berth.Runtime.Security;

namespace Berth.Runtime.Oci;

/// <summary>A config that was read and validated, with what it said that is not fully honoured.</summary>
public sealed record LoadedSpec(RuntimeSpec Spec, IReadOnlyList<SpecWarning> Warnings);

/// <summary>
/// Reads config.json into a <see cref="RuntimeSpec"/>: JsonDocument walked by hand (no reflection
/// serializer), so that every error names its JSON path, unknown fields become warnings and the
/// result is checked by <see cref="SpecValidator"/> before anyone acts on it.
/// </summary>
public static class SpecReader
{
    /// <summary>Reads and validates a bundle's config.json; messages name it by <paramref name="path"/>.</summary>
    public static LoadedSpec Load(string path) => Parse(File.ReadAllBytes(path), path);

    /// <summary>Reads and validates config.json text; <paramref name="source"/> names the file in messages.</summary>
    public static LoadedSpec Parse(ReadOnlyMemory<byte> json, string source = "config.json")
    {
        var ctx = new SpecReadContext(source);
        using var document = ParseDocument(json, source);
        var spec = ReadSpec(document.RootElement, ctx);
        SpecValidator.Validate(spec, ctx);
        return new LoadedSpec(spec, ctx.Warnings);
    }

    /// <summary>A process object alone (`exec --process process.json`).</summary>
    public static (ProcessSpec Process, IReadOnlyList<SpecWarning> Warnings) ParseProcess(ReadOnlyMemory<byte> json, string source)
    {
        var ctx = new SpecReadContext(source);
        using var document = ParseDocument(json, source);
        var process = NestedRequired(JsonObjectReader.Open(document.RootElement, JsonPaths.Root, ctx), ReadProcess);
        SpecValidator.CheckProcess(process, ctx);
        return (process, ctx.Warnings);
    }

    public static LoadedSpec Parse(string json, string source = "config.json") =>
        Parse(System.Text.Encoding.UTF8.GetBytes(json), source);

    /// <summary>Parses JSON text; a syntax error names its 1-based line and byte.</summary>
    internal static JsonDocument ParseDocument(ReadOnlyMemory<byte> json, string source)
    {
        // Editors on other systems may save a UTF-8 byte order mark; JsonDocument would call it invalid.
        if (json.Span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) json = json[3..];
        try
        {
            return JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            // JsonException counts from 0 and appends "LineNumber: n | BytePositionInLine: m." to
            // its message; say it once, the way editors count.
            string reason = e.Message;
            int cut = reason.IndexOf(" LineNumber:", StringComparison.Ordinal);
            if (cut >= 0) reason = reason[..cut];
            // Advice meant for the programmer, not for whoever wrote the file.
            reason = reason.Replace(" Change the reader options.", "", StringComparison.Ordinal);
            long line = (e.LineNumber ?? 0) + 1, column = (e.BytePositionInLine ?? 0) + 1;
            throw new SpecException(source, null, $"invalid JSON at line {line}, byte {column}: {reason.TrimEnd()}");
        }
    }

    private static RuntimeSpec ReadSpec(JsonElement root, SpecReadContext ctx)
    {
        var o = JsonObjectReader.Open(root, JsonPaths.Root, ctx);
        var spec = new RuntimeSpec
        {
            OciVersion = o.RequiredString("ociVersion"),
            Process = Nested(o.Object("process"), ReadProcess),
            Root = Nested(o.Object("root"), r => new RootSpec { Path = r.RequiredString("path"), Readonly = r.Bool("readonly") ?? false }),
            Hostname = o.String("hostname"),
            Domainname = o.String("domainname"),
            Mounts = o.List("mounts", (e, p) => NestedRequired(JsonObjectReader.Open(e, p, ctx), m => ReadMount(m, ctx))) ?? [],
            Hooks = Nested(o.Object("hooks"), h => ReadHooks(h, ctx)),
            Annotations = o.StringMap("annotations") ?? RuntimeSpec.EmptyMap,
            Linux = Nested(o.Object("linux"), l => ReadLinux(l, ctx)),
        };
        foreach (var other in new[] { "solaris", "windows", "vm", "zos" })
            o.WarnIfPresent(other, "settings for another platform, ignored on Linux");
        o.Finish();
        return spec;
    }

    /// <summary>Reads a nested object with <paramref name="read"/>, then reports its unknown fields.</summary>
    private static T? Nested<T>(JsonObjectReader? o, Func<JsonObjectReader, T> read) where T : class
    {
        if (o is null) return null;
        var value = read(o);
        o.Finish();
        return value;
    }

    private static T NestedRequired<T>(JsonObjectReader o, Func<JsonObjectReader, T> read) where T : class =>
        Nested(o, read)!;

    private static ProcessSpec ReadProcess(JsonObjectReader o)
    {
        var ctx = ContextOf(o);
        o.WarnIfPresent("commandLine", "Windows only, ignored");
        return new ProcessSpec
        {
            Terminal = o.Bool("terminal") ?? false,
            ConsoleSize = Nested(o.Object("consoleSize"), c => new ConsoleSize(c.RequiredUInt32("height"), c.RequiredUInt32("width"))),
            User = Nested(o.Object("user"), ReadUser) ?? new UserSpec(),
            Args = o.Strings("args") ?? [],
            Env = o.Strings("env") ?? [],
            Cwd = o.RequiredString("cwd"),
            Capabilities = Nested(o.Object("capabilities"), c => new CapabilitiesSpec
            {
                Bounding = CapabilityNames(c, "bounding"),
                Effective = CapabilityNames(c, "effective"),
                Inheritable = CapabilityNames(c, "inheritable"),
                Permitted = CapabilityNames(c, "permitted"),
                Ambient = CapabilityNames(c, "ambient"),
            }),
            Rlimits = o.List("rlimits", (e, p) => NestedRequired(JsonObjectReader.Open(e, p, ctx),
                r => new RlimitSpec(r.RequiredString("type"), r.RequiredUInt64("soft"), r.RequiredUInt64("hard")))) ?? [],
            NoNewPrivileges = o.Bool("noNewPrivileges") ?? false,
            OomScoreAdj = o.Int32("oomScoreAdj"),
            ApparmorProfile = o.String("apparmorProfile"),
            SelinuxLabel = o.String("selinuxLabel"),
            IoPriority = Nested(o.Object("ioPriority"), i => new IoPrioritySpec(i.RequiredString("class"), i.Int32("priority") ?? 0)),
            Scheduler = Nested(o.Object("scheduler"), s => new SchedulerSpec
            {
                Policy = s.RequiredString("policy"),
                Nice = s.Int32("nice"),
                Priority = s.Int32("priority"),
                Flags = s.Strings("flags") ?? [],
                Runtime = s.UInt64("runtime"),
                Deadline = s.UInt64("deadline"),
                Period = s.UInt64("period"),
            }),
            ExecCpuAffinity = Nested(o.Object("execCPUAffinity"), a => new CpuAffinitySpec(a.String("initial"), a.String("final"))),
        };
    }

    private static UserSpec ReadUser(JsonObjectReader u)
    {
        u.WarnIfPresent("username", "Windows only, ignored");
        return new UserSpec
        {
            Uid = u.RequiredUInt32("uid"),
            Gid = u.RequiredUInt32("gid"),
            Umask = u.UInt32("umask"),
            AdditionalGids = u.List("additionalGids", (e, p) => JsonValue.UInt32(e, p, ContextOf(u))) ?? [],
        };
    }

    /// <summary>A capability set; unknown names are errors naming the element (CAP_ prefix required, as in the spec).</summary>
    private static IReadOnlyList<string>? CapabilityNames(JsonObjectReader c, string set) =>
        c.List(set, (e, p) =>
        {
            string name = JsonValue.String(e, p, ContextOf(c));
            if (Capabilities.TryParse(name, out _)) return name;
            throw ContextOf(c).Error(p, $"unknown capability \"{name}\"");
        });

    private static MountSpec ReadMount(JsonObjectReader m, SpecReadContext ctx) => new()
    {
        Destination = m.RequiredString("destination"),
        Type = m.String("type"),
        Source = m.String("source"),
        Options = m.Strings("options") ?? [],
        UidMappings = m.List("uidMappings", (e, p) => ReadIdMapping(e, p, ctx)) ?? [],
        GidMappings = m.List("gidMappings", (e, p) => ReadIdMapping(e, p, ctx)) ?? [],
    };

    private static IdMapping ReadIdMapping(JsonElement e, string path, SpecReadContext ctx) =>
        NestedRequired(JsonObjectReader.Open(e, path, ctx),
            m => new IdMapping(m.RequiredUInt32("containerID"), m.RequiredUInt32("hostID"), m.RequiredUInt32("size")));

    private static HooksSpec ReadHooks(JsonObjectReader h, SpecReadContext ctx)
    {
        IReadOnlyList<HookSpec> Hooks(string name) =>
            h.List(name, (e, p) => NestedRequired(JsonObjectReader.Open(e, p, ctx), k => new HookSpec
            {
                Path = k.RequiredString("path"),
                Args = k.Strings("args") ?? [],
                Env = k.Strings("env") ?? [],
                Timeout = k.Int32("timeout"),
            })) ?? [];
        return new HooksSpec
        {
            Prestart = Hooks("prestart"),
            CreateRuntime = Hooks("createRuntime"),
            CreateContainer = Hooks("createContainer"),
            StartContainer = Hooks("startContainer"),
            Poststart = Hooks("poststart"),
            Poststop = Hooks("poststop"),
        };
    }

    private static LinuxSpec ReadLinux(JsonObjectReader l, SpecReadContext ctx)
    {
        var linux = new LinuxSpec
        {
            Namespaces = l.List("namespaces", (e, p) => NestedRequired(JsonObjectReader.Open(e, p, ctx), n => ReadNamespace(n, ctx))) ?? [],
            UidMappings = l.List("uidMappings", (e, p) => ReadIdMapping(e, p, ctx)) ?? [],
            GidMappings = l.List("gidMappings", (e, p) => ReadIdMapping(e, p, ctx)) ?? [],
            Devices = l.List("devices", (e, p) => NestedRequired(JsonObjectReader.Open(e, p, ctx), d => new DeviceSpec
            {
                Type = d.RequiredString("type"),
                Path = d.RequiredString("path"),
                Major = d.Int64("major"),
                Minor = d.Int64("minor"),
                FileMode = d.UInt32("fileMode"),
                Uid = d.UInt32("uid"),
                Gid = d.UInt32("gid"),
            })) ?? [],
            CgroupsPath = l.String("cgroupsPath"),
            Resources = Nested(l.Object("resources"), r => ResourcesReader.Read(r, ctx)),
            Sysctl = l.StringMap("sysctl") ?? RuntimeSpec.EmptyMap,
            Seccomp = Nested(l.Object("seccomp"), s => ReadSeccomp(s, ctx)),
            RootfsPropagation = l.String("rootfsPropagation"),
            MaskedPaths = l.Strings("maskedPaths") ?? [],
            ReadonlyPaths = l.Strings("readonlyPaths") ?? [],
            MountLabel = l.String("mountLabel"),
            Personality = Nested(l.Object("personality"), p => new PersonalitySpec(p.RequiredString("domain"), p.Strings("flags") ?? [])),
            TimeOffsets = l.Map("timeOffsets", (e, p) => NestedRequired(JsonObjectReader.Open(e, p, ctx),
                t => new TimeOffsetSpec(t.Int64("secs") ?? 0, t.UInt32("nanosecs") ?? 0))) ?? new Dictionary<string, TimeOffsetSpec>(),
            IntelRdt = Nested(l.Object("intelRdt"), i => new IntelRdtSpec
            {
                ClosId = i.String("closID"),
                L3CacheSchema = i.String("l3CacheSchema"),
                MemBwSchema = i.String("memBwSchema"),
                EnableCMT = i.Bool("enableCMT"),
                EnableMBM = i.Bool("enableMBM"),
            }),
        };
        return linux;
    }

    private static NamespaceSpec ReadNamespace(JsonObjectReader n, SpecReadContext ctx)
    {
        string type = n.RequiredString("type");
        foreach (var (name, kind) in NamespaceSpec.Names)
            if (name == type) return new NamespaceSpec(kind, n.String("path"));
        throw ctx.Error(n.PathOf("type"),
            $"unknown namespace type \"{type}\" (expected one of {string.Join(", ", NamespaceSpec.Names.Select(x => x.Name))})");
    }

    private static SeccompSpec ReadSeccomp(JsonObjectReader s, SpecReadContext ctx)
    {
        // Action, architecture, flag and operator names are checked here, where the JSON path is
        // known, with the same tables the compiler uses.
        string defaultAction = s.RequiredString("defaultAction");
        Require(SeccompNames.CheckAction(defaultAction), s.PathOf("defaultAction"), ctx);
        var spec = new SeccompSpec
        {
            DefaultAction = defaultAction,
            DefaultErrnoRet = s.UInt32("defaultErrnoRet"),
            Architectures = s.List("architectures", (e, p) =>
            {
                string arch = JsonValue.String(e, p, ctx);
                Require(SeccompNames.CheckArchitecture(arch), p, ctx);
                return arch;
            }) ?? [],
            Flags = s.List("flags", (e, p) =>
            {
                string flag = JsonValue.String(e, p, ctx);
                Require(SeccompNames.CheckFlag(flag), p, ctx);
                return flag;
            }) ?? [],
            ListenerPath = s.String("listenerPath"),
            ListenerMetadata = s.String("listenerMetadata"),
            Syscalls = s.List("syscalls", (e, p) => NestedRequired(JsonObjectReader.Open(e, p, ctx), r => ReadSyscallRule(r, ctx))) ?? [],
        };
        return spec;
    }

    private static SyscallRule ReadSyscallRule(JsonObjectReader r, SpecReadContext ctx)
    {
        var names = r.RequiredList("names", (e, p) => JsonValue.String(e, p, ctx));
        if (names.Count == 0) throw r.Error("names", "must name at least one system call");
        string action = r.RequiredString("action");
        Require(SeccompNames.CheckAction(action), r.PathOf("action"), ctx);
        r.WarnIfPresent("comment", "comment, ignored");
        r.WarnIfPresent("includes", "a Docker profile template field, not part of the OCI spec: ignored");
        r.WarnIfPresent("excludes", "a Docker profile template field, not part of the OCI spec: ignored");
        return new SyscallRule
        {
            Names = names,
            Action = action,
            ErrnoRet = r.UInt32("errnoRet"),
            Args = r.List("args", (e, p) => NestedRequired(JsonObjectReader.Open(e, p, ctx), a =>
            {
                uint index = a.RequiredUInt32("index");
                if (index >= 6) throw a.Error("index", $"system calls have 6 arguments (0..5), got {index}");
                string op = a.RequiredString("op");
                Require(SeccompNames.CheckOperator(op), a.PathOf("op"), ctx);
                return new SyscallArg { Index = index, Value = a.RequiredUInt64("value"), ValueTwo = a.UInt64("valueTwo"), Op = op };
            })) ?? [],
        };
    }

    private static SpecReadContext ContextOf(JsonObjectReader o) => o.Context;

    /// <summary>Throws the problem a name check found, if any, at <paramref name="path"/>.</summary>
    private static void Require(string? problem, string path, SpecReadContext ctx)
    {
        if (problem is not null) throw ctx.Error(path, problem);
    }
}
