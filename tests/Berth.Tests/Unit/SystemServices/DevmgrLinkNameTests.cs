using Berth.SystemServices.DeviceManager;
using Xunit;

namespace Berth.Tests.Unit.SystemServices;

public class DevmgrLinkNameTests
{
    [Theory]
    [InlineData("berth-state", "berth-state")]
    [InlineData("my disk", @"my\x20disk")]
    [InlineData("a/b", @"a\x2fb")]
    [InlineData(@"back\slash", @"back\x5cslash")]
    [InlineData("tab\there", @"tab\x09here")]
    [InlineData("#+-.:=@_", "#+-.:=@_")]
    [InlineData("Ünïcødé", "Ünïcødé")]          // valid UTF-8 stays, as blkid leaves it
    [InlineData("a*b?c", @"a\x2ab\x3fc")]
    [InlineData("..", null)]
    [InlineData("", null)]
    public void Names_are_escaped_as_udev_does(string value, string? expected)
    {
        Assert.Equal(expected, LinkNames.Encode(value));
    }

    [Fact]
    public void A_volume_gets_one_link_per_name_it_has()
    {
        Assert.Equal(["disk/by-label/STATE", "disk/by-uuid/1234-ABCD", @"disk/by-partlabel/my\x20part"],
            LinkNames.For("STATE", "1234-ABCD", "my part"));
        Assert.Equal(["disk/by-partlabel/berth-a"], LinkNames.For(null, null, "berth-a"));
        Assert.Empty(LinkNames.For(null, null, null));
    }

    [Fact]
    public void Links_point_relative_to_their_directory()
    {
        Assert.Equal("../../vda5", DiskLinks.RelativeTarget("disk/by-label/x", "vda5"));
        Assert.Equal("../../../mapper/root", DiskLinks.RelativeTarget("disk/by-id/a/x", "mapper/root"));
    }

    [Fact]
    public void A_virtio_disk_is_named_by_its_pci_function_and_its_serial_and_a_partition_adds_partN()
    {
        const string disk = "/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/virtio3/block/vdb";
        Assert.Equal(["disk/by-path/pci-0000:01:00.0", "disk/by-id/virtio-berth-hot-1"], LinkNames.ForHardware(disk, "berth-hot-1", null));
        Assert.Equal(["disk/by-path/pci-0000:01:00.0-part2", "disk/by-id/virtio-berth-hot-1-part2"],
            LinkNames.ForHardware(disk + "/vdb2", "berth-hot-1", 2));
        // no serial: by-path only
        Assert.Equal(["disk/by-path/pci-0000:00:03.0"], LinkNames.ForHardware("/devices/pci0000:00/0000:00:03.0/virtio1/block/vda", "", null));
        // not virtio on PCI: none (loop devices, SATA disks are not named here)
        Assert.Empty(LinkNames.ForHardware("/devices/virtual/block/loop0", null, null));
        Assert.Empty(LinkNames.ForHardware("/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda", "QM00001", null));
    }

    [Fact]
    public void An_nvme_namespace_is_named_by_pci_function_and_nsid_by_model_and_serial_and_by_wwid()
    {
        const string ns = "/devices/pci0000:00/0000:00:02.0/0000:01:00.0/nvme/nvme0/nvme0n1";
        Assert.Equal("0000:01:00.0", LinkNames.PciFunctionOfNvme(ns));
        Assert.Equal("/devices/pci0000:00/0000:00:02.0/0000:01:00.0/nvme/nvme0", LinkNames.NvmeControllerPath(ns));
        Assert.Equal("/devices/pci0000:00/0000:00:02.0/0000:01:00.0/nvme/nvme0", LinkNames.NvmeControllerPath(ns + "/nvme0n1p1"));
        // sysfs pads model and serial with blanks; QEMU's wwid when the namespace has no EUI
        const string wwid = "nvme.1b36-62657274682d6e762d31-51454d55204e564d65204374726c-00000001";
        Assert.Equal(["disk/by-path/pci-0000:01:00.0-nvme-1", "disk/by-id/nvme-QEMU_NVMe_Ctrl_berth-nv-1", $"disk/by-id/nvme-{wwid}"],
            LinkNames.ForNvme(ns, "QEMU NVMe Ctrl                          ", "berth-nv-1          ", wwid, 1, null));
        Assert.Equal(["disk/by-path/pci-0000:01:00.0-nvme-1-part3", "disk/by-id/nvme-QEMU_NVMe_Ctrl_berth-nv-1-part3"],
            LinkNames.ForNvme(ns + "/nvme0n1p3", "QEMU NVMe Ctrl", "berth-nv-1", null, 1, 3));
        // no serial: no model_serial name; no nsid: no by-path
        Assert.Equal(["disk/by-id/nvme-eui.0011"], LinkNames.ForNvme(ns, "QEMU NVMe Ctrl", "  ", "eui.0011", null, null));
        // not NVMe on PCI (a multipath namespace lives under the virtual subsystem, as in udev: no by-path)
        Assert.Null(LinkNames.PciFunctionOfNvme("/devices/virtual/nvme-subsystem/nvme-subsys0/nvme0n1"));
        Assert.Empty(LinkNames.ForNvme("/devices/virtual/nvme-subsystem/nvme-subsys0/nvme0n1", "m", "s", "eui.1", 1, null));
        Assert.Null(LinkNames.PciFunctionOfNvme("/devices/pci0000:00/0000:00:03.0/virtio1/block/vda"));
    }

    [Theory]
    [InlineData("  QM 0001  x ", "QM_0001_x")]
    [InlineData("disk/1*", "disk_1_")]
    [InlineData("a#+-.:=@_z", "a#+-.:=@_z")]
    [InlineData("   ", null)]
    public void A_serial_becomes_an_id_as_udev_makes_ID_SERIAL(string serial, string? id) => Assert.Equal(id, LinkNames.SerialId(serial));
}
