using System.Globalization;
using Berth.Init.CloudConfig;
using Berth.Runtime.Kernel;
using Berth.Runtime.Linux;
using Berth.SystemServices.Console;

namespace Berth.Init.Stage2;

/// <summary>
/// Stage 2 runs as /sbin/init on the real root: it finishes the mounts, sets up cgroups, the
/// hostname and loopback, starts the services, prints the ready line, and then supervises until
/// a power signal starts the orderly shutdown.
/// </summary>
public sealed class Stage2Boot
{
    private readonly BootTimeline _timeline = new(stage: 2);
    private readonly ChildReaper _reaper;
    private readonly ServiceSupervisor _supervisor;
    private readonly ManualResetEventSlim _shutdownRequested = new();
    private PowerAction _action = PowerAction.Reboot;
    private string _reason = "";
    private KernelCommandLine _cmdline = new("");
    private readonly CloudConfigBoot _cloudConfig;

    public Stage2Boot(ChildReaper reaper)
    {
        _reaper = reaper;
        _supervisor = new ServiceSupervisor(reaper);
        _cloudConfig = new CloudConfigBoot(reaper, timeline: _timeline);
    }

    /// <summary>The merged cloud-config of this boot; its <c>Services</c> are for the supervisor.</summary>
    public CloudConfigBoot CloudConfig => _cloudConfig;

    public void RequestShutdown(PowerAction action, string reason)
    {
        lock (_shutdownRequested)
        {
            if (_shutdownRequested.IsSet) return;
            _action = action;
            _reason = reason;
            _shutdownRequested.Set();
        }
    }

    public void Run(double startMs)
    {
        ConsoleStdio.Ensure();
        BootLog.AttachKernelLog();
        _cmdline = KernelCommandLine.FromProc();
        BootLog.Quiet = !_cmdline.Flag("berth.debug");
        var warnings = new List<string>();
        Action<string> warn = BootLog.Warn;

        if (File.Exists(BootTimeline.Stage1HandoffPath))
            foreach (var step in BootTimeline.ParseHandoff(File.ReadAllText(BootTimeline.Stage1HandoffPath)))
                _timeline.Add(step);
        _timeline.Record("exec-stage2", _timeline.Steps.Count > 0 ? _timeline.Steps.Max(s => s.StartMs + s.DurationMs) : startMs,
            startMs - (_timeline.Steps.Count > 0 ? _timeline.Steps.Max(s => s.StartMs + s.DurationMs) : startMs));
        BootLog.Info($"stage 2 ({BerthVersion.Current}) at {startMs / 1000:F3}s");

        PowerRequests.RouteTo(RequestShutdown);
        _reaper.Start();

        if (_cmdline.Get("berth.emergency") == "stage2")
            throw new EmergencyRequestedException("berth.emergency=stage2 on the kernel command line");

        _timeline.Step("mount-pseudo", () => PseudoFilesystems.MountRest(warn));
        _timeline.Step("cgroups", () => CgroupSetup.EnableControllers(warn));
        _timeline.Step("cloud-config", () => _cloudConfig.Load(cmdlineText: null));
        _timeline.Step("hostname", SetHostname);
        _timeline.Step("cloud-config-apply", _cloudConfig.ApplyEarly);
        _timeline.Step("loopback", () =>
        {
            try { NetworkInterfaces.SetUp("lo"); }
            catch (SyscallException e) { warn($"loopback: {e.Message}"); }
        });
        if (_cloudConfig.Config.Model.BootCmd.Count > 0) _timeline.Step("bootcmd", _cloudConfig.RunBootCmd);
        _timeline.Step("start-services", StartServices);
        _timeline.Step("api", () =>
        {
            try { new Api.ApiServer(_supervisor, RequestShutdown, applyConfig: ApplyConfig).Start(); }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException) { warn($"API socket: {e.Message}"); }
        });

        _timeline.Step("services-settled", () =>
        {
            var pending = _supervisor.WaitUntilSettled(TimeSpan.FromSeconds(_cmdline.GetInt("berth.services_timeout", 60)));
            if (pending.Count > 0) warn($"not ready in time, going on without them: {string.Join(", ", pending)}");
        });

        double readyMs = BootTimeline.NowMs;
        _timeline.Record("ready", readyMs, 0);
        ReportReady(readyMs);
        _timeline.Step("console", StartConsole);
        _cloudConfig.RunOncePerInstanceInBackground();
        StartBootCommit();
        new Thread(ReleaseBootMemory) { IsBackground = true, Name = "release boot memory" }.Start();

