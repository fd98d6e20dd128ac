namespace Berth.Runtime.Oci;

/// <summary>Reads linux.resources (the cgroup settings) of a config.json.</summary>
internal static class ResourcesReader
{
    public static ResourcesSpec Read(JsonObjectReader r, SpecReadContext ctx) => new()
    {
        Devices = r.List("devices", (e, p) => Object(e, p, ctx, d => new DeviceCgroupRule
        {
            Allow = d.RequiredBool("allow"),
            Type = d.String("type"),
            Major = d.Int64("major"),
            Minor = d.Int64("minor"),
            Access = d.String("access"),
        })) ?? [],
        Memory = Nested(r.Object("memory"), m => new MemorySpec
        {
            Limit = m.Int64("limit"),
            Reservation = m.Int64("reservation"),
            Swap = m.Int64("swap"),
            Kernel = m.Int64("kernel"),
            KernelTCP = m.Int64("kernelTCP"),
            Swappiness = m.UInt64("swappiness"),
            DisableOOMKiller = m.Bool("disableOOMKiller"),
            UseHierarchy = m.Bool("useHierarchy"),
            CheckBeforeUpdate = m.Bool("checkBeforeUpdate"),
        }),
        Cpu = Nested(r.Object("cpu"), c => new CpuSpec
        {
            Shares = c.UInt64("shares"),
            Quota = c.Int64("quota"),
            Burst = c.UInt64("burst"),
            Period = c.UInt64("period"),
            RealtimeRuntime = c.Int64("realtimeRuntime"),
            RealtimePeriod = c.UInt64("realtimePeriod"),
            Cpus = c.String("cpus"),
            Mems = c.String("mems"),
            Idle = c.Int64("idle"),
        }),
        Pids = Nested(r.Object("pids"), p => new PidsSpec(p.RequiredInt64("limit"))),
        BlockIO = Nested(r.Object("blockIO"), b => new BlockIoSpec
        {
            Weight = b.UInt16("weight"),
            LeafWeight = b.UInt16("leafWeight"),
            WeightDevice = b.List("weightDevice", (e, p) => Object(e, p, ctx,
                w => new WeightDevice(w.RequiredInt64("major"), w.RequiredInt64("minor"), w.UInt16("weight"), w.UInt16("leafWeight")))) ?? [],
            ThrottleReadBpsDevice = Throttles(b, "throttleReadBpsDevice", ctx),
            ThrottleWriteBpsDevice = Throttles(b, "throttleWriteBpsDevice", ctx),
            ThrottleReadIOPSDevice = Throttles(b, "throttleReadIOPSDevice", ctx),
            ThrottleWriteIOPSDevice = Throttles(b, "throttleWriteIOPSDevice", ctx),
        }),
        HugepageLimits = r.List("hugepageLimits", (e, p) => Object(e, p, ctx,
            h => new HugepageLimit(h.RequiredString("pageSize"), h.RequiredUInt64("limit")))) ?? [],
        Network = Nested(r.Object("network"), n => new NetworkSpec
        {
            ClassId = n.UInt32("classID"),
            Priorities = n.List("priorities", (e, p) => Object(e, p, ctx,
                x => new NetworkPriority(x.RequiredString("name"), x.RequiredUInt32("priority")))) ?? [],
        }),
        Rdma = r.Map("rdma", (e, p) => Object(e, p, ctx, x => new RdmaLimit(x.UInt32("hcaHandles"), x.UInt32("hcaObjects"))))
            ?? new Dictionary<string, RdmaLimit>(),
        Unified = r.StringMap("unified") ?? RuntimeSpec.EmptyMap,
    };

    private static IReadOnlyList<ThrottleDevice> Throttles(JsonObjectReader b, string name, SpecReadContext ctx) =>
        b.List(name, (e, p) => Object(e, p, ctx,
            t => new ThrottleDevice(t.RequiredInt64("major"), t.RequiredInt64("minor"), t.RequiredUInt64("rate")))) ?? [];

    private static T Object<T>(System.Text.Json.JsonElement e, string path, SpecReadContext ctx, Func<JsonObjectReader, T> read) =>
        Nested(JsonObjectReader.Open(e, path, ctx), read)!;

    private static T? Nested<T>(JsonObjectReader? o, Func<JsonObjectReader, T> read)
    {
        if (o is null) return default;
        var value = read(o);
        o.Finish();
        return value;
    }
}
