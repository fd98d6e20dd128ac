using System.Diagnostics;
using System.Text;
using Berth.Runtime.Interop;
using Berth.Runtime.Linux;
using Berth.Runtime.Storage;
using Berth.SystemServices.DeviceManager;
using Xunit;

namespace Berth.Tests.Host.SystemServices;

/// <summary>
/// devmgr as root, with side effects only in temporary directories and private network
/// namespaces: nodes made in a temp dir, links over image files, uevents of a veth pair that
/// lives and dies in its own namespace.
/// </summary>
public class DevmgrHostTests
{
    private static Uevent Event(string action, string subsystem, string devName, int major, int minor, string? partName = null) => new()
    {
        Action = action, DevPath = "/devices/virtual/test/" + devName, Subsystem = subsystem, DevName = devName,
        Major = major, Minor = minor, PartName = partName,
    };

    [Fact]
    public void Nodes_are_made_with_the_tables_owner_and_mode_and_removed_with_their_device()
    {
        using var dir = new TempDir();
        var nodes = new DeviceNodes(dir.Path);
        Assert.StartsWith("created", nodes.Apply(Event("add", "mem", "null", 1, 3)));
        var n = DeviceFiles.Describe(dir["null"])!.Value;
        Assert.Equal((false, 1u, 3u, 0x1b6u, 0u, 0u), (n.Block, n.Major, n.Minor, n.Mode, n.Uid, n.Gid));

        nodes.Apply(Event("add", "block", "vdz", 254, 16));
        var b = DeviceFiles.Describe(dir["vdz"])!.Value;
        Assert.Equal((true, 254u, 16u, 0x1b0u, 6u), (b.Block, b.Major, b.Minor, b.Mode, b.Gid));

        // devtmpfs made it 0600 root:root: only owner and mode change, the node stays.
        var before = Files.LStat(dir["vdz"]).Inode;
        Files.ChangeMode(dir["vdz"], 0x180);
        Files.ChangeOwner(dir["vdz"], 0, 0);
        Assert.NotNull(nodes.Apply(Event("change", "block", "vdz", 254, 16)));
        Assert.Equal(before, Files.LStat(dir["vdz"]).Inode);
        Assert.Equal((0x1b0u, 6u), (DeviceFiles.Describe(dir["vdz"])!.Value.Mode, DeviceFiles.Describe(dir["vdz"])!.Value.Gid));
        Assert.Null(nodes.Apply(Event("add", "block", "vdz", 254, 16))); // nothing to do

        // A remove for another device's number leaves the node; its own removes it.
        Assert.Null(nodes.Apply(Event("remove", "block", "vdz", 254, 32)));
        Assert.True(File.Exists(dir["vdz"]));
        Assert.NotNull(nodes.Apply(Event("remove", "block", "vdz", 254, 16)));
        Assert.False(File.Exists(dir["vdz"]));

        // Nodes in subdirectories, and a stale node of another number replaced.
        DeviceFiles.MakeNode(dir["kvm"], false, 0x180, 1, 7);
        nodes.Apply(Event("add", "misc", "kvm", 10, 232));
        Assert.Equal((10u, 232u, 36u), (DeviceFiles.Describe(dir["kvm"])!.Value.Major, DeviceFiles.Describe(dir["kvm"])!.Value.Minor, DeviceFiles.Describe(dir["kvm"])!.Value.Gid));
        nodes.Apply(Event("add", "input", "input/event3", 13, 67));
        Assert.Equal(0x180u, DeviceFiles.Describe(dir["input/event3"])!.Value.Mode);
    }

