using Berth.Runtime.Oci;
using Xunit;

namespace Berth.Tests.Unit.Oci;

/// <summary>Errors and warnings for bad config.json: each names the file and the JSON path.</summary>
public class SpecReaderTests
{
    /// <summary>A minimal valid config with <paramref name="linux"/> and <paramref name="extra"/> spliced in.</summary>
    private static string Config(string linux = "", string extra = "", string process = "") => $$"""
        {
          "ociVersion": "1.2.0",
          "process": { "args": ["/bin/true"], "cwd": "/"{{process}} },
          "root": { "path": "rootfs" },
          "linux": { "namespaces": [ { "type": "pid" }, { "type": "mount" }, { "type": "uts" } ]{{linux}} }{{extra}}
        }
        """;

    private static string Error(string json) => Assert.Throws<SpecException>(() => SpecReader.Parse(json)).Message;

    private static IReadOnlyList<string> Warnings(string json) =>
        SpecReader.Parse(json).Warnings.Select(w => w.Format("config.json")).ToList();

    [Fact]
    public void A_minimal_config_reads_without_warnings()
    {
        var loaded = SpecReader.Parse(Config());
        Assert.Empty(loaded.Warnings);
        Assert.Equal(["/bin/true"], loaded.Spec.Process!.Args);
        Assert.Equal("rootfs", loaded.Spec.Root!.Path);
        Assert.Equal(NamespaceKind.Uts, loaded.Spec.Linux!.Namespaces[2].Type);
    }

    [Fact]
    public void A_utf8_byte_order_mark_is_accepted()
    {
        byte[] json = [0xEF, 0xBB, 0xBF, .. System.Text.Encoding.UTF8.GetBytes(Config())];
        Assert.Empty(SpecReader.Parse(json).Warnings);
    }

    [Fact]
    public void An_unknown_namespace_type_names_the_element_and_the_choices()
    {
        var json = Config().Replace("""{ "type": "uts" }""", """{ "type": "pidd" }""");
        Assert.Equal("config.json: $.linux.namespaces[2].type: unknown namespace type \"pidd\" (expected one of pid, network, mount, ipc, uts, user, cgroup, time)",
            Error(json));
    }

    [Fact]
    public void A_value_of_the_wrong_kind_says_what_was_expected_and_found()
    {
        Assert.Equal("config.json: $.process.user.uid: expected a number, got string",
            Error(Config(process: """, "user": { "uid": "0", "gid": 0 }""")));
        Assert.Equal("config.json: $.process.args: expected an array, got string",
            Error(Config().Replace("""["/bin/true"]""", "\"/bin/true\"")));
        Assert.Equal("config.json: $.process.terminal: expected a boolean, got number",
            Error(Config(process: """, "terminal": 1""")));
        Assert.Equal("config.json: $.linux: expected an object, got array",
            Error("""{ "ociVersion": "1.2.0", "root": { "path": "r" }, "linux": [] }"""));
        Assert.Equal("config.json: $.process.args[1]: expected a string, got null",
            Error(Config().Replace("""["/bin/true"]""", """["/bin/true", null]""")));
    }

    [Fact]
    public void A_number_out_of_range_gives_the_range()
    {
        Assert.Equal("config.json: $.process.user.uid: expected an integer in 0..4294967295, got -1",
            Error(Config(process: """, "user": { "uid": -1, "gid": 0 }""")));
        Assert.Equal("config.json: $.process.user.gid: expected an integer in 0..4294967295, got 1.5",
            Error(Config(process: """, "user": { "uid": 0, "gid": 1.5 }""")));
    }

    [Fact]
    public void A_syntax_error_names_line_and_byte()
    {
        const string json = "{\n  \"ociVersion\": \"1.2.0\",\n  \"root\": { \"path\": \"rootfs\" },\n  \"hostname\": oops\n}";
        string message = Error(json);
        Assert.StartsWith("config.json: invalid JSON at line 4, byte 15: ", message);
        Assert.DoesNotContain("LineNumber", message);
        Assert.StartsWith("config.json: invalid JSON at line 1, byte 1: ", Error(""));
        Assert.StartsWith("config.json: invalid JSON at line 2, byte 1: ", Error("{\n"));
    }

