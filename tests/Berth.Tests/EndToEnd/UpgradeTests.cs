using System.Text.RegularExpressions;
using Berth.Init.Upgrade;
using Berth.Qemu;
using Xunit;

namespace Berth.Tests.EndToEnd;

/// <summary>
/// A/B upgrades on the real image under QEMU: bundles reach the guest as extra raw virtio disks
/// (/dev/vdb...) or over http from a loopback server through a guestfwd.
/// </summary>
[Collection("qemu")]
[Trait("Category", "EndToEnd")]
public sealed class UpgradeTests : IClassFixture<UpgradeBundles>
{
    private static readonly TimeSpan Boot = TimeSpan.FromSeconds(240);
    private readonly UpgradeBundles _bundles;

    public UpgradeTests(UpgradeBundles bundles) => _bundles = bundles;

    private static string Status(QemuGuest g) => g.Check("berth os status");

    private static string WaitForStatus(QemuGuest g, string pattern, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        string status;
        while (!Regex.IsMatch(status = Status(g), pattern, RegexOptions.Multiline))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"status never matched {pattern}:\n{status}");
            Thread.Sleep(1000);
        }
        return status;
    }

    private static string SlotLine(char slot, string version, bool booted, string condition) =>
        $@"^slot {slot}: version={Regex.Escape(version)} booted={(booted ? "yes" : "no")} .*{condition}";

    /// <summary>Overwrites the header of the first grubenv copy in a disk image (as a torn or corrupt write would).</summary>
    private static void CorruptFirstGrubenv(string image)
    {
        var esp = HostTools.Find(image, "esp");
        using var copies = new EspEnvCopies(image, writable: true, baseOffset: esp.StartSector * 512);
        var block = copies.Read(0);
        block[0] = (byte)'X';
        copies.Write(0, block);
    }

    [Fact]
    public void V1_to_v2_to_v3_over_disk_and_http_keeps_state_and_refuses_bad_bundles_first()
    {
        using var work = new Host.TempDir();
        string v2 = _bundles.V2, v3 = _bundles.V3;
        // bad bundles, each on its own disk: vdb..vdf
        var flipped = File.ReadAllBytes(v2);
        flipped[flipped.Length / 2] ^= 0x01;
        File.WriteAllBytes(work["flipped.bundle"], flipped);
        HostTools.Checked("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", work["foreign.key"]);
        string image = _bundles.ExtractImage(v2, work.Path);
        _bundles.MakeBundle(image, "0.2.0", work["foreign.bundle"], key: work["foreign.key"]);
        _bundles.MakeBundle(image, "0.2.0", work["arm.bundle"], compatible: "berth-arm64");
        File.WriteAllBytes(work["truncated.bundle"], File.ReadAllBytes(v2)[..(flipped.Length / 2 / 512 * 512)]);
        HostTools.Checked("truncate", "-s", "170M", work["big.sqfs"]);
        _bundles.MakeBundle(work["big.sqfs"], "0.2.0", work["big.bundle"]);
        File.Delete(work["big.sqfs"]);
        var refusals = new (string Disk, string Error)[]
        {
            ("/dev/vdb", "the signed manifest says"),
            ("/dev/vdc", "signature does not verify with any key"),
            ("/dev/vdd", "bundle is for 'berth-arm64', this machine is 'berth-x86_64'"),
            ("/dev/vde", "truncated"),
            ("/dev/vdf", "the slot partition only 167772160 bytes"),
        };
        using var server = new FileServer(Path.GetDirectoryName(v3)!);
        int port = server.Port;

        using var guest = new QemuGuest(new GuestOptions
        {
            PrepareImage = CorruptFirstGrubenv,
            ExtraBootArgs =
            {
                "--disk", work["flipped.bundle"], "--disk", work["foreign.bundle"], "--disk", work["arm.bundle"],
                "--disk", work["truncated.bundle"], "--disk", work["big.bundle"], "--disk", v2,
                "--guestfwd", $"8080:{port}",
            },
        }).Start();
        guest.WaitForReady(Boot);
        // GRUB read the second copy; PID 1 then restored the first from it
        Assert.Contains("grub/grubenv did not load; using grub/grubenv.bak", guest.SerialLog);
        WaitForStatus(guest, "copies agree", TimeSpan.FromSeconds(30));
        Assert.Contains("restored from", guest.Check("dmesg | grep grubenv"));

        string Fingerprint() => guest.Check("sha256sum /dev/vda4 | cut -c1-64; dd if=/dev/vda2 bs=1M 2>/dev/null | sha256sum | cut -c1-64",
            TimeSpan.FromSeconds(300));
        string before = Fingerprint();
        foreach (var (disk, error) in refusals)
        {
            var r = guest.Run($"berth os upgrade --no-reboot {disk}", TimeSpan.FromSeconds(120));
            Assert.True(r.ExitCode == 1, $"{disk}: exit {r.ExitCode}: {r.Output}");
            Assert.Contains(error, r.Output);
            Assert.DoesNotContain("writing", r.Output);
        }
        Assert.Equal(before, Fingerprint());
        Assert.Matches("last upgrade: result=refused", Status(guest));

        string token = Guid.NewGuid().ToString("N");
        guest.Check($"echo {token} > /var/lib/berth/token && sync");
        guest.Fire("berth os upgrade --no-progress /dev/vdg > /var/lib/berth/upgrade-1.log 2>&1");
        guest.WaitForSerial(new Regex("SIGTERM: reboot"), TimeSpan.FromSeconds(180), "the reboot the upgrade asked for");
        guest.WaitForSerial(new Regex(@"AB: ORDER=B A .*B_TRIES=2 -> SELECTED=B"), Boot, "GRUB choosing slot B on trial");

        // boot 2: v2 in slot B, committed once healthy
        guest.WaitForReady(Boot);
        Assert.Equal("B", guest.Check("cat /run/berth/slot").Trim());
        Assert.Contains("VERSION_ID=0.2.0", guest.Check("cat /etc/os-release"));
        Assert.Contains("installed 0.2.0 in slot B", guest.Check("cat /var/lib/berth/upgrade-1.log"));
        var status = WaitForStatus(guest, SlotLine('B', "0.2.0", true, "OK=1 TRIES=0 committed"), TimeSpan.FromSeconds(90));
        Assert.Matches(new Regex(SlotLine('A', "0.1.0", false, "OK=1 TRIES=0 committed"), RegexOptions.Multiline), status);
        Assert.Contains("last upgrade: result=committed version=0.2.0 slot=B", status);
        Assert.Equal(token, guest.Check("cat /var/lib/berth/token").Trim());

        // v2 -> v3 over http, back into slot A
        // netconf's DHCP lease (QEMU's 10.0.2.15) carries the guestfwd traffic.
        guest.Check("for i in $(seq 300); do ip -4 addr show eth0 | grep -q 'inet 10.0.2.15/' && exit 0; sleep 0.2; done; ip addr; exit 1",
            TimeSpan.FromSeconds(90));
        guest.Fire("berth os upgrade --no-progress http://10.0.2.100:8080/" + Path.GetFileName(v3) + " > /var/lib/berth/upgrade-2.log 2>&1");
        guest.WaitForSerial(new Regex("SIGTERM: reboot"), TimeSpan.FromSeconds(180), "the reboot after the http upgrade");
        guest.WaitForReady(Boot);
        Assert.Equal("A", guest.Check("cat /run/berth/slot").Trim());
        Assert.Contains("VERSION_ID=0.3.0", guest.Check("cat /etc/os-release"));
        Assert.Equal(1, server.Requests); // one download: the image checked is held and written from memory
        status = WaitForStatus(guest, SlotLine('A', "0.3.0", true, "OK=1 TRIES=0 committed"), TimeSpan.FromSeconds(90));
        Assert.Matches(new Regex(SlotLine('B', "0.2.0", false, "committed"), RegexOptions.Multiline), status);
        Assert.Equal(token, guest.Check("cat /var/lib/berth/token").Trim());

        // a downgrade needs --force; a rollback to the committed v2 is one grubenv write
        var down = guest.Run("berth os upgrade --no-reboot /dev/vdg", TimeSpan.FromSeconds(60));
        Assert.Equal(1, down.ExitCode);
        Assert.Contains("older than the running 0.3.0", down.Output);
        Assert.Contains("next boot: slot B", guest.Check("berth os rollback --no-reboot"));
        Assert.Contains("next boot: B (ORDER=B A", Status(guest));
    }

    [Fact]
    public void A_v2_whose_init_cannot_start_falls_back_to_v1_after_its_tries()
    {
        string broken = _bundles.BrokenV2;
        using var guest = new QemuGuest(new GuestOptions { ExtraBootArgs = { "--disk", broken } }).Start();
        guest.WaitForReady(Boot);
        guest.Fire("berth os upgrade --no-progress /dev/vdb > /var/lib/berth/upgrade.log 2>&1");
        guest.WaitForSerial(new Regex("SIGTERM: reboot"), TimeSpan.FromSeconds(180), "the reboot into v2");
        foreach (int tries in new[] { 2, 1, 0 })
        {
            guest.WaitForSerial(new Regex($@"B_TRIES={tries} -> SELECTED=B"), Boot, $"GRUB trying slot B ({tries} tries left)");
            guest.WaitForSerial(new Regex("this init is broken on purpose"), Boot, "the broken init");
        }
        guest.WaitForSerial(new Regex(@"B_OK=0 B_TRIES=0 -> SELECTED=A"), Boot, "GRUB falling back to slot A");
        guest.WaitForReady(Boot);
        Assert.Equal("A", guest.Check("cat /run/berth/slot").Trim());
        Assert.Contains("VERSION_ID=0.1.0", guest.Check("cat /etc/os-release"));
        var status = WaitForStatus(guest, "last upgrade: result=failed", TimeSpan.FromSeconds(60));
        Assert.Contains("slot B (0.2.0) did not boot healthy in 3 tries; back on slot A (0.1.0)", status);
        Assert.Matches(new Regex(@"^slot B: version=0\.2\.0 booted=no OK=0 TRIES=0 bad", RegexOptions.Multiline), status);
        Assert.Contains("next boot: A", status);
    }

    /// <summary>
    /// Kills QEMU at points spread over an upgrade: inside the slot write (timed after it starts)
    /// and exactly between grubenv writes (the CLI's test pause), then boots the same disk again.
    /// Every time: a slot boots to ready, it is the slot the cut point allows, both grubenv copies
    /// load and agree once PID 1 repaired them, and STATE is intact.
    /// </summary>
    [Fact]
    public void Power_cuts_during_the_slot_write_and_the_grubenv_writes_always_boot_a_working_slot()
    {
        string v2 = _bundles.V2;
        using var guest = new QemuGuest(new GuestOptions { ExtraBootArgs = { "--disk", v2 } }).Start();
        guest.WaitForReady(Boot);
        string token = Guid.NewGuid().ToString("N");
        guest.Check($"echo {token} > /var/lib/berth/token && sync");
        var outcomes = new List<string>();

        // (cut point, slot expected to boot next): pause N = before the N-th grubenv write of the
        // upgrade (1, 2: mark the target bad; 3, 4: activate it), "write+ms" = that long into the slot write.
        var cuts = new (string Point, char Expected)[]
        {
            ("write+0", 'A'), ("write+150", 'A'), ("write+300", 'A'), ("write+500", 'A'), ("write+800", 'A'),
            ("pause1", 'A'), ("pause2", 'A'), ("pause3", 'A'), ("pause4", 'B'), ("installed", 'B'),
        };
        foreach (var (point, planned) in cuts)
        {
            char expected = planned;
            char booted = guest.Check("cat /run/berth/slot").Trim()[0];
            char target = AbState.Other(booted);
            // The slot write from memory takes a fraction of a second: a pause after each 4 MiB
            // chunk spreads it so that the timed cuts land inside it.
            string env = point.StartsWith("pause", StringComparison.Ordinal)
                ? $"{PausingEnvCopies.Variable}={point[5..]} " : $"{SlotWriter.PauseVariable}=100 ";
            guest.Fire($"{env}berth os upgrade --force --no-reboot --no-progress /dev/vdb > /dev/console 2>&1");
            if (point.StartsWith("write+", StringComparison.Ordinal))
            {
                guest.WaitForSerial(new Regex($@"writing \d+ bytes to slot {target}"), TimeSpan.FromSeconds(120), "the slot write");
                Thread.Sleep(int.Parse(point[6..]));
            }
            else if (point == "installed")
                guest.WaitForSerial(new Regex($@"installed 0\.2\.0 in slot {target}"), TimeSpan.FromSeconds(120), "the activation");
            else
                guest.WaitForSerial(new Regex($@"paused before grubenv write {point[5..]}"), TimeSpan.FromSeconds(120), point);
            guest.PowerCut();
            // On a fast day the whole upgrade fits in a timed cut's delay: then it was activated
            // (the CLI says so right after the activating write) and the target must boot.
            bool activated = guest.SerialLog.Contains($"installed 0.2.0 in slot {target}", StringComparison.Ordinal);
            if (activated) expected = 'B';

            guest.Restart();
            guest.WaitForReady(Boot);
            char now = guest.Check("cat /run/berth/slot").Trim()[0];
            char want = expected == 'A' ? booted : target; // 'A' = the slot that ran the upgrade, 'B' = its target
            outcomes.Add($"{point}: {booted}->{now}{(activated && point.StartsWith("write+", StringComparison.Ordinal) ? " (upgrade had finished)" : "")}");
            Assert.True(now == want, $"after a cut at {point} slot {now} booted, expected {want}; so far: {string.Join(", ", outcomes)}");
            var status = WaitForStatus(guest, "copies agree", TimeSpan.FromSeconds(30));
            Assert.DoesNotContain("invalid", status);
            Assert.Equal(token, guest.Check("cat /var/lib/berth/token").Trim());
            if (now == target)
                WaitForStatus(guest, SlotLine(now, "0.2.0", true, "committed"), TimeSpan.FromSeconds(90));
            else // the attempt is on record as interrupted, and the target is not bootable
                Assert.Matches(new Regex($@"^slot {target}: .*OK=0 TRIES=0 bad", RegexOptions.Multiline),
                    WaitForStatus(guest, $"result=failed .*interrupted while writing slot {target}", TimeSpan.FromSeconds(30)));
        }
    }
}
