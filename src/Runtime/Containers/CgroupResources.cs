using System.Globalization;
using Berth.Runtime.Oci;

namespace Berth.Runtime.Containers;

/// <summary>One cgroup v2 interface file to write, and the config value it comes from.</summary>
public sealed record CgroupWrite(string File, string Value, string JsonPath)
{
    /// <summary>"memory" for memory.max; "cgroup" for the core files every cgroup has.</summary>
    public string Controller => File[..File.IndexOf('.')];
}

/// <summary>
/// linux.resources translated to cgroup v2 files, as crun and runc translate them; what v2 cannot
/// express is a warning (or, for real-time scheduling, an error), never dropped silently.
/// </summary>
public sealed class CgroupResources
{
    private const string Base = "$.linux.resources";
    private readonly List<CgroupWrite> _writes = [];
    private readonly List<SpecWarning> _warnings = [];

    /// <summary>In the order they are written; unified entries last, so they override the typed fields as in crun.</summary>
    public IReadOnlyList<CgroupWrite> Writes => _writes;
    public IReadOnlyList<SpecWarning> Warnings => _warnings;

    /// <summary>The controllers the writes need (not "cgroup": the core files are always there).</summary>
    public IReadOnlyList<string> Controllers => _writes.Select(w => w.Controller).Where(c => c != "cgroup").Distinct().ToList();

    private const string NotOnV2 = "not available on cgroup v2; ignored";

    public static CgroupResources Translate(ResourcesSpec? r, string source)
    {
        var t = new CgroupResources();
        if (r is null) return t;
        t.Memory(r.Memory, source);
        t.Cpu(r.Cpu, source);
        if (r.Pids is { } pids) t.Add("pids.max", pids.Limit > 0 ? Num(pids.Limit) : "max", Base + ".pids.limit");
        t.BlockIo(r.BlockIO);
        for (int i = 0; i < r.HugepageLimits.Count; i++)
        {
            var h = r.HugepageLimits[i];
            string path = $"{Base}.hugepageLimits[{i}]";
            if (h.PageSize.Length == 0 || h.PageSize.Any(c => !char.IsAsciiLetterOrDigit(c)))
                throw new SpecException(source, path + ".pageSize", $"expected a page size such as \"2MB\", got \"{h.PageSize}\"");
            t.Add($"hugetlb.{h.PageSize}.max", h.Limit.ToString(CultureInfo.InvariantCulture), path + ".limit");
        }
        foreach (var (device, limit) in r.Rdma)
        {
            var fields = new List<string>();
            if (limit.HcaHandles is { } handles) fields.Add($"hca_handle={handles}");
            if (limit.HcaObjects is { } objects) fields.Add($"hca_object={objects}");
            if (fields.Count > 0) t.Add("rdma.max", $"{device} {string.Join(' ', fields)}", JsonPaths.Field(Base + ".rdma", device));
        }
        if (r.Network is { } net && (net.ClassId is not null || net.Priorities.Count > 0))
            t.Warn(Base + ".network", "net_cls and net_prio are cgroup v1 controllers, " + NotOnV2);
        // linux.resources.devices is not a file: CgroupPlacement attaches it as an eBPF program.
        foreach (var (key, value) in r.Unified)
        {
            string path = JsonPaths.Field(Base + ".unified", key);
            ValidateUnifiedKey(key, source);
            t.Add(key, value, path);
        }
        return t;
    }

    /// <summary>A unified key names one file in the container's own cgroup directory: "controller.file", nothing else.</summary>
    public static void ValidateUnifiedKey(string key, string source)
    {
        if (UnifiedKeyProblem(key) is { } problem)
            throw new SpecException(source, JsonPaths.Field(Base + ".unified", key), problem);
    }

    /// <summary>Why a linux.resources.unified key is not a cgroup file name, or null if it is one.</summary>
    public static string? UnifiedKeyProblem(string key)
    {
        if (key.Contains('/') || key.Contains(".."))
            return "a cgroup file name may not contain '/' or '..'";
        int dot = key.IndexOf('.');
        if (dot <= 0 || dot == key.Length - 1)
            return "expected a cgroup file name like \"memory.high\" (controller.file)";
        return null;
    }

    /// <summary>crun's cpu.shares (2..262144, default 1024) to cpu.weight (1..10000, default 100): 1024 maps to 100 exactly.</summary>
    public static ulong SharesToWeight(ulong shares)
    {
        if (shares == 0) return 0;
        if (shares <= 2) return 1;
        if (shares >= 262144) return 10000;
        double l = Math.Log2(shares);
        double exponent = (l * l + 125 * l) / 612.0 - 7.0 / 34.0;
        return (ulong)Math.Ceiling(Math.Pow(10, exponent));
    }

    /// <summary>blkio.weight (10..1000) to io.weight (1..10000), as crun and runc convert it.</summary>
    public static ulong BlkioWeightToIoWeight(ulong weight) => weight == 0 ? 0 : 1 + (weight - 10) * 9999 / 990;

