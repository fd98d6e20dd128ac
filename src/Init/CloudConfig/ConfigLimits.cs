namespace Berth.Init.CloudConfig;

/// <summary>Bounds on the work one source may cause, so hostile input cannot stall PID 1.</summary>
public sealed record ConfigLimits
{
    public int MaxBytes { get; init; } = 1 << 20;
    public int MaxDepth { get; init; } = 64;
    /// <summary>Nodes after alias expansion: a billion-laughs file hits this long before memory does.</summary>
    public long MaxExpandedNodes { get; init; } = 100_000;

    public static readonly ConfigLimits Default = new();
}
