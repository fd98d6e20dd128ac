using Berth.Runtime.Kernel;
using Berth.Runtime.Linux;

namespace Berth.Init.Stage1;

/// <summary>
/// The drivers stage 1 loads to reach the root: virtio first; every other disk controller's
/// driver only when the root is not on a virtio disk (loading ahci/libata for a controller with
/// no disk costs seconds under emulation).
/// </summary>
public sealed class DiskDrivers(ModuleLoader loader)
{
    private readonly List<string> _errors = new();
    private bool _allLoaded;

    public ModuleLoader Loader => loader;
    public bool HasVirtioStorage { get; private set; }

    public void LoadVirtio()
    {
        var virtioPci = Coldplug.Devices("/sys/bus", "pci").Where(Coldplug.IsVirtioPci).ToList();
        Coldplug.Load(loader, virtioPci, _errors);
        // virtio_pci registers the virtio bus devices; their drivers (blk, scsi) match on it.
        // Only the disk drivers are in the initramfs, so the rest match nothing here.
        var virtio = Coldplug.Devices("/sys/bus", "virtio").ToList();
        HasVirtioStorage = virtio.Any(d => d.ModAlias.StartsWith("virtio:d00000002v", StringComparison.Ordinal)
            || d.ModAlias.StartsWith("virtio:d00000008v", StringComparison.Ordinal));
        Coldplug.Load(loader, virtio, _errors);
        Report();
    }

    /// <summary>Loads the drivers of every PCI storage controller present; false if it had been done.</summary>
    public bool LoadAllStorage()
    {
        if (_allLoaded) return false;
        _allLoaded = true;
        BootLog.Info("root not on a virtio disk: loading every disk controller driver");
        Coldplug.Load(loader, Coldplug.Devices("/sys/bus", "pci").Where(Coldplug.IsPciStorage), _errors);
        foreach (var name in new[] { "sd_mod", "nvme" })
        {
            try { loader.Load(name); }
            catch (Exception e) when (e is ModuleNotFoundException or SyscallException) { _errors.Add(e.Message); }
        }
        Report();
        return true;
    }

    /// <summary>Loads a module the boot cannot go on without; its absence is a named boot failure.</summary>
    public void LoadRequired(string name)
    {
        try { loader.Load(name); }
        catch (ModuleNotFoundException e) { throw new BootFailureException(e.Message); }
        catch (SyscallException e) { throw new BootFailureException($"cannot load kernel module '{name}': {e.Message}"); }
    }

    private void Report()
    {
        foreach (var e in _errors) BootLog.Warn($"driver: {e}");
        _errors.Clear();
    }
}
