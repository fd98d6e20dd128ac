using Berth.Init.Stage2;
using Berth.Runtime.Linux;

namespace Berth.Init;

/// <summary>
/// Routes power signals to whoever can act on them: stage 2's orderly shutdown once it runs,
/// before that (and in the emergency shell) a plain terminate-sync-unmount-reboot, so that a
/// SIGTERM never falls through to the runtime's default, which would end PID 1.
/// </summary>
public static class PowerRequests
{
    private static Action<PowerAction, string>? _handler;
    private static Action<PowerAction, string>? _fallback;
    private static PowerSignals? _signals;

    public static void Install(ChildReaper reaper)
    {
        _fallback ??= (action, reason) => new Thread(() =>
            new ShutdownSequencer(new ServiceSupervisor(reaper), TimeSpan.FromSeconds(2)).Run(action, reason))
        { Name = "shutdown" }.Start();
        _handler ??= _fallback;
        _signals ??= new PowerSignals((action, reason) => _handler(action, reason));
        _signals.Register();
    }

    public static void RouteTo(Action<PowerAction, string> handler) => _handler = handler;

    /// <summary>Back to the plain shutdown (the emergency shell has no services to stop in order).</summary>
    public static void RouteToFallback() => _handler = _fallback;
}
