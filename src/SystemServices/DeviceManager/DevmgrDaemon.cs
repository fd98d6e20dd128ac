using System.Diagnostics;
using System.Globalization;
using Berth.Runtime.Kernel;
using Berth.Runtime.Linux;
using Berth.Runtime.Storage;

namespace Berth.SystemServices.DeviceManager;

/// <summary>
/// devmgr, udev's job: listen first, then coldplug (every present device's add event replayed by
/// the kernel), handle events until the kernel's sequence number at the end of the replay has come
/// by and the stream is quiet, make the settled file, and go on with hotplug until SIGTERM. Lost
/// events (a full socket queue) or a silent kernel are made up for by reading sysfs.
/// </summary>
public sealed class DevmgrDaemon(DevmgrOptions options)
{
    /// <summary>Drivers loaded for coldplug's devices add their own devices: settled waits for a quiet stream, not only the sequence number.</summary>
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(100);

    private readonly SysfsDevices _sysfs = new(options.Sys);
    private readonly byte[] _buffer = BlockingReadBuffer.Allocate(64 * 1024);

    public int Run(ServiceShutdown shutdown)
    {
        var clock = Stopwatch.StartNew();
        TryDelete(options.Settled); // a restarted devmgr has not settled yet
        var handler = new UeventHandler(OpenModules(), new DeviceNodes(options.Dev),
            new DiskLinks(options.Dev, FilesystemProbe.ProbeVolume, options.Sys), options.Verbose, OpenFirmware());
        NetlinkSocket socket;
        try { socket = NetlinkSocket.KobjectUevents(); }
        catch (SyscallException e)
        {
            ServiceLog.Error($"cannot listen for uevents: {e.Message}");
            return 1;
        }
        using (socket)
        {
            int triggered = options.Coldplug ? _sysfs.Trigger("add", ServiceLog.Warn, options.TriggerAll ? null : SysfsDevices.HasNodeOrDriver) : 0;
            var triggeredAt = clock.Elapsed;
            ulong? target = _sysfs.SequenceNumber();
            bool complete = Settle(socket, handler, target, shutdown, out ulong last);
            if (!complete && !shutdown.Requested)
            {
                ServiceLog.Warn($"coldplug: the events did not all come within {options.SettleTimeout.TotalSeconds:0.#}s (last {last}, kernel {target}): reading sysfs instead");
                Reconcile(handler);
            }
            if (shutdown.Requested) return 0;
            WriteSettled(clock.Elapsed, triggered, handler.Handled);
            ServiceLog.Info(string.Create(CultureInfo.InvariantCulture,
                $"settled in {clock.Elapsed.TotalMilliseconds:F0} ms: {triggered} devices triggered (in {triggeredAt.TotalMilliseconds:F0} ms), {handler.Handled} events, {handler.ModulesLoaded} modules loaded"));
            if (options.Once) return 0;
            while (!shutdown.Requested)
            {
                if (Next(socket, TimeSpan.FromMilliseconds(500), handler) is null) continue;
            }
        }
        return 0;
    }

    /// <summary>Handles events until <paramref name="target"/> has come and nothing more for <see cref="Quiet"/>; false at the timeout.</summary>
    private bool Settle(NetlinkSocket socket, UeventHandler handler, ulong? target, ServiceShutdown shutdown, out ulong last)
    {
        last = 0;
        var deadline = Stopwatch.StartNew();
        while (!shutdown.Requested && deadline.Elapsed < options.SettleTimeout)
        {
            var e = Next(socket, Quiet, handler);
            if (e is { SeqNum: { } seq } && seq > last) last = seq;
            bool reached = target is null || last >= target || !options.Coldplug;
            if (e is null && reached) return true;
        }
        return false;
    }

    /// <summary>One event handled, null when none came in <paramref name="wait"/>; a queue overflow is made up for from sysfs.</summary>
    private Uevent? Next(NetlinkSocket socket, TimeSpan wait, UeventHandler handler)
    {
        int n;
        try { n = socket.Receive(_buffer, wait); }
        catch (SyscallException e) when (e.Errno == NetlinkSocket.ENOBUFS)
        {
            ServiceLog.Warn("uevents were lost (the socket's queue was full): reading sysfs");
            Reconcile(handler);
            return null;
        }
        if (n == 0) return null;
        if (UeventParser.ParseDatagram(_buffer.AsSpan(0, n)) is not { } ev) return null;
        handler.Handle(ev);
        return ev;
    }

    /// <summary>Every present device as if its add event had come: what was lost is made, what is there is left as it is.</summary>
    private void Reconcile(UeventHandler handler)
    {
        foreach (var dir in _sysfs.Enumerate())
            if ((options.TriggerAll || SysfsDevices.HasNodeOrDriver(dir)) && _sysfs.Read(dir) is { } e) handler.Handle(e);
    }

    /// <summary>Firmware from the extra directory and /lib/firmware; the kernel is told of the extra directory first.</summary>
    private FirmwareLoader OpenFirmware()
    {
        string release = PseudoFile.TryRead("/proc/sys/kernel/osrelease")?.Trim() ?? "";
        var loader = new FirmwareLoader(options.Sys, FirmwareLoader.DefaultSearchPath(options.Firmware, release)
            .Where(d => d.Length > 0).ToList());
        if (options.Firmware.Length > 0 && loader.PointKernelAt(options.Firmware) is { } error)
            ServiceLog.Warn($"firmware: {error}");
        return loader;
    }

    private ModuleAutoloader? OpenModules()
    {
        if (!options.LoadModules) return null;
        try { return new ModuleAutoloader(ModuleLoader.ForRunningKernel(options.Modules)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ServiceLog.Warn($"no module loading: {e.Message}");
            return null;
        }
    }

    private void WriteSettled(TimeSpan elapsed, int triggered, int events)
    {
        try
        {
            if (Path.GetDirectoryName(options.Settled) is { Length: > 0 } dir) Files.MakeDirectories(dir);
            Files.WriteAtomically(options.Settled, System.Text.Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
                $"settled_ms={elapsed.TotalMilliseconds:F0}\ntriggered={triggered}\nevents={events}\n")), 0x1a4, durable: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ServiceLog.Error($"cannot write {options.Settled}: {e.Message}");
        }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
