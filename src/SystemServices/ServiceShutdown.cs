using System.Runtime.InteropServices;

namespace Berth.SystemServices;

/// <summary>
/// SIGTERM (what the supervisor sends) and SIGINT turn into a cancellation the service's main loop
/// watches, so it can finish what it holds (flush, fsync, unlink its socket) and exit 0.
/// </summary>
public sealed class ServiceShutdown : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly PosixSignalRegistration[] _registrations;

    public ServiceShutdown()
    {
        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
        ];
    }

    public CancellationToken Token => _cts.Token;

    public bool Requested => _cts.IsCancellationRequested;

    /// <summary>Runs when shutdown is requested (to wake a thread blocked somewhere the token cannot reach).</summary>
    public void OnRequest(Action action) => _cts.Token.Register(action);

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        _cts.Cancel();
    }

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _cts.Dispose();
    }
}