    [Theory]
    [InlineData("""{ "root": { "path": "rootfs" } }""", "config.json: $.ociVersion: required field is missing")]
    [InlineData("""{ "ociVersion": "1.2.0" }""", "config.json: $.root: required field is missing")]
    [InlineData("""{ "ociVersion": "1.2.0", "root": {} }""", "config.json: $.root.path: required field is missing")]
    [InlineData("""{ "ociVersion": "1.2.0", "root": { "path": "r" }, "process": { "args": ["sh"] } }""", "config.json: $.process.cwd: required field is missing")]
    [InlineData("""{ "ociVersion": "1.2.0", "root": { "path": "r" }, "process": { "cwd": "/" } }""", "config.json: $.process.args: must have at least one entry (the program to run)")]
    [InlineData("""{ "ociVersion": "1.2.0", "root": { "path": "r" }, "mounts": [ { "type": "proc" } ] }""", "config.json: $.mounts[0].destination: required field is missing")]
    [InlineData("""{ "ociVersion": "1.2.0", "root": { "path": "r" }, "process": { "cwd": "/", "args": ["sh"], "user": { "uid": 0 } } }""", "config.json: $.process.user.gid: required field is missing")]
    [InlineData("""{ "ociVersion": "1.2.0", "root": { "path": "r" }, "linux": { "seccomp": { "syscalls": [] } } }""", "config.json: $.linux.seccomp.defaultAction: required field is missing")]
    [InlineData("""{ "ociVersion": "1.2.0", "root": { "path": "r" }, "hooks": { "poststop": [ { "args": [] } ] } }""", "config.json: $.hooks.poststop[0].path: required field is missing")]
    [InlineData("""{ "ociVersion": "1.2.0", "root": { "path": "r" }, "linux": { "resources": { "pids": {} } } }""", "config.json: $.linux.resources.pids.limit: required field is missing")]
    public void Missing_required_fields_are_named(string json, string message) => Assert.Equal(message, Error(json));

    [Theory]
    [InlineData(""", "uidMappings": [ { "containerID": 0, "hostID": 1000, "size": 1 } ]""",
        "config.json: $.linux.uidMappings: id mappings need a user namespace (add {\"type\": \"user\"} to $.linux.namespaces)")]
    [InlineData(""", "namespaces": [ { "type": "user" } ], "uidMappings": [ { "containerID": 0, "hostID": 1000, "size": 0 } ], "gidMappings": [ { "containerID": 0, "hostID": 1000, "size": 1 } ]""",
        "config.json: $.linux.uidMappings[0].size: must be greater than zero")]
    [InlineData(""", "namespaces": [ { "type": "user" } ], "uidMappings": [ { "containerID": 0, "hostID": 100000, "size": 65536 }, { "containerID": 1000, "hostID": 1000, "size": 1 } ], "gidMappings": [ { "containerID": 0, "hostID": 1000, "size": 1 } ]""",
        "config.json: $.linux.uidMappings[1]: container range 1000:1000:1 overlaps $.linux.uidMappings[0] (0:100000:65536)")]
    [InlineData(""", "namespaces": [ { "type": "user" } ], "uidMappings": [ { "containerID": 0, "hostID": 1000, "size": 1 } ], "gidMappings": [ { "containerID": 0, "hostID": 100000, "size": 10 }, { "containerID": 10, "hostID": 100009, "size": 1 } ]""",
        "config.json: $.linux.gidMappings[1]: host range 10:100009:1 overlaps $.linux.gidMappings[0] (0:100000:10)")]
    [InlineData(""", "namespaces": [ { "type": "user" } ], "uidMappings": [ { "containerID": 4294967295, "hostID": 1000, "size": 2 } ], "gidMappings": [ { "containerID": 0, "hostID": 1000, "size": 1 } ]""",
        "config.json: $.linux.uidMappings[0]: containerID 4294967295 + size 2 is beyond the 32-bit id space")]
    [InlineData(""", "namespaces": [ { "type": "user" } ], "uidMappings": [ { "containerID": 0, "hostID": 1000, "size": 1 } ]""",
        "config.json: $.linux.gidMappings: a new user namespace needs both uidMappings and gidMappings")]
    public void Invalid_id_mappings_are_refused(string linux, string message)
    {
        // These replace the namespaces list: the config's own comes first and JSON forbids duplicates.
        string json = linux.Contains("\"namespaces\"")
            ? Config().Replace("""{ "namespaces": [ { "type": "pid" }, { "type": "mount" }, { "type": "uts" } ]""", "{ " + linux[1..])
            : Config(linux);
        Assert.Equal(message, Error(json));
    }

