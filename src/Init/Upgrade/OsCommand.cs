using System.Globalization;
using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Init.Upgrade;

/// <summary>
/// <c>berth os upgrade|status|rollback</c>. Runs in the CLI process as root for now (the API
/// socket to PID 1 comes later); a reboot is asked of PID 1 with SIGTERM.
/// </summary>
public static class OsCommand
{
    private const string Usage = """
        usage: berth os COMMAND

          upgrade [--force] [--no-reboot] [--no-progress] FILE|URL
                       install a signed bundle into the other slot and boot it on trial
          status       both slots: version, booted, committed, tries; next boot; last upgrade
          rollback [--no-reboot]
                       boot the other slot next (it must be committed)
        """;

    public static int Run(string[] args)
    {
        try
        {
            return args.FirstOrDefault() switch
            {
                "upgrade" => Upgrade(args[1..]),
                "status" => Status(),
                "rollback" => Rollback(args[1..]),
                null or "help" or "--help" or "-h" => Help(args.Length == 0 ? 2 : 0),
                var other => Fail($"unknown command 'os {other}'", 2),
            };
        }
        catch (Exception e) when (e is BundleException or GrubEnvironmentException or IOException or UnauthorizedAccessException
                                      or System.Security.Cryptography.CryptographicException)
        {
            return Fail(e.Message, 1);
        }
    }

    private static int Help(int code)
    {
        (code == 0 ? Console.Out : Console.Error).WriteLine(Usage);
        return code;
    }

    private static int Fail(string message, int code)
    {
        Console.Error.WriteLine($"berth os: {message}");
        return code;
    }

    private static int Upgrade(string[] args)
    {
        var commandClock = System.Diagnostics.Stopwatch.StartNew();
        bool force = false, reboot = true;
        bool? progress = null;
        string? location = null;
        foreach (var a in args)
        {
            switch (a)
            {
                case "--force": force = true; break;
                case "--no-reboot": reboot = false; break;
                case "--no-progress": progress = false; break;
                case var s when s.StartsWith('-'): return Fail($"unknown option {s} for upgrade", 2);
                default:
                    if (location is not null) return Fail("upgrade takes one FILE or URL", 2);
                    location = a;
                    break;
            }
        }
        if (location is null) return Fail("upgrade needs a FILE or URL", 2);

        var slots = SlotLayout.ForSystem();
        string running = OsRelease.VersionId("/etc/os-release") ?? "0";
        using var copies = EspEnvCopies.OpenSystem(writable: true);
        var installer = new UpgradeInstaller(slots, new GrubEnvStore(PausingEnvCopies.Wrap(copies)), BundleVerifier.ForSystem(),
            Console.Out, () => running);
        UpgradeInstaller.Result result;
        try
        {
            result = installer.Install(new BundleSource(location), new UpgradeOptions { Force = force, Reboot = reboot, Progress = progress, PauseAfterChunk = SlotWriter.PauseFromEnvironment(),
                CommandClock = commandClock });
        }
        catch (BundleException e) when (!installer.TouchedDisk)
        {
            // refused before the disk was touched: say so in the history too
            UpgradeHistory.TrySave(new UpgradeRecord
            {
                Version = "", FromVersion = running, Slot = AbState.Other(slots.Booted).ToString(), Source = location,
                Result = "refused", Detail = e.Message,
            }, Console.Error.WriteLine);
            throw;
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"upgrade to {result.Version} applied to slot {result.Slot} in {result.Elapsed.TotalSeconds:F2}s"));
        if (reboot) RequestReboot();
        else Console.WriteLine($"reboot to start {result.Version} (slot {result.Slot}, on trial)");
        return 0;
    }

    private static int Rollback(string[] args)
    {
        bool reboot = !args.Contains("--no-reboot");
        if (args.Any(a => a != "--no-reboot")) return Fail($"unknown option for rollback: {args.First(a => a != "--no-reboot")}", 2);
        var slots = SlotLayout.ForSystem();
        char other = AbState.Other(slots.Booted);
        using var copies = EspEnvCopies.OpenSystem(writable: true);
        var store = new GrubEnvStore(copies);
        var state = store.Load().State;
        if (!state[other].Ok)
            return Fail($"slot {other} is not committed ({state.Describe()}): nothing to roll back to", 1);
        var next = store.Update(e => AbState.ApplyOrder(e, other));
        var last = UpgradeHistory.Last() ?? new UpgradeRecord();
        last.Result = "rolled-back";
        last.Detail = $"rollback from slot {slots.Booted} to slot {other}";
        UpgradeHistory.TrySave(last, Console.Error.WriteLine);
        Console.WriteLine($"next boot: slot {other} ({next.Describe()})");
        if (reboot) RequestReboot();
        return 0;
    }

    private static int Status()
    {
        var slots = SlotLayout.ForSystem();
        using var copies = EspEnvCopies.OpenSystem(writable: false);
        var loaded = new GrubEnvStore(copies).Load();
        var state = loaded.State;
        foreach (char s in AbState.Slots)
        {
            var f = state[s];
            string device = TryDevice(slots, s);
            string condition = f.Ok ? "committed" : f.Tries > 0 ? $"on trial ({f.Tries} tries left)" : "bad";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"slot {s}: version={slots.VersionOf(s)} booted={(s == slots.Booted ? "yes" : "no")} OK={(f.Ok ? 1 : 0)} TRIES={f.Tries} {condition} device={device}"));
        }
        Console.WriteLine($"next boot: {state.NextBoot()} ({state.Describe()})");
        bool agree = copies.Read(0).AsSpan().SequenceEqual(copies.Read(1));
        Console.WriteLine($"grubenv: using {copies.Describe(loaded.Copy)}; copies {(agree ? "agree" : "differ")}"
            + (loaded.Problems.Count > 0 ? $"; {string.Join("; ", loaded.Problems)}" : ""));
        var last = UpgradeHistory.Last();
        Console.WriteLine(last is null
            ? "last upgrade: none"
            : $"last upgrade: result={last.Result} version={last.Version} slot={last.Slot} from={last.FromVersion} at={last.Time}: {last.Detail}");
        return 0;
    }

    private static string TryDevice(SlotLayout slots, char s)
    {
        try { return slots.Device(s).DevicePath; }
        catch (BundleException) { return "missing"; }
    }

    private static void RequestReboot()
    {
        Console.WriteLine("rebooting");
        Console.Out.Flush();
        SystemControl.Sync();
        if (!SystemControl.Kill(1, SIGTERM)) Console.Error.WriteLine("berth os: could not signal PID 1 to reboot; reboot by hand");
    }
}
