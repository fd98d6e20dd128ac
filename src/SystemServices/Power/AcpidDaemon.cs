using System.Diagnostics;
using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.SystemServices.Power;

/// <summary>
/// acpid: one thread per power-button event device, reading input events; a press asks PID 1 for an
/// orderly poweroff with a signal (SIGUSR2, what busybox poweroff sends). Devices that are absent at
/// start (the ACPI button module not loaded yet, /dev not populated) or that go away are looked for
/// again every <see cref="AcpidOptions.Rescan"/>.
/// </summary>
public sealed class AcpidDaemon
{
    /// <summary>A bouncing contact or an impatient second press must not send a second request.</summary>
    private static readonly TimeSpan RequestHoldOff = TimeSpan.FromSeconds(2);

    private readonly AcpidOptions _options;
    private readonly HashSet<string> _watching = new(StringComparer.Ordinal);
    private readonly object _requestLock = new();
    private long _lastRequest = long.MinValue;

    public AcpidDaemon(AcpidOptions options) => _options = options;

    public int Run(ServiceShutdown shutdown)
    {
        var finder = new PowerButtonFinder(_options.SysfsInput, _options.ProcDevices, _options.DevInput);
        bool reportedNone = false;
        while (!shutdown.Requested)
        {
            var devices = _options.Devices.Count > 0 ? _options.Devices : finder.Find();
            if (devices.Count == 0 && !reportedNone)
            {
                ServiceLog.Warn($"no \"{PowerButtonFinder.DeviceName}\" input device yet (looked in {_options.SysfsInput} and {_options.ProcDevices}); looking again every {_options.Rescan.TotalSeconds:0.#}s");
                reportedNone = true;
                if (_options.Netlink) StartNetlink();
            }
            foreach (var device in devices)
            {
                lock (_watching)
                    if (!_watching.Add(device)) continue;
                new Thread(() => Watch(device)) { Name = "acpid-" + Path.GetFileName(device), IsBackground = true }.Start();
            }
            if (shutdown.Token.WaitHandle.WaitOne(_options.Rescan)) break;
        }
        return 0;
    }

    /// <summary>
    /// The ACPI button driver also multicasts its events on generic netlink: the way in when there is
    /// no input device for it. Both may report one press; the hold-off makes it one request.
    /// </summary>
    private void StartNetlink()
    {
        GenericNetlink netlink;
        try { netlink = GenericNetlink.Subscribe(AcpiNetlinkEvent.Family, AcpiNetlinkEvent.Group); }
        catch (IOException e)
        {
            ServiceLog.Warn($"no ACPI netlink events either: {e.Message}");
            return;
        }
        ServiceLog.Info($"listening for ACPI netlink events ({AcpiNetlinkEvent.Family}/{AcpiNetlinkEvent.Group})");
        new Thread(() =>
        {
            using (netlink)
            {
                var buffer = BlockingReadBuffer.Allocate(8192);
                try
                {
                    while (true)
                    {
                        int n = netlink.Receive(buffer);
                        foreach (var e in AcpiNetlinkEvent.Parse(buffer.AsSpan(0, n), netlink.FamilyId))
                            if (e.IsPowerButton) RequestPoweroff($"ACPI {e.DeviceClass} {e.BusId}");
                    }
                }
                catch (IOException e) { ServiceLog.Warn($"ACPI netlink events: {e.Message}"); }
            }
        }) { Name = "acpid-netlink", IsBackground = true }.Start();
    }

    private void Watch(string device)
    {
        try
        {
            using var fd = FileDescriptor.Open(device, O_RDONLY);
            ServiceLog.Info($"watching {device} for the power button");
            var pending = new List<byte>(InputEvent.Size);
            var buffer = BlockingReadBuffer.Allocate(InputEvent.Size * 16);
            while (true)
            {
                int n = fd.Read(buffer);
                if (n == 0)
                {
                    ServiceLog.Warn($"{device}: end of events");
                    return;
                }
                foreach (var e in InputEvent.Split(pending, buffer.AsSpan(0, n)))
                    if (e.IsPowerPress) RequestPoweroff(device);
            }
        }
        catch (IOException e) { ServiceLog.Warn($"{device}: {e.Message}"); }
        finally
        {
            lock (_watching) _watching.Remove(device);
        }
    }

    private void RequestPoweroff(string device)
    {
        lock (_requestLock)
        {
            long now = Stopwatch.GetTimestamp();
            if (_lastRequest != long.MinValue && Stopwatch.GetElapsedTime(_lastRequest, now) < RequestHoldOff) return;
            _lastRequest = now;
        }
        ServiceLog.Info($"power button pressed ({device}): asking PID {_options.TargetPid} for a poweroff (signal {_options.Signal})");
        try
        {
            if (!SystemControl.Kill(_options.TargetPid, _options.Signal))
                ServiceLog.Error($"PID {_options.TargetPid} does not exist");
        }
        catch (SyscallException e) { ServiceLog.Error(e.Message); }
    }
}