    [Fact]
    public void Duplicate_namespaces_and_duplicate_fields_are_refused()
    {
        Assert.Equal("config.json: $.linux.namespaces[3].type: duplicate namespace type \"pid\"",
            Error(Config().Replace("""{ "type": "uts" } ]""", """{ "type": "uts" }, { "type": "pid", "path": "/proc/1/ns/pid" } ]""")));
        Assert.Equal("config.json: $.root.path: duplicate field",
            Error(Config().Replace("""{ "path": "rootfs" }""", """{ "path": "rootfs", "path": "other" }""")));
    }

    [Theory]
    [InlineData(""", "mounts": [ { "destination": "/proc", "type": "proc" }, { "destination": "tmp", "type": "tmpfs" } ]""",
        "config.json: $.mounts[1].destination: must be an absolute path, got \"tmp\"")]
    [InlineData(""", "hostname": "box" """, "config.json: $.hostname: setting the hostname needs a new uts namespace")]
    public void Relative_destinations_and_impossible_settings_are_refused(string extra, string message)
    {
        string json = Config(extra: extra);
        if (extra.Contains("hostname")) json = json.Replace(""", { "type": "uts" }""", "");
        Assert.Equal(message, Error(json));
    }

    [Theory]
    [InlineData("""{ "type": "RLIMIT_NOFILES", "soft": 1, "hard": 1 }""", "config.json: $.process.rlimits[0].type: unknown rlimit \"RLIMIT_NOFILES\" (expected one of RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_DATA, RLIMIT_STACK, RLIMIT_CORE, RLIMIT_RSS, RLIMIT_NPROC, RLIMIT_NOFILE, RLIMIT_MEMLOCK, RLIMIT_AS, RLIMIT_LOCKS, RLIMIT_SIGPENDING, RLIMIT_MSGQUEUE, RLIMIT_NICE, RLIMIT_RTPRIO, RLIMIT_RTTIME)")]
    [InlineData("""{ "type": "RLIMIT_NOFILE", "soft": 2048, "hard": 1024 }""", "config.json: $.process.rlimits[0]: soft limit 2048 is above hard limit 1024")]
    public void Bad_rlimits_are_refused(string rlimit, string message) =>
        Assert.Equal(message, Error(Config(process: $$""", "rlimits": [ {{rlimit}} ]""")));

    [Fact]
    public void Unknown_capabilities_are_errors_naming_the_element()
    {
        Assert.Equal("config.json: $.process.capabilities.effective[1]: unknown capability \"CAP_SYS_ADMINN\"",
            Error(Config(process: """, "capabilities": { "bounding": ["CAP_KILL"], "effective": ["CAP_KILL", "CAP_SYS_ADMINN"] }""")));
    }

    [Theory]
    [InlineData("apparmorProfile", "docker-default", "config.json: $.process.apparmorProfile: AppArmor is not supported by this runtime (leave it empty)")]
    [InlineData("selinuxLabel", "system_u:system_r:container_t:s0", "config.json: $.process.selinuxLabel: SELinux is not supported by this runtime (leave it empty)")]
    public void Security_modules_berth_does_not_have_are_refused_when_set(string field, string value, string message)
    {
        Assert.Equal(message, Error(Config(process: $$""", "{{field}}": "{{value}}" """)));
        Assert.Empty(Warnings(Config(process: $$""", "{{field}}": "" """)));
    }

    [Fact]
    public void A_mount_label_is_refused()
    {
        Assert.Equal("config.json: $.linux.mountLabel: SELinux is not supported by this runtime (leave it empty)",
            Error(Config(""", "mountLabel": "system_u:object_r:container_file_t:s0" """)));
    }