    [Fact]
    public void Disk_links_follow_labels_and_go_with_their_device()
    {
        using var dir = new TempDir();
        // The "devices" are image files: the probe reads them as it reads a block device.
        File.WriteAllBytes(dir["vda5"], new byte[4 << 20]);
        Assert.Equal(0, HostRun.Tool("mkfs.ext4", "-q", "-F", "-L", "my state/1", "-U", "11111111-2222-3333-4444-555555555555", dir["vda5"]).Exit);
        File.WriteAllBytes(dir["vdb"], new byte[4 << 20]);
        Assert.Equal(0, HostRun.Tool("mkfs.ext4", "-q", "-F", "-L", "my state/1", dir["vdb"]).Exit);
        var links = new DiskLinks(dir.Path, FilesystemProbe.ProbeVolume);

        links.Apply(Event("add", "block", "vda5", 254, 5, partName: "berth-state"));
        Assert.Equal("../../vda5", new FileInfo(dir[@"disk/by-label/my\x20state\x2f1"]).LinkTarget);
        Assert.Equal("../../vda5", new FileInfo(dir["disk/by-uuid/11111111-2222-3333-4444-555555555555"]).LinkTarget);
        Assert.Equal("../../vda5", new FileInfo(dir["disk/by-partlabel/berth-state"]).LinkTarget);
        Assert.True(File.Exists(dir[@"disk/by-label/my\x20state\x2f1"])); // resolves

        // A second volume with the same label takes the name; when it goes the first gets it back.
        links.Apply(Event("add", "block", "vdb", 254, 16));
        Assert.Equal("../../vdb", new FileInfo(dir[@"disk/by-label/my\x20state\x2f1"]).LinkTarget);
        links.Apply(Event("remove", "block", "vdb", 254, 16));
        Assert.Equal("../../vda5", new FileInfo(dir[@"disk/by-label/my\x20state\x2f1"]).LinkTarget);

        // A relabelled volume loses its old name on change; remove takes every link.
        Assert.Equal(0, HostRun.Tool("e2label", dir["vda5"], "renamed").Exit);
        links.Apply(Event("change", "block", "vda5", 254, 5, partName: "berth-state"));
        Assert.False(Path.Exists(dir[@"disk/by-label/my\x20state\x2f1"]));
        Assert.Equal("../../vda5", new FileInfo(dir["disk/by-label/renamed"]).LinkTarget);
        links.Apply(Event("remove", "block", "vda5", 254, 5, partName: "berth-state"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir["disk/by-label"]));
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir["disk/by-uuid"]));
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir["disk/by-partlabel"]));
    }

    [Fact]
    public unsafe void The_netlink_socket_receives_the_kernels_uevents()
    {
        // A veth pair in a private network namespace: its uevents go to that namespace's sockets only.
        using var holder = ServiceProcess.Command("/usr/bin/unshare", ["-n", "sleep", "30"]);
        int pid = holder.Pid;
        Assert.True(HostRun.Until(() => File.Exists($"/proc/{pid}/ns/net") &&
            new FileInfo($"/proc/{pid}/ns/net").LinkTarget != new FileInfo("/proc/self/ns/net").LinkTarget, TimeSpan.FromSeconds(5)));
        var events = new List<Uevent>();
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var ns = FileDescriptor.Open($"/proc/{pid}/ns/net", Consts.O_RDONLY);
                // Only this thread enters the namespace, and it ends with the test.
                Assert.Equal(0, LibC.Setns(ns.Fd, 0x40000000 /* CLONE_NEWNET */));
                using var socket = NetlinkSocket.KobjectUevents();
                var r = HostRun.Tool("nsenter", "-t", pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "-n",
                    "ip", "link", "add", "dmv0", "type", "veth", "peer", "name", "dmv1");
                Assert.True(r.Exit == 0, r.Stderr);
                var buffer = new byte[64 * 1024];
                var deadline = Stopwatch.StartNew();
                while (deadline.Elapsed < TimeSpan.FromSeconds(5) && events.Count(e => e.DevPath is "/devices/virtual/net/dmv0" or "/devices/virtual/net/dmv1") < 2)
                {
                    int n = socket.Receive(buffer, TimeSpan.FromMilliseconds(200));
                    if (n > 0 && UeventParser.ParseDatagram(buffer.AsSpan(0, n)) is { } e) events.Add(e);
                }
            }
            catch (Exception e) { failure = e; }
        });
        thread.Start();
        thread.Join();
        Assert.Null(failure);
        var add = Assert.Single(events, e => e.DevPath == "/devices/virtual/net/dmv0" && e.Action == "add");
        Assert.Equal("net", add.Subsystem);
        Assert.NotNull(add.SeqNum);
        Assert.Equal("dmv0", add.Environment["INTERFACE"]);
    }

    [Fact]
    public void Devmgr_settles_from_sysfs_when_no_event_comes_and_populates_dev()
    {
        using var dir = new TempDir();
        // A sysfs of two devices; devmgr runs in a private network namespace, where the kernel
        // sends nothing, so it must make up for the events from the uevent files.
        string sys = dir["sys"], dev = dir["dev"];
        string mem = Path.Combine(sys, "devices/virtual/mem/null"), disk = Path.Combine(sys, "devices/virtual/block/fake0");
        Directory.CreateDirectory(mem);
        Directory.CreateDirectory(disk);
        Directory.CreateDirectory(Path.Combine(sys, "class/mem"));
        Directory.CreateDirectory(Path.Combine(sys, "class/block"));
        Directory.CreateDirectory(Path.Combine(sys, "kernel"));
        File.WriteAllText(Path.Combine(sys, "kernel/uevent_seqnum"), "99\n");
        // A regular file takes coldplug's "add" at its start (sysfs would not keep it): a line to spare.
        File.WriteAllText(Path.Combine(mem, "dev"), "1:3\n");
        File.WriteAllText(Path.Combine(disk, "dev"), "7:250\n");
        File.WriteAllText(Path.Combine(mem, "uevent"), "----\nMAJOR=1\nMINOR=3\nDEVNAME=null\nDEVMODE=0666\n");
        File.CreateSymbolicLink(Path.Combine(mem, "subsystem"), "../../../../class/mem");
        File.WriteAllText(Path.Combine(disk, "uevent"), "----\nMAJOR=7\nMINOR=250\nDEVNAME=fake0\nDEVTYPE=disk\nPARTNAME=my part\n");
        File.CreateSymbolicLink(Path.Combine(disk, "subsystem"), "../../../../class/block");
        // As in sysfs, the class directories link to the devices: coldplug finds them there.
        File.CreateSymbolicLink(Path.Combine(sys, "class/mem/null"), "../../devices/virtual/mem/null");
        File.CreateSymbolicLink(Path.Combine(sys, "class/block/fake0"), "../../devices/virtual/block/fake0");
        Directory.CreateDirectory(Path.Combine(sys, "devices/virtual/mem/unlisted"));
        File.WriteAllText(Path.Combine(sys, "devices/virtual/mem/unlisted/uevent"), "----\nMAJOR=1\nMINOR=9\nDEVNAME=unlisted\n");
        File.WriteAllText(Path.Combine(sys, "devices/virtual/mem/unlisted/dev"), "1:9\n");
        // Listed, but with neither node nor driver: not replayed.
        string bdi = Path.Combine(sys, "devices/virtual/bdi/7:250");
        Directory.CreateDirectory(bdi);
        File.WriteAllText(Path.Combine(bdi, "uevent"), "----\n");
        Directory.CreateDirectory(Path.Combine(sys, "class/bdi"));
        File.CreateSymbolicLink(Path.Combine(sys, "class/bdi/7:250"), "../../devices/virtual/bdi/7:250");
        Directory.CreateDirectory(dev);
        string settled = dir["run/devmgr.settled"];

        using var devmgr = ServiceProcess.Command("/usr/bin/unshare", ["-n", ServiceProcess.BinaryPath("devmgr"),
            "--sys", sys, "--dev", dev, "--settled", settled, "--no-modules", "--once", "--settle-timeout", "500ms"]);
        Assert.True(devmgr.WaitForExit(TimeSpan.FromSeconds(20)) == 0, devmgr.Stderr);
        Assert.Contains("reading sysfs instead", devmgr.Stderr);
        // coldplug asked each device for its event again
        Assert.StartsWith("add-", File.ReadAllText(Path.Combine(mem, "uevent")));
        Assert.Equal("----\n", File.ReadAllText(Path.Combine(bdi, "uevent")));
        var n = DeviceFiles.Describe(Path.Combine(dev, "null"))!.Value;
        Assert.Equal((false, 1u, 3u, 0x1b6u), (n.Block, n.Major, n.Minor, n.Mode));
        Assert.True(DeviceFiles.Describe(Path.Combine(dev, "fake0"))!.Value.Block);
        Assert.Equal("../../fake0", new FileInfo(Path.Combine(dev, @"disk/by-partlabel/my\x20part")).LinkTarget);
        Assert.Contains("events=2", File.ReadAllText(settled));
        Assert.False(File.Exists(Path.Combine(dev, "unlisted"))); // in no class or bus: not a device sysfs lists
    }
}
