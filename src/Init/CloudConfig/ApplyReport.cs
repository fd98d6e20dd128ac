namespace Berth.Init.CloudConfig;

/// <summary>Collects what applying the config ran into; the boot prints it, tests read it.</summary>
public sealed class ApplyReport
{
    private readonly List<ConfigDiagnostic> _items = new();
    private readonly Action<ConfigDiagnostic>? _sink;

    public ApplyReport(Action<ConfigDiagnostic>? sink = null) => _sink = sink;

    public IReadOnlyList<ConfigDiagnostic> Items { get { lock (_items) return _items.ToList(); } }

    public void Error(SourcePosition at, string message) => Add(new(Severity.Error, at, message));
    public void Warning(SourcePosition at, string message) => Add(new(Severity.Warning, at, message));

    private void Add(ConfigDiagnostic d)
    {
        lock (_items) _items.Add(d);
        _sink?.Invoke(d);
    }
}
