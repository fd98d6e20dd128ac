using System.Text;

namespace Berth.SystemServices.DeviceManager;

/// <summary>
/// Names of the /dev/disk/by-* links, escaped as udev and blkid escape them
/// (blkid_encode_string): a label "my disk/2" is the link "my\x20disk\x2f2".
/// </summary>
public static class LinkNames
{
    /// <summary>
    /// Letters, digits, "#+-.:=@_" and valid UTF-8 stay; every other byte (space, '/', '\', control
    /// characters, broken UTF-8) becomes \xNN. Null for what cannot be a link name ("", ".", "..").
    /// </summary>
    public static string? Encode(string value)
    {
        if (value.Length == 0) return null;
        var bytes = Encoding.UTF8.GetBytes(value);
        var sb = new StringBuilder(bytes.Length);
        for (int i = 0; i < bytes.Length;)
        {
            byte b = bytes[i];
            if (b >= 0x80)
            {
                int len = Utf8Length(bytes, i);
                if (len > 0)
                {
                    sb.Append(Encoding.UTF8.GetString(bytes, i, len));
                    i += len;
                    continue;
                }
            }
            else if (char.IsAsciiLetterOrDigit((char)b) || "#+-.:=@_".Contains((char)b))
            {
                sb.Append((char)b);
                i++;
                continue;
            }
            sb.Append(@"\x").Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            i++;
        }
        string name = sb.ToString();
        return name is "." or ".." ? null : name;
    }

    /// <summary>The length of the valid UTF-8 sequence at <paramref name="i"/>, 0 when it is not one.</summary>
    private static int Utf8Length(byte[] s, int i)
    {
        byte b = s[i];
        int len = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 && b < 0xE0 ? 2 : 0;
        if (b >= 0xF5) len = 0;
        if (len == 0 || i + len > s.Length) return 0;
        for (int k = 1; k < len; k++)
            if ((s[i + k] & 0xC0) != 0x80) return 0;
        return len;
    }

    /// <summary>The links a volume gets, as paths relative to /dev ("disk/by-label/berth-state").</summary>
    public static IReadOnlyList<string> For(string? label, string? uuid, string? partLabel)
    {
        var links = new List<string>();
        if (label is not null && Encode(label) is { } l) links.Add("disk/by-label/" + l);
        if (uuid is not null && Encode(uuid) is { } u) links.Add("disk/by-uuid/" + u);
        if (partLabel is not null && Encode(partLabel) is { } p) links.Add("disk/by-partlabel/" + p);
        return links;
    }

    /// <summary>
    /// The by-path and by-id names of a virtio disk or partition, as udev's persistent-storage
    /// rules make them: by-path "pci-DOMAIN:BUS:SLOT.FN" of the virtio device's PCI function (so a
    /// disk keeps its name as long as it stays in its slot), by-id "virtio-SERIAL" when the disk
    /// has a serial (QEMU's serial=); partition N adds "-partN". NVMe: <see cref="ForNvme"/>.
    /// </summary>
    public static IReadOnlyList<string> ForHardware(string devPath, string? serial, int? partition)
    {
        var links = new List<string>();
        if (PciFunctionOfVirtio(devPath) is not { } pci) return links;
        string suffix = partition is { } n ? $"-part{n}" : "";
        links.Add($"disk/by-path/pci-{pci}{suffix}");
        if (serial is not null && SerialId(serial) is { } id) links.Add($"disk/by-id/virtio-{id}{suffix}");
        return links;
    }

    /// <summary>
    /// The by-path and by-id names of an NVMe namespace or partition, as udev's rules make them:
    /// by-path "pci-FUNCTION-nvme-NSID", by-id "nvme-MODEL_SERIAL" (the controller's model and
    /// serial) and "nvme-WWID" (the namespace's wwid, "eui.…" or "nvme.…"); "-partN" for partitions.
    /// </summary>
    public static IReadOnlyList<string> ForNvme(string devPath, string? model, string? serial, string? wwid, int? nsid, int? partition)
    {
        var links = new List<string>();
        if (PciFunctionOfNvme(devPath) is not { } pci) return links;
        string suffix = partition is { } n ? $"-part{n}" : "";
        if (nsid is { } ns) links.Add($"disk/by-path/pci-{pci}-nvme-{ns}{suffix}");
        if (model is not null && serial is not null && SerialId(model) is { } m && SerialId(serial) is { } s)
            links.Add($"disk/by-id/nvme-{m}_{s}{suffix}");
        if (wwid is not null && SerialId(wwid) is { } w) links.Add($"disk/by-id/nvme-{w}{suffix}");
        return links;
    }

    /// <summary>"0000:01:00.0" in /devices/pci0000:00/0000:00:02.0/0000:01:00.0/nvme/nvme0/nvme0n1[/nvme0n1p1]; null otherwise.</summary>
    public static string? PciFunctionOfNvme(string devPath)
    {
        var parts = devPath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        int nvme = Array.IndexOf(parts, "nvme");
        return nvme > 0 && nvme + 2 < parts.Length && IsPciAddress(parts[nvme - 1])
               && parts[nvme + 1].StartsWith("nvme", StringComparison.Ordinal) ? parts[nvme - 1] : null;
    }

    /// <summary>The controller's part of an NVMe namespace's devpath (…/nvme/nvme0), where model and serial are.</summary>
    public static string? NvmeControllerPath(string devPath)
    {
        int at = devPath.IndexOf("/nvme/nvme", StringComparison.Ordinal);
        if (at < 0) return null;
        int end = devPath.IndexOf('/', at + "/nvme/".Length);
        return end < 0 ? null : devPath[..end];
    }

    /// <summary>"0000:01:00.0" in /devices/pci0000:00/0000:00:1c.0/0000:01:00.0/virtio3/block/vdb; null when the device is not on a virtio device on PCI.</summary>
    public static string? PciFunctionOfVirtio(string devPath)
    {
        var parts = devPath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        int virtio = Array.FindIndex(parts, p => p.Length > 6 && p.StartsWith("virtio", StringComparison.Ordinal) && p[6..].All(char.IsAsciiDigit));
        return virtio > 0 && IsPciAddress(parts[virtio - 1]) ? parts[virtio - 1] : null;
    }

    private static bool IsPciAddress(string s) =>
        s.Length == 12 && s[4] == ':' && s[7] == ':' && s[10] == '.'
        && s.Where((c, i) => i is not (4 or 7 or 10)).All(char.IsAsciiHexDigit);

    /// <summary>
    /// A serial as udev's ID_SERIAL: surrounding blanks dropped, each run of blanks inside one '_',
    /// anything but letters, digits and "#+-.:=@_" replaced by '_'; null when nothing is left.
    /// </summary>
    public static string? SerialId(string serial)
    {
        var words = serial.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0) return null;
        var chars = string.Join('_', words).Select(c => char.IsAsciiLetterOrDigit(c) || "#+-.:=@_".Contains(c) ? c : '_');
        return string.Concat(chars);
    }
}
