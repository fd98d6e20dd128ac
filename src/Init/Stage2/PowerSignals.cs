using System.Runtime.InteropServices;
using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Init.Stage2;

/// <summary>
/// The signals that tell PID 1 to shut down, as sysvinit and busybox init understand them:
/// SIGTERM reboot, SIGUSR2/SIGPWR poweroff, SIGUSR1 halt, SIGINT (Ctrl-Alt-Del once the kernel
/// is told to send it) reboot. Every other terminating signal the runtime would act on is
/// swallowed: PID 1 must never exit.
/// </summary>
public sealed class PowerSignals
{
    private readonly List<PosixSignalRegistration> _registrations = new();
    private readonly Action<PowerAction, string> _onRequest;

    public PowerSignals(Action<PowerAction, string> onRequest) => _onRequest = onRequest;

    public void Register()
    {
        // The runtime's own names where it has them (it gives those default handling); raw numbers otherwise.
        Handle(PosixSignal.SIGTERM, PowerAction.Reboot, "SIGTERM");
        Handle(PosixSignal.SIGINT, PowerAction.Reboot, "Ctrl-Alt-Del (SIGINT)");
        Handle((PosixSignal)SIGUSR2, PowerAction.PowerOff, "SIGUSR2");
        Handle((PosixSignal)SIGPWR, PowerAction.PowerOff, "SIGPWR");
        Handle((PosixSignal)SIGUSR1, PowerAction.Halt, "SIGUSR1");
        Ignore(PosixSignal.SIGQUIT);
        Ignore(PosixSignal.SIGHUP);
        try { SystemControl.DisableCtrlAltDelReboot(); }
        catch (SyscallException e) { BootLog.Warn($"Ctrl-Alt-Del stays a hard reboot: {e.Message}"); }
    }

    private void Handle(PosixSignal signal, PowerAction action, string name) =>
        _registrations.Add(PosixSignalRegistration.Create(signal, ctx =>
        {
            ctx.Cancel = true;
            _onRequest(action, name);
        }));

    private void Ignore(PosixSignal signal) =>
        _registrations.Add(PosixSignalRegistration.Create(signal, ctx => ctx.Cancel = true));
}
