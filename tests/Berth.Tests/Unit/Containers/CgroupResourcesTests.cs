using Berth.Runtime.Containers;
using Berth.Runtime.Oci;
using Xunit;

namespace Berth.Tests.Unit.Containers;

/// <summary>linux.resources to cgroup v2 files, with crun's and runc's conversions.</summary>
public class CgroupResourcesTests
{
    private static Dictionary<string, string> Files(ResourcesSpec r)
    {
        var d = new Dictionary<string, string>();
        foreach (var w in CgroupResources.Translate(r, "config.json").Writes) d[w.File] = d.TryGetValue(w.File, out var v) ? v + "|" + w.Value : w.Value;
        return d;
    }

    private static string Error(ResourcesSpec r) =>
        Assert.Throws<SpecException>(() => CgroupResources.Translate(r, "config.json")).Message;

    private static List<string> Warnings(ResourcesSpec r) =>
        CgroupResources.Translate(r, "config.json").Warnings.Select(w => w.Format("config.json")).ToList();

    [Theory]
    [InlineData(2UL, 1UL)]
    [InlineData(1UL, 1UL)]
    [InlineData(1024UL, 100UL)]
    [InlineData(512UL, 59UL)]
    [InlineData(2048UL, 174UL)]
    [InlineData(262144UL, 10000UL)]
    [InlineData(1000000UL, 10000UL)]
    public void Cpu_shares_become_cpu_weight_as_crun_converts_them(ulong shares, ulong weight) =>
        Assert.Equal(weight, CgroupResources.SharesToWeight(shares));

    [Theory]
    [InlineData(10UL, 1UL)]
    [InlineData(500UL, 4950UL)]
    [InlineData(1000UL, 10000UL)]
    public void Blkio_weight_becomes_io_weight(ulong blkio, ulong io) => Assert.Equal(io, CgroupResources.BlkioWeightToIoWeight(blkio));

    [Fact]
    public void Memory_limit_reservation_and_swap_map_to_max_low_and_swap_max()
    {
        var f = Files(new ResourcesSpec { Memory = new MemorySpec { Limit = 16 << 20, Reservation = 8 << 20, Swap = 48 << 20 } });
        Assert.Equal("16777216", f["memory.max"]);
        Assert.Equal("8388608", f["memory.low"]);
        Assert.Equal("33554432", f["memory.swap.max"]); // memory+swap minus memory
        Assert.Equal(["memory"], CgroupResources.Translate(new ResourcesSpec { Memory = new MemorySpec { Limit = 1 } }, "c").Controllers);
    }

    [Fact]
    public void Minus_one_means_max_and_unlimited_memory_takes_swap_along()
    {
        Assert.Equal("max", Files(new ResourcesSpec { Memory = new MemorySpec { Limit = 100, Swap = -1 } })["memory.swap.max"]);
        var f = Files(new ResourcesSpec { Memory = new MemorySpec { Limit = -1 } });
        Assert.Equal("max", f["memory.max"]);
        Assert.Equal("max", f["memory.swap.max"]);
        Assert.False(Files(new ResourcesSpec { Memory = new MemorySpec { Limit = 100 } }).ContainsKey("memory.swap.max"));
    }

    [Fact]
    public void Swap_without_a_memory_limit_is_refused()
    {
        Assert.Equal("config.json: $.linux.resources.memory.swap: a memory+swap limit (100) needs a memory limit",
            Error(new ResourcesSpec { Memory = new MemorySpec { Swap = 100 } }));
        Assert.Equal("config.json: $.linux.resources.memory.swap: memory+swap limit 50 is below the memory limit 100",
            Error(new ResourcesSpec { Memory = new MemorySpec { Limit = 100, Swap = 50 } }));
    }

    [Fact]
    public void Memory_fields_v2_lacks_are_warnings_naming_the_field()
    {
        var w = Warnings(new ResourcesSpec { Memory = new MemorySpec { Kernel = 1, KernelTCP = 1, Swappiness = 60, DisableOOMKiller = true } });
        Assert.Equal(4, w.Count);
        Assert.Contains("config.json: $.linux.resources.memory.kernel: kernel memory is accounted in memory.max on cgroup v2; a separate limit is not available on cgroup v2; ignored", w);
        Assert.Contains("config.json: $.linux.resources.memory.kernelTCP: a separate TCP buffer limit is not available on cgroup v2; ignored", w);
        Assert.Contains("config.json: $.linux.resources.memory.swappiness: per-cgroup swappiness is not available on cgroup v2; ignored", w);
        Assert.Contains("config.json: $.linux.resources.memory.disableOOMKiller: turning off the OOM killer is not available on cgroup v2; ignored", w);
    }

