using System.Text.Json;
using static Berth.Runtime.Oci.SpecWriter;

namespace Berth.Runtime.Oci;

/// <summary>Writes the "linux" object of a config.json (see <see cref="SpecWriter"/>).</summary>
internal static class LinuxWriter
{
    public static void Write(Utf8JsonWriter w, LinuxSpec l)
    {
        w.WriteStartObject();
        IdMappings(w, "uidMappings", l.UidMappings);
        IdMappings(w, "gidMappings", l.GidMappings);
        StringMap(w, "sysctl", l.Sysctl);
        if (l.Resources is { } r) WriteResources(w, r);
        OptionalString(w, "cgroupsPath", l.CgroupsPath);
        if (l.Namespaces.Count > 0)
        {
            w.WriteStartArray("namespaces");
            foreach (var ns in l.Namespaces)
            {
                w.WriteStartObject();
                w.WriteString("type", NamespaceSpec.NameOf(ns.Type));
                OptionalString(w, "path", ns.Path);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (l.Devices.Count > 0)
        {
            w.WriteStartArray("devices");
            foreach (var d in l.Devices)
            {
                w.WriteStartObject();
                w.WriteString("path", d.Path);
                w.WriteString("type", d.Type);
                OptionalNumber(w, "major", d.Major);
                OptionalNumber(w, "minor", d.Minor);
                OptionalNumber(w, "fileMode", d.FileMode);
                OptionalNumber(w, "uid", d.Uid);
                OptionalNumber(w, "gid", d.Gid);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (l.Seccomp is { } s) WriteSeccomp(w, s);
        OptionalString(w, "rootfsPropagation", l.RootfsPropagation);
        Strings(w, "maskedPaths", l.MaskedPaths);
        Strings(w, "readonlyPaths", l.ReadonlyPaths);
        OptionalString(w, "mountLabel", l.MountLabel);
        if (l.Personality is { } p)
        {
            w.WriteStartObject("personality");
            w.WriteString("domain", p.Domain);
            Strings(w, "flags", p.Flags);
            w.WriteEndObject();
        }
        if (l.TimeOffsets.Count > 0)
        {
            w.WriteStartObject("timeOffsets");
            foreach (var (clock, offset) in l.TimeOffsets)
            {
                w.WriteStartObject(clock);
                w.WriteNumber("secs", offset.Secs);
                w.WriteNumber("nanosecs", offset.Nanosecs);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        if (l.IntelRdt is { } rdt)
        {
            w.WriteStartObject("intelRdt");
            OptionalString(w, "closID", rdt.ClosId);
            OptionalString(w, "l3CacheSchema", rdt.L3CacheSchema);
            OptionalString(w, "memBwSchema", rdt.MemBwSchema);
            OptionalBool(w, "enableCMT", rdt.EnableCMT);
            OptionalBool(w, "enableMBM", rdt.EnableMBM);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private static void WriteResources(Utf8JsonWriter w, ResourcesSpec r)
    {
        w.WriteStartObject("resources");
        if (r.Devices.Count > 0)
        {
            w.WriteStartArray("devices");
            foreach (var d in r.Devices)
            {
                w.WriteStartObject();
                w.WriteBoolean("allow", d.Allow);
                OptionalString(w, "type", d.Type);
                OptionalNumber(w, "major", d.Major);
                OptionalNumber(w, "minor", d.Minor);
                OptionalString(w, "access", d.Access);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (r.Memory is { } m)
        {
            w.WriteStartObject("memory");
            OptionalNumber(w, "limit", m.Limit);
            OptionalNumber(w, "reservation", m.Reservation);
            OptionalNumber(w, "swap", m.Swap);
            OptionalNumber(w, "kernel", m.Kernel);
            OptionalNumber(w, "kernelTCP", m.KernelTCP);
            OptionalNumber(w, "swappiness", m.Swappiness);
            OptionalBool(w, "disableOOMKiller", m.DisableOOMKiller);
            OptionalBool(w, "useHierarchy", m.UseHierarchy);
            OptionalBool(w, "checkBeforeUpdate", m.CheckBeforeUpdate);
            w.WriteEndObject();
        }
        if (r.Cpu is { } c)
        {
            w.WriteStartObject("cpu");
            OptionalNumber(w, "shares", c.Shares);
            OptionalNumber(w, "quota", c.Quota);
            OptionalNumber(w, "burst", c.Burst);
            OptionalNumber(w, "period", c.Period);
            OptionalNumber(w, "realtimeRuntime", c.RealtimeRuntime);
            OptionalNumber(w, "realtimePeriod", c.RealtimePeriod);
            OptionalString(w, "cpus", c.Cpus);
            OptionalString(w, "mems", c.Mems);
            OptionalNumber(w, "idle", c.Idle);
            w.WriteEndObject();
        }
        if (r.Pids is { } pids)
        {
            w.WriteStartObject("pids");
            w.WriteNumber("limit", pids.Limit);
            w.WriteEndObject();
        }
        if (r.BlockIO is { } b)
        {
            w.WriteStartObject("blockIO");
            OptionalNumber(w, "weight", b.Weight);
            OptionalNumber(w, "leafWeight", b.LeafWeight);
            if (b.WeightDevice.Count > 0)
            {
                w.WriteStartArray("weightDevice");
                foreach (var d in b.WeightDevice)
                {
                    w.WriteStartObject();
                    w.WriteNumber("major", d.Major);
                    w.WriteNumber("minor", d.Minor);
                    OptionalNumber(w, "weight", d.Weight);
                    OptionalNumber(w, "leafWeight", d.LeafWeight);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            Throttles(w, "throttleReadBpsDevice", b.ThrottleReadBpsDevice);
            Throttles(w, "throttleWriteBpsDevice", b.ThrottleWriteBpsDevice);
            Throttles(w, "throttleReadIOPSDevice", b.ThrottleReadIOPSDevice);
            Throttles(w, "throttleWriteIOPSDevice", b.ThrottleWriteIOPSDevice);
            w.WriteEndObject();
        }
        if (r.HugepageLimits.Count > 0)
        {
            w.WriteStartArray("hugepageLimits");
            foreach (var h in r.HugepageLimits)
            {
                w.WriteStartObject();
                w.WriteString("pageSize", h.PageSize);
                w.WriteNumber("limit", h.Limit);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (r.Network is { } n)
        {
            w.WriteStartObject("network");
            OptionalNumber(w, "classID", n.ClassId);
            if (n.Priorities.Count > 0)
            {
                w.WriteStartArray("priorities");
                foreach (var p in n.Priorities)
                {
                    w.WriteStartObject();
                    w.WriteString("name", p.Name);
                    w.WriteNumber("priority", p.Priority);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        if (r.Rdma.Count > 0)
        {
            w.WriteStartObject("rdma");
            foreach (var (device, limit) in r.Rdma)
            {
                w.WriteStartObject(device);
                OptionalNumber(w, "hcaHandles", limit.HcaHandles);
                OptionalNumber(w, "hcaObjects", limit.HcaObjects);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        StringMap(w, "unified", r.Unified);
        w.WriteEndObject();
    }

    private static void Throttles(Utf8JsonWriter w, string name, IReadOnlyList<ThrottleDevice> list)
    {
        if (list.Count == 0) return;
        w.WriteStartArray(name);
        foreach (var t in list)
        {
            w.WriteStartObject();
            w.WriteNumber("major", t.Major);
            w.WriteNumber("minor", t.Minor);
            w.WriteNumber("rate", t.Rate);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteSeccomp(Utf8JsonWriter w, SeccompSpec s)
    {
        w.WriteStartObject("seccomp");
        w.WriteString("defaultAction", s.DefaultAction);
        OptionalNumber(w, "defaultErrnoRet", s.DefaultErrnoRet);
        Strings(w, "architectures", s.Architectures);
        Strings(w, "flags", s.Flags);
        OptionalString(w, "listenerPath", s.ListenerPath);
        OptionalString(w, "listenerMetadata", s.ListenerMetadata);
        if (s.Syscalls.Count > 0)
        {
            w.WriteStartArray("syscalls");
            foreach (var rule in s.Syscalls)
            {
                w.WriteStartObject();
                NullableStrings(w, "names", rule.Names);
                w.WriteString("action", rule.Action);
                OptionalNumber(w, "errnoRet", rule.ErrnoRet);
                if (rule.Args.Count > 0)
                {
                    w.WriteStartArray("args");
                    foreach (var a in rule.Args)
                    {
                        w.WriteStartObject();
                        w.WriteNumber("index", a.Index);
                        w.WriteNumber("value", a.Value);
                        OptionalNumber(w, "valueTwo", a.ValueTwo);
                        w.WriteString("op", a.Op);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }
}
