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
        // by-path: the boot disk's PCI function, partitions with -partN.
        string bootPci = Regex.Match(Guest.Check($"readlink -f /sys/class/block/{state}"), @"/([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])/virtio\d+/").Groups[1].Value;
        Assert.Equal($"../../{state}", Guest.Check($"readlink /dev/disk/by-path/pci-{bootPci}-part{Regex.Match(state, @"\d+$").Value}").Trim());
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

    /// <summary>
    /// A disk plugged into the running machine through the QEMU monitor (a PCIe root port the shared
    /// guest boots with) gets its node and its by-label and by-uuid links from devmgr's netlink
    /// events, with the disk group's owner and mode; unplugged, all of it goes away again.
    /// </summary>
    [Fact]
    public void A_disk_hot_added_through_the_monitor_gets_its_node_and_links_and_loses_them_when_removed()
    {
        _ = shared.Ready;
        const string uuid = "3b1c5a0e-7d2f-4c9a-9e61-5d8f0b2a4c17";
        string disk = Path.Combine(Path.GetTempPath(), $"berth-hotdisk-{Guid.NewGuid():N}.img");
        try
        {
            HostTools.Checked("truncate", "-s", "16M", disk);
            HostTools.Checked("mkfs.ext4", "-q", "-F", "-L", "hotdisk", "-U", uuid, disk);
            string before = Guest.Check("ls /sys/block");

            HotAdd(disk, "hotdisk", "hotplug0", serial: "berth-hot-1");

            string link = WaitFor(() => Guest.Run("readlink /dev/disk/by-label/hotdisk").Output.Trim(),
                l => l.StartsWith("../../vd", StringComparison.Ordinal), "the by-label link of the hot-added disk");
            string node = link["../../".Length..];
            Assert.DoesNotContain(node, before.Split('\n', StringSplitOptions.TrimEntries));
            Assert.Equal(link, WaitFor(() => Guest.Run($"readlink /dev/disk/by-uuid/{uuid}").Output.Trim(), l => l.Length > 0, "the by-uuid link"));
            Assert.Equal("660 6", Guest.Check($"stat -c '%a %g' /dev/{node}").Trim());
            // by-id from the serial QEMU gives it, by-path from the PCI function behind the root port.
            Assert.Equal(link, Guest.Check("readlink /dev/disk/by-id/virtio-berth-hot-1").Trim());
            string pci = Regex.Match(Guest.Check($"readlink -f /sys/block/{node}"), @"/([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])/virtio\d+/").Groups[1].Value;
            Assert.Matches(@"^0000:[0-9a-f]{2}:00\.0$", pci);
            Assert.Equal(link, Guest.Check($"readlink /dev/disk/by-path/pci-{pci}").Trim());
            Assert.Equal(Guest.Check($"cat /sys/block/{node}/dev").Trim(),
                Guest.Check($"d=$(stat -c '%t %T' /dev/{node}); printf '%d:%d' 0x${{d% *}} 0x${{d#* }}").Trim());
            // The node reads the disk's own bytes: the ext4 volume name at 1024 + 0x78.
            Assert.Equal("hotdisk", Guest.Check($"dd if=/dev/{node} bs=1 skip=1144 count=7 2>/dev/null"));
            output.WriteLine($"hot-added disk is /dev/{node}");

            HotRemove("hotdisk");
            WaitFor(() => Guest.Run($"ls /dev/{node} /dev/disk/by-label/hotdisk /dev/disk/by-uuid/{uuid} /dev/disk/by-id/virtio-berth-hot-1 /dev/disk/by-path/pci-{pci} 2>/dev/null | wc -l").Output.Trim(),
                n => n == "0", "the node and both links to go after device_del");
            Assert.Matches(@"(?m)^devmgr\s.*healthy", Guest.Check("berth ps"));
        }
        finally
        {
            Guest.Qmp("{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":\"hotdisk-node\"}}");
            File.Delete(disk);
        }
    }

    /// <summary>
    /// An NVMe disk plugged in the same way: the nvme driver loads by modalias, and devmgr names the
    /// namespace as udev does, by label, by path (PCI function and namespace id) and by id (model and
    /// serial of the controller, and the namespace's wwid).
    /// </summary>
    [Fact]
    public void A_hot_added_nvme_disk_gets_by_path_and_by_id_links()
    {
        _ = shared.Ready;
        string disk = Path.Combine(Path.GetTempPath(), $"berth-nvme-{Guid.NewGuid():N}.img");
        try
        {
            HostTools.Checked("truncate", "-s", "16M", disk);
            HostTools.Checked("mkfs.ext4", "-q", "-F", "-L", "nvdisk", disk);
            HotAdd(disk, "nvdisk", "hotplug2", serial: "berth-nv-1", driver: "nvme");

            string link = WaitFor(() => Guest.Run("readlink /dev/disk/by-label/nvdisk").Output.Trim(),
                l => l.StartsWith("../../nvme", StringComparison.Ordinal), "the by-label link of the NVMe disk");
            string node = link["../../".Length..];
            string sys = Guest.Check($"readlink -f /sys/block/{node}").Trim();
            string pci = Regex.Match(sys, @"/([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])/nvme/nvme\d+/").Groups[1].Value;
            Assert.Matches(@"^0000:[0-9a-f]{2}:00\.0$", pci);
            string nsid = Guest.Check($"cat /sys/block/{node}/nsid").Trim();
            Assert.Equal(link, Guest.Check($"readlink /dev/disk/by-path/pci-{pci}-nvme-{nsid}").Trim());
            Assert.Equal(link, Guest.Check("readlink /dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_berth-nv-1").Trim());
            string wwid = Guest.Check($"cat /sys/block/{node}/wwid").Trim();
            Assert.Equal(link, Guest.Check($"readlink /dev/disk/by-id/nvme-{wwid}").Trim());
            Assert.Equal("nvdisk", Guest.Check($"dd if=/dev/{node} bs=1 skip=1144 count=6 2>/dev/null"));
            output.WriteLine($"NVMe disk is /dev/{node} at {pci}");

            HotRemove("nvdisk");
            WaitFor(() => Guest.Run($"ls /dev/{node} /dev/disk/by-label/nvdisk /dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_berth-nv-1 /dev/disk/by-path/pci-{pci}-nvme-{nsid} 2>/dev/null | wc -l").Output.Trim(),
                n => n == "0", "the node and the links to go after device_del");
        }
        finally
        {
            Guest.Qmp("{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":\"nvdisk-node\"}}");
            File.Delete(disk);
        }
    }

    /// <summary>Plugs <paramref name="file"/> in as a disk (virtio-blk-pci unless <paramref name="driver"/> says otherwise) on the root port <paramref name="bus"/> (QMP blockdev-add + device_add).</summary>
    private void HotAdd(string file, string id, string bus, string? serial = null, string driver = "virtio-blk-pci")
    {
        string reply = Guest.Qmp("{\"execute\":\"blockdev-add\",\"arguments\":{\"node-name\":\"" + id + "-node\",\"driver\":\"raw\","
            + "\"file\":{\"driver\":\"file\",\"filename\":" + JsonSerializer.Serialize(file) + "}}}");
        Assert.True(reply.Contains("\"return\"", StringComparison.Ordinal), $"blockdev-add: {reply}");
        reply = Guest.Qmp("{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"" + driver + "\",\"id\":\"" + id
            + "\",\"drive\":\"" + id + "-node\",\"bus\":\"" + bus + "\"" + (serial is null ? "" : ",\"serial\":\"" + serial + "\"") + "}}");
        Assert.True(reply.Contains("\"return\"", StringComparison.Ordinal), $"device_add: {reply}");
    }

    private void HotRemove(string id)
    {
        string reply = Guest.Qmp("{\"execute\":\"device_del\",\"arguments\":{\"id\":\"" + id + "\"}}");
        Assert.True(reply.Contains("\"return\"", StringComparison.Ordinal), $"device_del: {reply}");
    }

    /// <summary>
    /// Firmware, with the kernel's test_firmware module (plugged in on a disk of its own) asking:
    /// the kernel loads a file an operator put in /var/lib/berth/firmware itself, because devmgr
    /// set firmware_class.path; with the sysfs fallback forced and that path cleared, devmgr
    /// answers the request event with the file, and a missing one with "no" at once (the
    /// kernel would otherwise wait its 60 s).
    /// </summary>
    [Fact]
    public void Firmware_from_the_state_partition_reaches_a_driver_directly_and_through_devmgr()
    {
        _ = shared.Ready;
        string release = Guest.Check("uname -r").Trim();
        string module = $"/lib/modules/{release}/kernel/lib/test_firmware.ko";
        Assert.True(File.Exists(module), $"{module} is missing on the host (the image's kernel package, linux-image-amd64)");
        long moduleBytes = new FileInfo(module).Length;
        string disk = Path.Combine(Path.GetTempPath(), $"berth-fwdisk-{Guid.NewGuid():N}.img");
        const string dir = "/sys/devices/virtual/misc/test_firmware";
        try
        {
            File.Copy(module, disk);
            HostTools.Checked("truncate", "-s", "1M", disk);
            string before = Guest.Check("ls /sys/block");
            HotAdd(disk, "fwdisk", "hotplug1");
            string node = WaitFor(() => Guest.Check("ls /sys/block").Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Except(before.Split('\n', StringSplitOptions.TrimEntries)).FirstOrDefault() ?? "", n => n.Length > 0, "the module's disk");
            WaitFor(() => Guest.Run($"test -b /dev/{node} && echo yes").Output.Trim(), y => y == "yes", $"/dev/{node}");
            Guest.Check($"head -c {moduleBytes} /dev/{node} > /tmp/test_firmware.ko && insmod /tmp/test_firmware.ko");

            Assert.Equal("/var/lib/berth/firmware", Guest.Check("cat /sys/module/firmware_class/parameters/path").Trim());
            Guest.Check("printf 'berth-direct' > /var/lib/berth/firmware/berth-test-direct.bin");
            Guest.Check($"printf berth-test-direct.bin > {dir}/trigger_request");
            Assert.Equal("berth-direct", Guest.Check("cat /dev/test_firmware"));

            // Only devmgr can find it now: the kernel's own search no longer includes the directory.
            Guest.Check("printf 'berth-fallback' > /var/lib/berth/firmware/berth-test-fallback.bin");
            Guest.Check("echo 1 > /proc/sys/kernel/firmware_config/force_sysfs_fallback; echo > /sys/module/firmware_class/parameters/path; echo 30 > /sys/class/firmware/timeout");
            Guest.Check($"printf berth-test-fallback.bin > {dir}/trigger_request", TimeSpan.FromSeconds(60));
            Assert.Equal("berth-fallback", Guest.Check("cat /dev/test_firmware"));
            var missing = Guest.Run($"printf berth-test-missing.bin > {dir}/trigger_request", TimeSpan.FromSeconds(60));
            Assert.NotEqual(0, missing.ExitCode);
            var log = Guest.Check("cat /var/log/berth/devmgr.log");
            Assert.Contains("firmware berth-test-fallback.bin for /devices/virtual/misc/test_firmware/berth-test-fallback.bin: /var/lib/berth/firmware/berth-test-fallback.bin (14 bytes)", log);
            Assert.Contains("firmware berth-test-missing.bin for /devices/virtual/misc/test_firmware/berth-test-missing.bin: not found in /var/lib/berth/firmware", log);
        }
        finally
        {
            Guest.Run("echo 0 > /proc/sys/kernel/firmware_config/force_sysfs_fallback; echo 60 > /sys/class/firmware/timeout; "
                + "printf /var/lib/berth/firmware > /sys/module/firmware_class/parameters/path; rmmod test_firmware; rm -f /var/lib/berth/firmware/berth-test-* /tmp/test_firmware.ko");
            try { HotRemove("fwdisk"); } catch (Xunit.Sdk.XunitException) { }
            Thread.Sleep(1000);
            Guest.Qmp("{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":\"fwdisk-node\"}}");
            File.Delete(disk);
        }
    }

    private string WaitFor(Func<string> probe, Func<string, bool> done, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        string last;
        while (!done(last = probe()))
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}; last: '{last}'\n{Guest.Run("tail -n 20 /var/log/berth/devmgr.log").Output}");
            Thread.Sleep(300);
        }
        return last;
    }
}