    [Fact]
    public void Cpu_fields_map_to_weight_max_burst_cpuset_and_idle()
    {
        var f = Files(new ResourcesSpec { Cpu = new CpuSpec { Shares = 1024, Quota = 20000, Period = 100000, Burst = 5000, Cpus = "0-1", Mems = "0", Idle = 1 } });
        Assert.Equal("100", f["cpu.weight"]);
        Assert.Equal("20000 100000", f["cpu.max"]);
        Assert.Equal("5000", f["cpu.max.burst"]);
        Assert.Equal("0-1", f["cpuset.cpus"]);
        Assert.Equal("0", f["cpuset.mems"]);
        Assert.Equal("1", f["cpu.idle"]);
        Assert.Equal("50000 100000", Files(new ResourcesSpec { Cpu = new CpuSpec { Quota = 50000 } })["cpu.max"]);
        Assert.Equal("max 250000", Files(new ResourcesSpec { Cpu = new CpuSpec { Quota = -1, Period = 250000 } })["cpu.max"]);
    }

    [Fact]
    public void Realtime_cpu_is_refused()
    {
        Assert.Equal("config.json: $.linux.resources.cpu.realtimeRuntime: real-time group scheduling does not exist on cgroup v2; remove realtimeRuntime and realtimePeriod",
            Error(new ResourcesSpec { Cpu = new CpuSpec { RealtimeRuntime = 950000, RealtimePeriod = 1000000 } }));
    }

    [Fact]
    public void Pids_block_io_hugepages_and_rdma_map_to_their_files()
    {
        var f = Files(new ResourcesSpec
        {
            Pids = new PidsSpec(10),
            BlockIO = new BlockIoSpec
            {
                Weight = 500,
                WeightDevice = [new WeightDevice(8, 0, 1000, null)],
                ThrottleReadBpsDevice = [new ThrottleDevice(8, 0, 1048576)],
                ThrottleWriteIOPSDevice = [new ThrottleDevice(8, 16, 0)],
            },
            HugepageLimits = [new HugepageLimit("2MB", 4194304)],
            Rdma = new Dictionary<string, RdmaLimit> { ["mlx5_0"] = new RdmaLimit(3, 1000) },
        });
        Assert.Equal("10", f["pids.max"]);
        Assert.Equal("default 4950|8:0 10000", f["io.weight"]);
        Assert.Equal("8:0 rbps=1048576|8:16 wiops=max", f["io.max"]);
        Assert.Equal("4194304", f["hugetlb.2MB.max"]);
        Assert.Equal("mlx5_0 hca_handle=3 hca_object=1000", f["rdma.max"]);
        Assert.Equal("max", Files(new ResourcesSpec { Pids = new PidsSpec(-1) })["pids.max"]);
    }

    [Fact]
    public void Unified_entries_are_written_verbatim_and_last()
    {
        var t = CgroupResources.Translate(new ResourcesSpec
        {
            Memory = new MemorySpec { Limit = 100 },
            Unified = new Dictionary<string, string> { ["memory.max"] = "200", ["memory.high"] = "150" },
        }, "config.json");
        Assert.Equal(["memory.max", "memory.max", "memory.high"], t.Writes.Select(w => w.File));
        Assert.Equal("200", t.Writes[1].Value);
        Assert.Equal("$.linux.resources.unified[\"memory.max\"]", t.Writes[1].JsonPath);
    }

    [Theory]
    [InlineData("../memory.max", "config.json: $.linux.resources.unified[\"../memory.max\"]: a cgroup file name may not contain '/' or '..'")]
    [InlineData("memory..max", "config.json: $.linux.resources.unified[\"memory..max\"]: a cgroup file name may not contain '/' or '..'")]
    [InlineData("sub/memory.max", "config.json: $.linux.resources.unified[\"sub/memory.max\"]: a cgroup file name may not contain '/' or '..'")]
    [InlineData("memory", "config.json: $.linux.resources.unified.memory: expected a cgroup file name like \"memory.high\" (controller.file)")]
    [InlineData(".max", "config.json: $.linux.resources.unified[\".max\"]: expected a cgroup file name like \"memory.high\" (controller.file)")]
    public void Unified_keys_must_be_file_names_in_the_containers_cgroup(string key, string message)
    {
        Assert.Equal(message, Error(new ResourcesSpec { Unified = new Dictionary<string, string> { [key] = "1" } }));
        Assert.Equal(message, Assert.Throws<SpecException>(() => SpecReader.Parse($$"""
            { "ociVersion": "1.2.0", "process": { "args": ["/bin/true"], "cwd": "/" }, "root": { "path": "rootfs" },
              "linux": { "resources": { "unified": { "{{key}}": "1" } } } }
            """)).Message);
    }

    [Fact]
    public void Network_classes_are_warned_about_not_dropped()
    {
        var w = Warnings(new ResourcesSpec { Network = new NetworkSpec { ClassId = 7 } });
        Assert.Equal(["config.json: $.linux.resources.network: net_cls and net_prio are cgroup v1 controllers, not available on cgroup v2; ignored"], w);
    }
}
