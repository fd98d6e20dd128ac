using System.Diagnostics;
using Berth.Init.Stage1;
using Xunit;

namespace Berth.Tests.Host;

/// <summary>PartitionFinder over a fake /sys/class/block laid out like sysfs (class entries are symlinks).</summary>
public class PartitionFinderTests
{
    private sealed class FakeSys : IDisposable
    {
        private readonly TempDir _dir = new();
        public string ClassBlock { get; }
        private string Devices { get; }

        public FakeSys()
        {
            ClassBlock = _dir["class/block"];
            Devices = _dir["devices/pci0000:00/virtio1/block"];
            Directory.CreateDirectory(ClassBlock);
            Directory.CreateDirectory(Devices);
        }

        /// <summary>Creates the device directory and then links it into class/block in one step.</summary>
        public string Add(string name, string? devName, string? partName, long? sectors, bool link = true)
        {
            string dev = Path.Combine(Devices, name);
            Directory.CreateDirectory(dev);
            var uevent = "MAJOR=254\nMINOR=1\n" + (devName is null ? "" : $"DEVNAME={devName}\n") + "DEVTYPE=partition\nPARTN=1\n"
                + (partName is null ? "" : $"PARTNAME={partName}\n");
            File.WriteAllText(Path.Combine(dev, "uevent"), uevent);
            if (sectors is not null) File.WriteAllText(Path.Combine(dev, "size"), $"{sectors}\n");
            string entry = Path.Combine(ClassBlock, name);
            if (link) File.CreateSymbolicLink(entry, Path.GetRelativePath(ClassBlock, dev));
            return entry;
        }

        public void Dispose() => _dir.Dispose();
    }

    [Fact]
    public void Describe_reads_devname_partname_and_size_in_sectors()
    {
        using var sys = new FakeSys();
        string entry = sys.Add("vda3", "vda3", "berth-state", 2048);
        Assert.Equal(new BlockDevice("vda3", "/dev/vda3", "berth-state", 2048L * 512), PartitionFinder.Describe(entry));
    }

    [Fact]
    public void Describe_of_a_disk_without_label_or_size()
    {
        using var sys = new FakeSys();
        string entry = sys.Add("vdb", "vdb", null, null);
        Assert.Equal(new BlockDevice("vdb", "/dev/vdb", null, 0), PartitionFinder.Describe(entry));
    }

    [Fact]
    public void Describe_without_uevent_or_devname_is_null()
    {
        using var sys = new FakeSys();
        Assert.Null(PartitionFinder.Describe(sys.Add("nodev", null, "berth-a", 10)));
        Directory.CreateDirectory(Path.Combine(sys.ClassBlock, "empty"));
        Assert.Null(PartitionFinder.Describe(Path.Combine(sys.ClassBlock, "empty")));
    }

    [Fact]
    public void Scan_follows_the_class_symlinks_and_finds_every_device()
    {
        using var sys = new FakeSys();
        sys.Add("vda", "vda", null, 4096);
        sys.Add("vda1", "vda1", "berth-a", 1024);
        sys.Add("vda2", "vda2", "berth-b", 1024);
        sys.Add("broken", null, null, 1);
        var found = new PartitionFinder(sys.ClassBlock).Scan().OrderBy(d => d.Name, StringComparer.Ordinal).ToList();
        Assert.Equal(
            [
                new BlockDevice("vda", "/dev/vda", null, 4096L * 512),
                new BlockDevice("vda1", "/dev/vda1", "berth-a", 1024L * 512),
                new BlockDevice("vda2", "/dev/vda2", "berth-b", 1024L * 512),
            ],
            found);
    }

    [Fact]
    public void Scan_of_a_missing_directory_is_empty()
    {
        Assert.Empty(new PartitionFinder("/nonexistent/sys/class/block").Scan());
        Assert.Equal("no block devices", new PartitionFinder("/nonexistent/sys/class/block").DescribeAll());
    }

    [Fact]
    public void DescribeAll_lists_names_with_labels()
    {
        using var sys = new FakeSys();
        sys.Add("vda", "vda", null, 4096);
        sys.Add("vda1", "vda1", "berth-a", 1024);
        var parts = new PartitionFinder(sys.ClassBlock).DescribeAll().Split(", ").Order(StringComparer.Ordinal);
        Assert.Equal(["vda", "vda1 (berth-a)"], parts);
    }

    [Fact]
    public void WaitFor_returns_a_labelled_partition_whose_node_exists()
    {
        using var sys = new FakeSys();
        sys.Add("vdz1", "null", "berth-a", 8); // /dev/null stands in for a device node that exists
        var found = new PartitionFinder(sys.ClassBlock).WaitFor("berth-a", TimeSpan.FromSeconds(2));
        Assert.Equal(new BlockDevice("vdz1", "/dev/null", "berth-a", 8 * 512), found);
    }

    [Fact]
    public void WaitFor_sees_a_partition_that_appears_later()
    {
        using var sys = new FakeSys();
        var finder = new PartitionFinder(sys.ClassBlock);
        var sw = Stopwatch.StartNew();
        var appear = Task.Run(async () =>
        {
            await Task.Delay(150);
            sys.Add("vdz2", "null", "berth-b", 16);
        });
        var found = finder.WaitFor("berth-b", TimeSpan.FromSeconds(3));
        appear.Wait();
        Assert.NotNull(found);
        Assert.Equal("vdz2", found.Name);
        Assert.InRange(sw.ElapsedMilliseconds, 140, 2500);
    }

    [Fact]
    public void WaitFor_times_out_with_null()
    {
        using var sys = new FakeSys();
        sys.Add("vda1", "vda1", "berth-a", 8);
        var sw = Stopwatch.StartNew();
        Assert.Null(new PartitionFinder(sys.ClassBlock).WaitFor("berth-b", TimeSpan.FromMilliseconds(250)));
        Assert.InRange(sw.ElapsedMilliseconds, 240, 2000);
    }

    [Fact]
    public void WaitFor_ignores_a_labelled_partition_until_its_dev_node_exists()
    {
        using var sys = new FakeSys();
        sys.Add("vdq1", "berth-test-no-such-node", "berth-a", 8);
        Assert.Null(new PartitionFinder(sys.ClassBlock).WaitFor("berth-a", TimeSpan.FromMilliseconds(150)));
    }

    [Fact]
    public void Scan_of_the_real_sysfs_sees_every_block_device()
    {
        const string real = "/sys/class/block";
        Assert.True(Directory.Exists(real), "this host has no /sys/class/block");
        var expected = new DirectoryInfo(real).EnumerateFileSystemInfos().Select(e => e.Name).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(expected);
        var found = new PartitionFinder().Scan().ToList();
        Assert.Equal(expected, found.Select(d => d.Name).Order(StringComparer.Ordinal));
        foreach (var d in found)
            Assert.Equal("/dev/" + d.Name.Replace('!', '/'), d.DevicePath); // sysfs spells '/' in DEVNAME as '!'
    }
}