    /// <summary>
    /// v1's memory.memsw (memory+swap) to v2's memory.swap.max (swap alone), as runc converts it;
    /// null means "do not write".
    /// </summary>
    public static string? SwapMax(long? limit, long? swap, string source)
    {
        long memory = limit ?? 0, memsw = swap ?? 0;
        if (memory == -1 && memsw == 0) return "max";
        if (memsw == -1) return "max";
        if (memsw == 0) return null;
        if (memory == 0 || memory == -1)
            throw new SpecException(source, Base + ".memory.swap", $"a memory+swap limit ({memsw}) needs a memory limit");
        if (memsw < memory)
            throw new SpecException(source, Base + ".memory.swap", $"memory+swap limit {memsw} is below the memory limit {memory}");
        return Num(memsw - memory);
    }

    private void Memory(MemorySpec? m, string source)
    {
        if (m is null) return;
        string path = Base + ".memory";
        if (m.Limit is { } limit && limit != 0) Add("memory.max", limit < 0 ? "max" : Num(limit), path + ".limit");
        if (m.Reservation is { } low && low != 0) Add("memory.low", low < 0 ? "max" : Num(low), path + ".reservation");
        if (SwapMax(m.Limit, m.Swap, source) is { } swapMax)
            Add("memory.swap.max", swapMax, path + (m.Swap is null or 0 ? ".limit" : ".swap"));
        if (m.Kernel is not null) Warn(path + ".kernel", "kernel memory is accounted in memory.max on cgroup v2; a separate limit is " + NotOnV2);
        if (m.KernelTCP is not null) Warn(path + ".kernelTCP", "a separate TCP buffer limit is " + NotOnV2);
        if (m.Swappiness is not null) Warn(path + ".swappiness", "per-cgroup swappiness is " + NotOnV2);
        if (m.DisableOOMKiller == true) Warn(path + ".disableOOMKiller", "turning off the OOM killer is " + NotOnV2);
        if (m.UseHierarchy is not null) Warn(path + ".useHierarchy", "cgroup v2 is always hierarchical; ignored");
        if (m.CheckBeforeUpdate is not null) Warn(path + ".checkBeforeUpdate", "applies to `update`, which this runtime does not have; ignored");
    }

    private void Cpu(CpuSpec? c, string source)
    {
        if (c is null) return;
        string path = Base + ".cpu";
        if (c.Shares is { } shares && shares != 0) Add("cpu.weight", Num(SharesToWeight(shares)), path + ".shares");
        if ((c.Quota ?? 0) != 0 || (c.Period ?? 0) != 0)
        {
            string quota = c.Quota is > 0 and var q ? Num(q) : "max";
            Add("cpu.max", $"{quota} {Num(c.Period is > 0 and var p ? p : 100000)}", path + (c.Quota is null or 0 ? ".period" : ".quota"));
        }
        if (c.Burst is { } burst) Add("cpu.max.burst", Num(burst), path + ".burst");
        if ((c.RealtimeRuntime ?? 0) != 0 || (c.RealtimePeriod ?? 0) != 0)
            throw new SpecException(source, path + (c.RealtimeRuntime is null or 0 ? ".realtimePeriod" : ".realtimeRuntime"),
                "real-time group scheduling does not exist on cgroup v2; remove realtimeRuntime and realtimePeriod");
        if (c.Cpus is { Length: > 0 } cpus) Add("cpuset.cpus", cpus, path + ".cpus");
        if (c.Mems is { Length: > 0 } mems) Add("cpuset.mems", mems, path + ".mems");
        if (c.Idle is { } idle) Add("cpu.idle", Num(idle), path + ".idle");
    }

    private void BlockIo(BlockIoSpec? b)
    {
        if (b is null) return;
        string path = Base + ".blockIO";
        if (b.Weight is { } w && w != 0) Add("io.weight", "default " + Num(BlkioWeightToIoWeight(w)), path + ".weight");
        if (b.LeafWeight is not null) Warn(path + ".leafWeight", NotOnV2);
        for (int i = 0; i < b.WeightDevice.Count; i++)
        {
            var d = b.WeightDevice[i];
            string at = $"{path}.weightDevice[{i}]";
            if (d.Weight is { } dw && dw != 0) Add("io.weight", $"{d.Major}:{d.Minor} {BlkioWeightToIoWeight(dw)}", at + ".weight");
            if (d.LeafWeight is not null) Warn(at + ".leafWeight", NotOnV2);
        }
        Throttle(b.ThrottleReadBpsDevice, "rbps", path + ".throttleReadBpsDevice");
        Throttle(b.ThrottleWriteBpsDevice, "wbps", path + ".throttleWriteBpsDevice");
        Throttle(b.ThrottleReadIOPSDevice, "riops", path + ".throttleReadIOPSDevice");
        Throttle(b.ThrottleWriteIOPSDevice, "wiops", path + ".throttleWriteIOPSDevice");
    }

    private void Throttle(IReadOnlyList<ThrottleDevice> devices, string key, string path)
    {
        for (int i = 0; i < devices.Count; i++)
        {
            var d = devices[i];
            // 0 in a v1 throttle file removes the limit; "max" is v2's word for that.
            Add("io.max", $"{d.Major}:{d.Minor} {key}={(d.Rate == 0 ? "max" : Num(d.Rate))}", $"{path}[{i}]");
        }
    }

    private void Add(string file, string value, string jsonPath) => _writes.Add(new CgroupWrite(file, value, jsonPath));

    private void Warn(string jsonPath, string message) => _warnings.Add(new SpecWarning(jsonPath, message));

    private static string Num(long v) => v.ToString(CultureInfo.InvariantCulture);
    private static string Num(ulong v) => v.ToString(CultureInfo.InvariantCulture);
}
