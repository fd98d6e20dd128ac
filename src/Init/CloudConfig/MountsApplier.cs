using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Init.CloudConfig;

/// <summary>One cloud-init <c>mounts</c> entry as mount(2) wants it.</summary>
public sealed record MountRequest(string Device, string MountPoint, string FsType, ulong Flags, string? Data, bool NoFail);

/// <summary>
/// cloud-init's <c>mounts</c> ([device, mount point, type, options, dump, pass]) before services.
/// Devices are paths (no LABEL=/UUID= without udev); a failure is an error unless "nofail".
/// </summary>
public static class MountsApplier
{
    public static MountRequest? Parse(MountEntry entry, out string? error)
    {
        error = null;
        var f = entry.Fields;
        if (f.Count < 2)
        {
            error = "needs at least [device, mount point]";
            return null;
        }
        if (!f[1].StartsWith('/'))
        {
            error = $"mount point \"{f[1]}\" is not absolute";
            return null;
        }
        if (f[0].StartsWith("LABEL=", StringComparison.Ordinal) || f[0].StartsWith("UUID=", StringComparison.Ordinal))
        {
            error = $"\"{f[0]}\": only device paths are supported (no udev)";
            return null;
        }
        ulong flags = 0;
        var data = new List<string>();
        bool noFail = false;
        foreach (var o in (f.Count > 3 ? f[3] : "defaults").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            switch (o)
            {
                case "defaults" or "rw" or "auto" or "noauto" or "_netdev" or "x-systemd.requires=cloud-init.service": break;
                case "ro": flags |= MS_RDONLY; break;
                case "nosuid": flags |= MS_NOSUID; break;
                case "nodev": flags |= MS_NODEV; break;
                case "noexec": flags |= MS_NOEXEC; break;
                case "noatime": flags |= MS_NOATIME; break;
                case "relatime": flags |= MS_RELATIME; break;
                case "bind": flags |= MS_BIND; break;
                case "nofail": noFail = true; break;
                default: data.Add(o); break;
            }
        }
        string type = f.Count > 2 && f[2] is not ("auto" or "") ? f[2] : (flags & MS_BIND) != 0 ? "none" : "";
        if (type.Length == 0)
        {
            error = "needs a filesystem type (no blkid to guess it)";
            return null;
        }
        return new MountRequest(f[0], f[1], type, flags, data.Count > 0 ? string.Join(',', data) : null, noFail);
    }

    public static void Apply(IReadOnlyList<MountEntry> entries, ApplyReport report)
    {
        for (int i = 0; i < entries.Count; i++)
        {
            var request = Parse(entries[i], out var error);
            if (request is null)
            {
                report.Error(entries[i].Position, $"mounts[{i}]: {error}");
                continue;
            }
            try
            {
                Mounts.MountAt(request.Device, request.MountPoint, request.FsType == "none" ? null : request.FsType, request.Flags, request.Data);
            }
            catch (IOException e)
            {
                string message = $"mounts[{i}]: {e.Message}";
                if (request.NoFail) report.Warning(entries[i].Position, message);
                else report.Error(entries[i].Position, message);
            }
        }
    }
}
