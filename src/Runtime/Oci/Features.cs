using System.Text.Json;
using Berth.Runtime.Security;

namespace Berth.Runtime.Oci;

/// <summary>
/// `berth-runtime features`: what this runtime implements, in the runtime-spec's features.md
/// schema (the one `runc features` prints), so that a caller can find out before it writes a
/// config this runtime would refuse.
/// </summary>
public static class Features
{
    /// <summary>Every option the mount table understands, flags, propagation and bind alike.</summary>
    public static readonly IReadOnlyList<string> MountOptionNames =
    [
        "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "lazytime", "mand", "noatime",
        "nodev", "nodiratime", "noexec", "nolazytime", "nomand", "norelatime", "nostrictatime", "nosuid",
        "nosymfollow", "private", "rbind", "relatime", "remount", "ro", "rprivate", "rshared", "rslave",
        "runbindable", "rw", "shared", "slave", "strictatime", "suid", "symfollow", "sync", "unbindable",
    ];

    public static string ToJson(string version)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("ociVersionMin", "1.0.0");
            w.WriteString("ociVersionMax", RuntimeSpec.Version);
            Strings(w, "hooks", ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]);
            Strings(w, "mountOptions", MountOptionNames);

            w.WriteStartObject("linux");
            Strings(w, "namespaces", NamespaceSpec.Names.Where(n => n.Kind != NamespaceKind.Time).Select(n => n.Name));
            Strings(w, "capabilities", Capabilities.All);
            w.WriteStartObject("cgroup");
            w.WriteBoolean("v1", false);
            w.WriteBoolean("v2", true);
            w.WriteBoolean("systemd", false);
            w.WriteBoolean("systemdUser", false);
            w.WriteBoolean("rdma", false);
            w.WriteEndObject();
            w.WriteStartObject("seccomp");
            w.WriteBoolean("enabled", true);
            // NOTIFY needs a listener agent, which is refused for now.
            Strings(w, "actions", ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"]);
            Strings(w, "operators", SeccompNames.Operators);
            Strings(w, "archs", ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"]);
            Strings(w, "knownFlags", ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]);
            Strings(w, "supportedFlags", ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]);
            w.WriteEndObject();
            Disabled(w, "apparmor");
            Disabled(w, "selinux");
            Disabled(w, "intelRdt");
            w.WriteStartObject("mountExtensions");
            Disabled(w, "idmap");
            w.WriteEndObject();
            w.WriteEndObject();

            w.WriteStartObject("annotations");
            w.WriteString("org.berth.runtime.version", version);
            w.WriteString("org.berth.runtime.exec", "clone3 + precompiled child plan (no re-exec)");
            w.WriteEndObject();
            Strings(w, "potentiallyUnsafeConfigAnnotations", []);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void Strings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    private static void Disabled(Utf8JsonWriter w, string name)
    {
        w.WriteStartObject(name);
        w.WriteBoolean("enabled", false);
        w.WriteEndObject();
    }
}
