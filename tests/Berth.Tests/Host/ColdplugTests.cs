using Berth.Runtime.Kernel;
using Xunit;

namespace Berth.Tests.Host;

/// <summary>
/// Coldplug over a fake /sys/bus and ModuleLoader over an index whose module files do not exist:
/// nothing here can reach finit_module (the open of the file fails first).
/// </summary>
public class ColdplugTests
{
    private static void Device(TempDir dir, string bus, string name, string? modalias)
    {
        string d = dir[$"bus/{bus}/devices/{name}"];
        Directory.CreateDirectory(d);
        if (modalias is not null) File.WriteAllText(Path.Combine(d, "modalias"), modalias + "\n");
    }

    private static TempDir FakeSysBus()
    {
        var dir = new TempDir();
        Device(dir, "pci", "0000:00:05.0", "pci:v00001AF4d00001042sv00001AF4sd00001100bc01sc00i00"); // virtio-blk
        Device(dir, "pci", "0000:00:02.0", "pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00"); // e1000e
        Device(dir, "pci", "0000:00:1f.2", "pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01"); // ahci
        Device(dir, "pci", "0000:00:00.0", null);                                                      // no modalias
        Device(dir, "virtio", "virtio1", "virtio:d00000002v00001AF4");
        Device(dir, "virtio", "virtio0", "virtio:d00000003v00001AF4");
        Device(dir, "virtio", "virtio2", "");
        Directory.CreateDirectory(dir["bus/empty"]); // a bus without devices/
        return dir;
    }

    [Fact]
    public void Stage_two_serves_virtio_devices_first_and_storage_controllers_last()
    {
        using var dir = FakeSysBus();
        var order = Coldplug.ServicesFirst(Coldplug.Devices(dir["bus"])).Select(d => Path.GetFileName(d.SysPath)).ToList();
        // virtio in name order, then the other PCI devices as found, then the PCI disk controllers (virtio-blk, ahci)
        Assert.Equal(["virtio0", "virtio1", "0000:00:02.0", "0000:00:05.0", "0000:00:1f.2"], order);
    }

    [Fact]
    public void Devices_lists_each_bus_in_name_order_and_skips_devices_without_modalias()
    {
        using var dir = FakeSysBus();
        var virtio = Coldplug.Devices(dir["bus"], "virtio").ToList();
        Assert.Equal(
            [
                new PresentDevice("virtio", dir["bus/virtio/devices/virtio0"], "virtio:d00000003v00001AF4"),
                new PresentDevice("virtio", dir["bus/virtio/devices/virtio1"], "virtio:d00000002v00001AF4"),
            ],
            virtio);
        Assert.Equal(["0000:00:02.0", "0000:00:05.0", "0000:00:1f.2"],
            Coldplug.Devices(dir["bus"], "pci").Select(d => Path.GetFileName(d.SysPath)));
        Assert.Equal(5, Coldplug.Devices(dir["bus"]).Count());
        Assert.Empty(Coldplug.Devices(dir["bus"], "usb"));
        Assert.Empty(Coldplug.Devices(dir["no-such-sys-bus"]));
    }

    [Fact]
    public void Virtio_and_storage_filters()
    {
        using var dir = FakeSysBus();
        var pci = Coldplug.Devices(dir["bus"], "pci").ToList();
        Assert.Equal(["0000:00:05.0"], pci.Where(Coldplug.IsVirtioPci).Select(d => Path.GetFileName(d.SysPath)));
        Assert.Equal(["0000:00:05.0", "0000:00:1f.2"], pci.Where(Coldplug.IsPciStorage).Select(d => Path.GetFileName(d.SysPath)));
        Assert.DoesNotContain(Coldplug.Devices(dir["bus"], "virtio"), Coldplug.IsVirtioPci);
    }

    private static ModuleLoader Loader(TempDir dir, string softdep = "") => new(ModuleIndex.FromText(dir["modules"],
        dep: "kernel/berth_test_blk.ko:\nkernel/berth_test_net.ko: kernel/berth_test_core.ko\nkernel/berth_test_core.ko:\n"
            + "kernel/berth_test_soft.ko:\n",
        softdep: softdep,
        alias: "alias virtio:d00000002v* berth_test_blk\nalias pci:v00008086d000010D3sv*sd*bc*sc*i* berth_test_net\n"
            + "alias virtio:d00000002v00001AF4 berth_test_blk\n"));

    [Fact]
    public void Load_collects_one_error_per_driver_and_modalias_and_goes_on()
    {
        using var dir = FakeSysBus();
        var errors = new List<string>();
        var loaded = Coldplug.Load(Loader(dir), Coldplug.Devices(dir["bus"]).Concat(Coldplug.Devices(dir["bus"])), errors);
        Assert.Empty(loaded);
        Assert.Equal(2, errors.Count);
        errors.Sort(StringComparer.Ordinal);
        Assert.StartsWith($"berth_test_blk for virtio:d00000002v00001AF4: open {dir["modules/kernel/berth_test_blk.ko"]} failed: ENOENT", errors[0]);
        Assert.StartsWith($"berth_test_net for pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00: open {dir["modules/kernel/berth_test_core.ko"]} failed: ENOENT", errors[1]);
    }

    [Fact]
    public void Load_of_an_unknown_module_throws_ModuleNotFound()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<ModuleNotFoundException>(() => Loader(dir).Load("berth_test_absent"));
        Assert.Equal("berth_test_absent", e.Module);
    }

    [Fact]
    public void Missing_module_file_is_reported_with_its_path()
    {
        using var dir = new TempDir();
        var e = Assert.ThrowsAny<Exception>(() => Loader(dir).Load("berth_test_blk"));
        Assert.Contains(dir["modules/kernel/berth_test_blk.ko"], e.Message);
        Assert.DoesNotContain("neither in modules.dep", e.Message);
    }

    [Fact]
    public void Missing_soft_dependency_file_does_not_fail_the_load()
    {
        using var dir = new TempDir();
        // Neither file exists: the load must fail on berth_test_blk itself, not on its optional softdep.
        var e = Assert.ThrowsAny<Exception>(() => Loader(dir, "softdep berth_test_blk pre: berth_test_soft\n").Load("berth_test_blk"));
        Assert.Contains("berth_test_blk", e.Message);
        Assert.DoesNotContain("berth_test_soft", e.Message);
    }
}