    [Fact]
    public void Sysctls_must_belong_to_a_namespace_of_the_container()
    {
        Assert.Equal("config.json: $.linux.sysctl[\"vm.swappiness\"]: not a namespaced sysctl: setting it would change the host",
            Error(Config(""", "sysctl": { "vm.swappiness": "10" }""")));
        Assert.Equal("config.json: $.linux.sysctl[\"net.ipv4.ip_forward\"]: needs a network namespace of the container's own",
            Error(Config(""", "sysctl": { "net.ipv4.ip_forward": "1" }""")));
        Assert.Empty(Warnings(Config(""", "sysctl": { "kernel.domainname": "example.org" }""")));
    }

    [Fact]
    public void Seccomp_names_are_checked_where_they_are_written()
    {
        Assert.Equal("config.json: $.linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator \"SCMP_CMP_EQUAL\" (expected one of SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ)",
            Error(Config(""", "seccomp": { "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [ { "names": ["ioctl"], "action": "SCMP_ACT_ALLOW", "args": [ { "index": 1, "value": 5, "op": "SCMP_CMP_EQUAL" } ] } ] }""")));
        Assert.StartsWith("config.json: $.linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_DENY\" (expected one of ",
            Error(Config(""", "seccomp": { "defaultAction": "SCMP_ACT_DENY" }""")));
        Assert.StartsWith("config.json: $.linux.seccomp.architectures[0]: unknown seccomp architecture \"x86_64\"",
            Error(Config(""", "seccomp": { "defaultAction": "SCMP_ACT_ERRNO", "architectures": ["x86_64"] }""")));
        Assert.Equal("config.json: $.linux.seccomp.listenerPath: required when a rule uses SCMP_ACT_NOTIFY (the agent to hand the notify fd to)",
            Error(Config(""", "seccomp": { "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [ { "names": ["mount"], "action": "SCMP_ACT_NOTIFY" } ] }""")));
    }

    [Fact]
    public void Unknown_fields_are_warnings_with_their_paths_never_silently_dropped()
    {
        var json = Config(""", "seccompp": {}""", """, "hostnme": "x", "annotations": { "org.example.key": "v" }""", """, "user": { "uid": 0, "gid": 0, "uidd": 1 }""");
        Assert.Equal(
        [
            "config.json: $.process.user.uidd: unknown field, ignored",
            "config.json: $.linux.seccompp: unknown field, ignored",
            "config.json: $.hostnme: unknown field, ignored",
        ], Warnings(json));
    }

    [Fact]
    public void Ignored_and_deprecated_settings_are_warned_about()
    {
        var json = Config(""", "intelRdt": { "closID": "guaranteed" }""",
            """, "hooks": { "prestart": [ { "path": "/bin/true" } ] }, "windows": {}""",
            """, "consoleSize": { "height": 24, "width": 80 }""");
        Assert.Equal(
        [
            "config.json: $.windows: settings for another platform, ignored on Linux",
            "config.json: $.process.consoleSize: ignored without \"terminal\": true",
            "config.json: $.hooks.prestart: deprecated by the spec (use createRuntime); still run",
            "config.json: $.linux.intelRdt: Intel RDT (resctrl) is not supported by this runtime, ignored",
        ], Warnings(json));
    }

    [Theory]
    [InlineData("2.0.0", "config.json: $.ociVersion: unsupported version \"2.0.0\" (this runtime implements 1.2.0)")]
    [InlineData("latest", "config.json: $.ociVersion: expected a semantic version like \"1.2.0\", got \"latest\"")]
    public void Versions_other_than_1_x_are_refused(string version, string message) =>
        Assert.Equal(message, Error(Config().Replace("1.2.0", version)));

    [Fact]
    public void Older_1_x_versions_are_read_and_newer_ones_warned_about()
    {
        Assert.Empty(Warnings(Config().Replace("1.2.0", "1.0.2-dev")));
        Assert.Equal(["config.json: $.ociVersion: version 1.3.0 is newer than 1.2.0; fields added since are not known"],
            Warnings(Config().Replace("1.2.0", "1.3.0")));
    }

    [Fact]
    public void Load_names_the_file_by_its_path()
    {
        string path = Path.Combine(Path.GetTempPath(), $"berth-spec-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, """{ "ociVersion": "1.2.0" }""");
        try
        {
            Assert.Equal($"{path}: $.root: required field is missing", Assert.Throws<SpecException>(() => SpecReader.Load(path)).Message);
        }
        finally { File.Delete(path); }
    }
}
