using Berth.Runtime.Linux;
using Xunit;

namespace Berth.Tests.Host;

/// <summary>
/// A ChildReaper thread waits in wait4(-1) and so reaps every child of the test process, whoever
/// started it. Tests that use one therefore share a single reaper and run in this non-parallel
/// collection, which xunit runs after all parallel collections: tests elsewhere that wait for their
/// own children (ChildReaper.WaitFor, System.Diagnostics.Process) are finished by then.
/// Nothing outside this collection may start a ChildReaper.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ReaperCollection
{
    public const string Name = "child reaper (reaps every child of the test process)";

    private static readonly Lazy<ChildReaper> Instance = new(() =>
    {
        var r = new ChildReaper();
        r.Start();
        return r;
    });

    public static ChildReaper Reaper => Instance.Value;
}
