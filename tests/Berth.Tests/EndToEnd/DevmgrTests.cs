using System.Text.Json;
using System.Text.RegularExpressions;
using Berth.Qemu;
using Xunit;
using Xunit.Abstractions;

namespace Berth.Tests.EndToEnd;

/// <summary>devmgr in the booted image: healthy once settled, with the /dev/disk links stage 1 and users look for.</summary>
[Collection("qemu")]
[Trait("Category", "EndToEnd")]
public sealed class DevmgrTests(SharedGuest shared, ITestOutputHelper output)
{
    private QemuGuest Guest => shared.Guest;

    private JsonElement Devmgr()
    {
        var json = JsonDocument.Parse(Guest.Check("berth ps --json")).RootElement;
        return json.GetProperty("services").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "devmgr").Clone();
    }

    /// <summary>The partition (vda5) whose GPT name the kernel reports as <paramref name="partName"/>.</summary>
    private string PartitionNamed(string partName) =>
        Guest.Check($"for d in /sys/class/block/*; do grep -qx 'PARTNAME={partName}' $d/uevent && basename $d; done; true").Trim();

    [Fact]
    public void Devmgr_is_healthy_and_the_disk_links_point_at_the_right_partitions()
    {
        _ = shared.Ready;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        JsonElement s;
        while ((s = Devmgr()).GetProperty("health").GetString() != "healthy")
        {
            Assert.True(DateTime.UtcNow < deadline, $"devmgr never became healthy: {s}");
            Guest.Check("sleep 0.2");
        }
        Assert.Equal("container", s.GetProperty("kind").GetString());
        Assert.Matches(@"(?m)^devmgr\s.*healthy", Guest.Check("berth ps"));
        Assert.Contains("settled_ms=", Guest.Check("cat /run/berth/devmgr.settled"));

        string state = PartitionNamed("berth-state"), esp = PartitionNamed("esp"), slotA = PartitionNamed("berth-a");
        Assert.Matches("^[a-z]+[0-9]+$", state);
        // The STATE filesystem's label, and the GPT names of the partitions.
        Assert.Equal($"../../{state}", Guest.Check("readlink /dev/disk/by-label/berth-state").Trim());
        Assert.Equal($"../../{state}", Guest.Check("readlink /dev/disk/by-partlabel/berth-state").Trim());
        Assert.Equal($"../../{esp}", Guest.Check("readlink /dev/disk/by-partlabel/esp").Trim());
        Assert.Equal($"../../{slotA}", Guest.Check("readlink /dev/disk/by-partlabel/berth-a").Trim());
        Assert.Equal($"../../{esp}", Guest.Check("readlink /dev/disk/by-label/BERTH-ESP").Trim());
        // The link resolves to the node of the partition mounted as STATE, and by-uuid has it too.
        Assert.Equal(Guest.Check($"cat /sys/class/block/{state}/dev").Trim(),
            Guest.Check("d=$(stat -L -c '%t %T' /dev/disk/by-label/berth-state); printf '%d:%d' 0x${d% *} 0x${d#* }").Trim());
        Assert.Contains($"../../{state}", Guest.Check("ls -l /dev/disk/by-uuid/"));
        // Disks are the disk group's.
        Assert.Equal("660 6", Guest.Check($"stat -c '%a %g' /dev/{state}").Trim());

        var log = Guest.Check("cat /var/log/berth/devmgr.log");
        var settled = Regex.Match(log, @"settled in (\d+) ms: (\d+) devices triggered \(in (\d+) ms\), (\d+) events, (\d+) modules loaded");
        Assert.True(settled.Success, log);
        output.WriteLine($"devmgr: {settled.Value}");
        var timeline = JsonDocument.Parse(Guest.Check("cat /run/berth/boot-timeline.json")).RootElement;
        var start = timeline.GetProperty("service_starts").EnumerateArray().Single(x => x.GetProperty("name").GetString() == "devmgr");
        output.WriteLine($"devmgr in the boot timeline: {start}; ready at {timeline.GetProperty("ready_uptime_ms")} ms");
    }
}