        switch (_cmdline.Get("berth.on_ready"))
        {
            case "poweroff": RequestShutdown(PowerAction.PowerOff, "berth.on_ready=poweroff"); break;
            case "reboot": RequestShutdown(PowerAction.Reboot, "berth.on_ready=reboot"); break;
            case "halt": RequestShutdown(PowerAction.Halt, "berth.on_ready=halt"); break;
            case null: break;
            case var other: warn($"berth.on_ready={other} is not poweroff, reboot or halt; ignored"); break;
        }

        _shutdownRequested.Wait();
        var grace = TimeSpan.FromSeconds(_cmdline.GetInt("berth.shutdown_grace", 5));
        new ShutdownSequencer(_supervisor, grace).Run(_action, _reason);
    }

    /// <summary>A/B: commit this slot once the boot is healthy, or give it up so GRUB falls back.</summary>
    private void StartBootCommit()
    {
        if (_cmdline.Get("berth.slot") is not ({ Length: 1 } slot and ("A" or "B"))) return;
        var health = new Upgrade.SupervisorBootHealth(_supervisor, TimeSpan.FromSeconds(_cmdline.GetInt("berth.health_settle", 5)));
        Upgrade.BootCommitter.StartInBackground(new Upgrade.BootCommitter(
            () => Upgrade.EspEnvCopies.OpenSystem(writable: true),
            slot[0], Upgrade.OsRelease.VersionId("/etc/os-release") ?? "unknown", health,
            TimeSpan.FromSeconds(_cmdline.GetInt("berth.health_timeout", 120)),
            reason => RequestShutdown(PowerAction.Reboot, reason), BootLog.Info, BootLog.Warn));
    }

    private void SetHostname()
    {
        // cloud-config's hostname already has berth.hostname from the kernel command line on top.
        string? name = _cloudConfig.Config.Model.Hostname?.Value ?? _cmdline.Get("berth.hostname");
        if (string.IsNullOrEmpty(name) && File.Exists("/etc/hostname")) name = File.ReadAllText("/etc/hostname").Trim();
        if (string.IsNullOrEmpty(name)) name = "berth";
        try
        {
            SystemControl.SetHostname(name);
            File.WriteAllText("/etc/hostname", name + "\n");
        }
        catch (Exception e) when (e is SyscallException or IOException) { BootLog.Warn($"hostname: {e.Message}"); }
    }

    /// <summary>The system services as config changes them, then the user services config declares.</summary>
    private List<ServiceDefinition> ConfiguredServiceList()
    {
        var catalog = _cloudConfig.Services;
        var services = new List<ServiceDefinition>(SystemServiceSet.Definitions(["pool.ntp.org"], BootLog.Warn, catalog, BootLog.Notice, _cloudConfig.Config.Model.Ssh));
        services.AddRange(ConfiguredServices.UserServices(catalog, SystemServiceSet.Names.ToHashSet(), _cloudConfig.Config.Merged));
        return ConfiguredServices.WithoutDisabledDependencies(services, catalog, BootLog.Notice);
    }

    /// <summary>`berth config apply`: the config read again; only the services whose definition changed are restarted.</summary>
    private Api.AppliedConfig ApplyConfig()
    {
        lock (_applyGate)
        {
            var findings = _cloudConfig.Reload();
            var report = _supervisor.Apply(ConfiguredServiceList(), TimeSpan.FromSeconds(10));
            BootLog.Notice($"config apply: added [{string.Join(' ', report.Added)}] removed [{string.Join(' ', report.Removed)}] restarted [{string.Join(' ', report.Restarted)}]");
            return new Api.AppliedConfig(report.Added, report.Removed, report.Restarted, report.Unchanged, findings);
        }
    }

    private readonly object _applyGate = new();

    private void StartServices()
    {
        // devmgr binds it (firmware an operator adds goes there): a bind needs its source.
        try { Files.MakeDirectories(SystemServices.DeviceManager.FirmwareLoader.ExtraDirectory, 0x1ed); }
        catch (Exception e) when (e is IOException or Runtime.Linux.SyscallException or UnauthorizedAccessException)
        {
            BootLog.Warn($"cannot make {SystemServices.DeviceManager.FirmwareLoader.ExtraDirectory}: {e.Message}");
        }
        try
        {
            _supervisor.StartAll(ConfiguredServiceList());
        }
        catch (Exception e) when (e is IOException or Runtime.Linux.SyscallException or UnauthorizedAccessException)
        {
            BootLog.Error($"system services: {e.Message}");
        }

        // Drivers for the devices stage 1 left alone (network, console ports, rng) load off the
        // boot path; the agent port, when the host attached one, follows virtio_console. devmgr loads drivers
        // by modalias too, but only after its replay: loading them here at once, in parallel with
        // it, is what keeps devmgr's settle short (measured in the guest: settle 7.4-7.8 s without this vs 3.5-5.7 s with it, under TCG)
        // and a module loaded twice is a cheap EEXIST.
        _coldplug = new Thread(ColdplugRemainingDevices) { IsBackground = true, Name = "coldplug" };
        _coldplug.Start();
        // The agent port comes with virtio_console, which coldplug loads among its first: no waiting for ahci and the rest.
        if (AgentPort.VirtioSerialPresent())
            new Thread(() =>
            {
                if (AgentPort.WaitFor(TimeSpan.FromSeconds(30)) is { } device) _supervisor.Start(AgentPort.Service(device));
            }) { IsBackground = true, Name = "agent port" }.Start();
    }

    /// <summary>
    /// The login console comes last, after the ready line: its prompt then means the machine is
    /// ready, and getty's output cannot run into the ready line on the serial console.
    /// </summary>
    private void StartConsole()
    {
        if (_cloudConfig.Services.Get("console") is { Enabled: false } off)
        {
            BootLog.Info($"service console is turned off by cloud-config ({off.Positions.GetValueOrDefault("enabled", off.Position)})");
            return;
        }
        var (consoleTty, baud) = LoginConsole.ChooseTty(_cmdline.Consoles(), _cmdline.Get("berth.console") ?? _cloudConfig.Config.Model.Console.Tty);
        string? autologin = _cloudConfig.Config.Model.Console.Autologin;
        foreach (var tty in LoginConsole.LoginTtys(consoleTty, File.Exists))
        {
            string name = LoginConsole.ServiceName(tty, consoleTty);
            // A virtual terminal runs at whatever speed; getty only needs a number.
            string ttyBaud = tty == consoleTty ? baud : "38400";
            if (!File.Exists("/dev/" + tty)) BootLog.Warn($"console tty /dev/{tty} does not exist; no login console");
            else if (ConsoleBundle.For(tty, ttyBaud, autologin, name) is var console && Directory.Exists(console.Rootfs))
                _supervisor.Start(new ServiceDefinition { Name = name, Bundle = console.Write(), CaptureOutput = false,
                    Log = new ServiceLog(name) });
            else
            {
                // An image without the service bundles (an old or hand-made root): a plain getty still lets a person in.
                BootLog.Warn($"{console.Rootfs} is missing: {name} runs as a plain process");
                _supervisor.Start(new ServiceDefinition { Name = name, Spec = LoginConsole.Getty(tty, ttyBaud, autologin) });
            }
        }
    }

    private void ColdplugRemainingDevices()
    {
        var errors = new List<string>();
        double start = BootTimeline.NowMs;
        try
        {
            var loaded = Coldplug.Load(ModuleLoader.ForRunningKernel(), Coldplug.ServicesFirst(Coldplug.Devices()), errors);
            BootLog.Info($"coldplug loaded: {string.Join(' ', loaded)}");
        }
        catch (Exception e) { BootLog.Warn($"coldplug: {e.Message}"); }
        foreach (var e in errors) BootLog.Info($"coldplug: {e}");
        _timeline.Record("coldplug-modules", start, BootTimeline.NowMs - start);
        WriteTimeline();
    }

    private void ReportReady(double readyMs)
    {
        _readyMs = readyMs;
        _readyServices = _supervisor.Count;
        string line = string.Create(CultureInfo.InvariantCulture, $"berth ready uptime={readyMs / 1000:F3} services={_readyServices}");
        BootLog.ConsoleOnly(line);
        BootLog.KmsgOnly(5, line);
        WriteTimeline();
    }

    private Thread? _coldplug;

    /// <summary>
    /// Boot runs code PID 1 never runs again (cloud-config, bundle writers, coldplug): once ready and
    /// coldplug are behind it, PID 1 gives those pages back (RSS 7.4-7.7 -> 5.7-6.7 MiB in three boots
    /// under TCG). No forced collection and no small gen0 budget: with GCs that frequent, CI saw PID 1's
    /// API stop answering once and STATE left unclean by a reboot once, causes not yet found.
    /// </summary>
    private void ReleaseBootMemory()
    {
        _coldplug?.Join(TimeSpan.FromSeconds(60));
        BootLog.Info(BootCodePageOut.Run());
    }

    private double _readyMs;
    private int _readyServices;

    /// <summary>Writes the timeline once ready, and again when background steps finish.</summary>
    private void WriteTimeline()
    {
        lock (_timeline)
        {
            if (_readyMs == 0) return;
            try
            {
                Files.MakeDirectories("/run/berth");
                Files.WriteAtomically(BootTimeline.JsonPath, _timeline.ToJson(_readyMs, _readyServices, _supervisor.StartTimes()));
            }
            catch (Exception e) { BootLog.Warn($"boot timeline: {e.Message}"); }
        }
    }
}
