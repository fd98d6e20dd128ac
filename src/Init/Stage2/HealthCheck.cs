namespace Berth.Init.Stage2;

public enum HealthState { None, Starting, Healthy, Unhealthy }

/// <summary>
/// A service's healthcheck, as compose has it: a command run in the service (inside its container
/// for a container service) every <see cref="Interval"/>; exit 0 is healthy. Failures during
/// <see cref="StartPeriod"/> do not count; <see cref="Retries"/> failures in a row make it unhealthy.
/// </summary>
public sealed record HealthCheck
{
    public required IReadOnlyList<string> Command { get; init; }
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);
    public int Retries { get; init; } = 3;
    public TimeSpan StartPeriod { get; init; } = TimeSpan.Zero;
}
