using Berth.Runtime.Linux;

namespace Berth.SystemServices.DeviceManager;

/// <summary>
/// What devmgr does with one event, in udev's order: firmware a driver asked for, the driver
/// (its devices bring their own events), then the node, then the links, which need the node to
/// probe the device.
/// </summary>
public sealed class UeventHandler(ModuleAutoloader? modules, DeviceNodes nodes, DiskLinks links, bool verbose, FirmwareLoader? firmware = null)
{
    public int Handled { get; private set; }
    public int ModulesLoaded { get; private set; }

    public void Handle(Uevent e)
    {
        Handled++;
        try
        {
            if (firmware?.Handle(e) is { } answered) ServiceLog.Info(answered);
            if (modules is not null && e.Action == "add" && e.ModAlias is { } alias)
            {
                var errors = new List<string>();
                var loaded = modules.Load(alias, errors);
                ModulesLoaded += loaded.Count;
                if (loaded.Count > 0 && verbose) ServiceLog.Info($"{e.DevPath}: loaded {string.Join(' ', loaded)}");
                foreach (var error in errors) ServiceLog.Warn(error);
            }
            if (nodes.Apply(e) is { } did && verbose) ServiceLog.Info(did);
            foreach (var change in links.Apply(e)) ServiceLog.Info(change);
        }
        catch (Exception x) when (x is SyscallException or IOException or UnauthorizedAccessException)
        {
            // One device's trouble must not stop the others' events.
            ServiceLog.Warn($"{e.Action} {e.DevPath}: {x.Message}");
        }
    }
}
