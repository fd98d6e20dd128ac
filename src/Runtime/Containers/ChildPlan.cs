namespace Berth.Runtime.Containers;

/// <summary>
/// The steps a container child will run, compiled in the parent before clone3, each with the
/// sentence the parent puts in its error when that step fails ("mount proc on /proc ($.mounts[0])").
/// </summary>
internal sealed unsafe class ChildPlan : IDisposable
{
    private readonly List<ChildOp> _ops = [];
    private readonly List<string> _descriptions = [];
    private ChildOp* _sealed;

    public NativeArena Arena { get; } = new();
    public IReadOnlyList<string> Descriptions => _descriptions;
    public IReadOnlyList<ChildOpCode> Codes => _ops.Select(o => o.Code).ToList();
    public int Count => _ops.Count;

    /// <summary>Adds a step; <paramref name="build"/> fills in its operands.</summary>
    public void Add(ChildOpCode code, string description, Func<ChildOp, ChildOp>? build = null, ChildOpFlags flags = ChildOpFlags.None)
    {
        if (_sealed != null) throw new InvalidOperationException("the plan is sealed");
        var op = new ChildOp { Code = code, Flags = flags, Fd = -1, Description = Arena.String(description) };
        if (build is not null) op = build(op);
        _ops.Add(op);
        _descriptions.Add(description);
    }

    public ChildOpCode CodeAt(int index) => _ops[index].Code;

    /// <summary>The steps as one native array for the child.</summary>
    public ChildOp* Seal()
    {
        if (_sealed != null) return _sealed;
        _sealed = Arena.Allocate<ChildOp>(_ops.Count);
        for (int i = 0; i < _ops.Count; i++) _sealed[i] = _ops[i];
        return _sealed;
    }

    public void Dispose() => Arena.Dispose();
}
