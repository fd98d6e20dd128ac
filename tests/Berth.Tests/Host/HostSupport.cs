using System.Diagnostics;
using Berth.Runtime.Linux;
using Xunit;

namespace Berth.Tests.Host;

/// <summary>A temporary directory removed with everything in it.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("berth-test-").FullName;
    public string this[string name] => System.IO.Path.Combine(Path, name);
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

public static class HostRun
{
    /// <summary>Runs a host tool through System.Diagnostics.Process (independent of the code under test).</summary>
    public static (int Exit, string Stdout, string Stderr) Tool(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{exe} {string.Join(' ', args)} did not finish");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    public static string Which(params string[] candidates) =>
        candidates.FirstOrDefault(File.Exists) ?? throw new FileNotFoundException($"none of {string.Join(", ", candidates)} exists on this host");

    /// <summary>Polls until <paramref name="condition"/> holds; false at the deadline.</summary>
    public static bool Until(Func<bool> condition, TimeSpan timeout, int pollMs = 5)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed >= timeout) return false;
            Thread.Sleep(pollMs);
        }
        return true;
    }

    /// <summary>A hex signal mask line (SigIgn, SigBlk, SigCgt) of /proc/PID/status.</summary>
    public static ulong SignalMask(string status, string field)
    {
        var line = status.Split('\n').Single(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return Convert.ToUInt64(line[(field.Length + 1)..].Trim(), 16);
    }

    public static ulong Bit(int signal) => 1UL << (signal - 1);

    /// <summary>Spawns with the code under test and waits with <see cref="ChildReaper.WaitFor"/>.</summary>
    public static ExitStatus SpawnAndWait(SpawnSpec spec) => ChildReaper.WaitFor(ProcessSpawner.Spawn(spec));

    public static SpawnSpec Sh(string script, string? output = null, params string[] args) => new()
    {
        Executable = "/bin/sh",
        Arguments = ["-c", script, "sh", .. args],
        OutputPath = output,
    };
}

/// <summary>
/// The kernel module index of the running kernel, or (when this host runs a kernel without one, as a
/// Firecracker VM does) the newest installed Debian kernel's.
/// </summary>
public static class RealModules
{
    public static string Root()
    {
        string release = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        string running = System.IO.Path.Combine("/lib/modules", release);
        if (File.Exists(System.IO.Path.Combine(running, "modules.dep"))) return running;
        var installed = Directory.Exists("/lib/modules")
            ? Directory.GetDirectories("/lib/modules", "*-amd64")
                .Where(d => File.Exists(System.IO.Path.Combine(d, "modules.dep")))
                .OrderBy(d => System.IO.Path.GetFileName(d), VersionOrder.Instance)
                .ToList()
            : [];
        Assert.True(installed.Count > 0,
            $"no kernel module index: neither {running}/modules.dep nor /lib/modules/*-amd64/modules.dep exists");
        return installed[^1];
    }

    /// <summary>Orders "6.1.0-9-amd64" before "6.1.0-56-amd64": digit runs compare as numbers.</summary>
    private sealed class VersionOrder : IComparer<string>
    {
        public static readonly VersionOrder Instance = new();
        public int Compare(string? x, string? y)
        {
            var a = Parts(x!); var b = Parts(y!);
            for (int i = 0; i < Math.Min(a.Count, b.Count); i++)
            {
                int c = a[i] is long la && b[i] is long lb ? la.CompareTo(lb)
                    : string.CompareOrdinal(a[i].ToString(), b[i].ToString());
                if (c != 0) return c;
            }
            return a.Count.CompareTo(b.Count);
        }
        private static List<object> Parts(string s) =>
            System.Text.RegularExpressions.Regex.Matches(s, @"\d+|\D+")
                .Select(m => char.IsDigit(m.Value[0]) ? (object)long.Parse(m.Value) : m.Value).ToList();
    }
}
