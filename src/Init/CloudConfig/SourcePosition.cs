namespace Berth.Init.CloudConfig;

/// <summary>Where a value was written: file (or source name), 1-based line and column.</summary>
public readonly record struct SourcePosition(string File, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}";
}

/// <summary>A value with the place it came from.</summary>
public readonly record struct Located<T>(T Value, SourcePosition Position)
{
    public override string ToString() => $"{Value}";
}

public enum Severity { Warning, Error }

/// <summary>One finding about a source, printed as <c>file:line:column: error: message</c>.</summary>
public sealed record ConfigDiagnostic(Severity Severity, SourcePosition Position, string Message)
{
    public override string ToString() =>
        $"{Position}: {(Severity == Severity.Error ? "error" : "warning")}: {Message}";
}
