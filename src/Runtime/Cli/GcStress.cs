namespace Berth.Runtime.Cli;

/// <summary>
/// For the regression test of the clone/GC hazard (see ChildStartWatch): with
/// BERTH_TEST_GC_STRESS=1 a background thread allocates without pause, so that (with a small gen0
/// budget) GCs begin all the time, as they can in PID 1 while it clones a service.
/// </summary>
internal static class GcStress
{
    public const string Variable = "BERTH_TEST_GC_STRESS";

    public static void StartFromEnvironment()
    {
        if (Environment.GetEnvironmentVariable(Variable) != "1") return;
        for (int t = 0; t < 2; t++)
            new Thread(() =>
            {
                var keep = new object[64];
                for (int i = 0; ; i++) keep[i & 63] = new byte[1024 + (i & 1023)];
            })
            { IsBackground = true, Name = "gc-stress" }.Start();
    }
}
