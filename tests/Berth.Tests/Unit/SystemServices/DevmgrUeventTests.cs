using System.Text;
using Berth.SystemServices.DeviceManager;
using Xunit;

namespace Berth.Tests.Unit.SystemServices;

public class DevmgrUeventTests
{
    private static byte[] Datagram(params string[] fields) => Encoding.UTF8.GetBytes(string.Join('\0', fields) + "\0");

    [Fact]
    public void A_kernel_datagram_gives_every_field_udev_uses()
    {
        var e = UeventParser.ParseDatagram(Datagram(
            "add@/devices/pci0000:00/0000:00:04.0/virtio1/block/vda/vda5",
            "ACTION=add", "DEVPATH=/devices/pci0000:00/0000:00:04.0/virtio1/block/vda/vda5", "SUBSYSTEM=block",
            "MAJOR=254", "MINOR=5", "DEVNAME=vda5", "DEVTYPE=partition", "DISKSEQ=1", "PARTN=5",
            "PARTNAME=berth-state", "SEQNUM=1234"));
        Assert.NotNull(e);
        Assert.Equal("add", e.Action);
        Assert.Equal("/devices/pci0000:00/0000:00:04.0/virtio1/block/vda/vda5", e.DevPath);
        Assert.Equal("block", e.Subsystem);
        Assert.Equal("vda5", e.DevName);
        Assert.Equal("partition", e.DevType);
        Assert.Equal(254, e.Major);
        Assert.Equal(5, e.Minor);
        Assert.Equal("berth-state", e.PartName);
        Assert.Equal(1234UL, e.SeqNum);
        Assert.Null(e.ModAlias);
        Assert.True(e.HasNode);
        Assert.Equal("5", e.Environment["PARTN"]);
    }

    [Fact]
    public void A_device_without_a_node_has_its_modalias()
    {
        var e = UeventParser.ParseDatagram(Datagram("add@/devices/pci0000:00/0000:00:03.0", "ACTION=add",
            "DEVPATH=/devices/pci0000:00/0000:00:03.0", "SUBSYSTEM=pci", "MODALIAS=pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00", "SEQNUM=7"))!;
        Assert.Equal("pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00", e.ModAlias);
        Assert.False(e.HasNode);
        Assert.Null(e.DevName);
    }

    [Fact]
    public void The_header_stands_in_for_missing_action_and_devpath_and_a_mode_is_octal()
    {
        var e = UeventParser.ParseDatagram(Datagram("remove@/devices/virtual/misc/fuse", "SUBSYSTEM=misc", "DEVNAME=fuse", "DEVMODE=0666", "MAJOR=10", "MINOR=229"))!;
        Assert.Equal("remove", e.Action);
        Assert.Equal("/devices/virtual/misc/fuse", e.DevPath);
        Assert.Equal(0x1b6, e.DevMode);
    }

    [Theory]
    [InlineData("libudev")]           // udevd's own re-broadcasts are not kernel events
    [InlineData("ACTION=add")]        // no header
    [InlineData("add@devices/x")]     // a devpath that is not absolute
    [InlineData("")]
    public void What_is_not_a_kernel_uevent_gives_null(string first)
    {
        Assert.Null(UeventParser.ParseDatagram(first == "libudev" ? Encoding.ASCII.GetBytes("libudev\0\xfe\xed\xca\xfe") : Datagram(first)));
    }

    [Theory]
    [InlineData("../etc/shadow")]
    [InlineData("/etc/shadow")]
    [InlineData("disk/../../x")]
    public void A_node_name_that_leaves_dev_is_dropped(string devName)
    {
        var e = UeventParser.ParseDatagram(Datagram("add@/devices/virtual/x", "SUBSYSTEM=misc", "DEVNAME=" + devName, "MAJOR=1", "MINOR=1"))!;
        Assert.Null(e.DevName);
        Assert.False(e.HasNode);
    }

    [Fact]
    public void A_sysfs_uevent_file_takes_action_devpath_and_subsystem_from_the_caller()
    {
        var e = UeventParser.ParseSysfs("MAJOR=1\nMINOR=3\nDEVNAME=null\nDEVMODE=0666\n", "add", "/devices/virtual/mem/null", "mem")!;
        Assert.Equal(("add", "/devices/virtual/mem/null", "mem", "null", 1, 3), (e.Action, e.DevPath, e.Subsystem, e.DevName, e.Major!.Value, e.Minor!.Value));
        Assert.Null(e.SeqNum);
    }

    [Fact]
    public void Options_parse_and_reject_a_bad_timeout()
    {
        var o = DevmgrOptions.FromArguments(["--dev", "/tmp/d", "--settle-timeout", "3s", "--no-modules", "--once"]);
        Assert.Equal(("/tmp/d", 3.0, false, true, true), (o.Dev, o.SettleTimeout.TotalSeconds, o.LoadModules, o.Once, o.Coldplug));
        Assert.Throws<Berth.SystemServices.UsageException>(() => DevmgrOptions.FromArguments(["--settle-timeout", "0s"]));
        Assert.Throws<Berth.SystemServices.UsageException>(() => DevmgrOptions.FromArguments(["--bogus"]));
    }
}
