using System.Diagnostics;
using Berth.Runtime.Linux;
using Xunit;

namespace Berth.Tests.Host.SystemServices;

/// <summary>An entry point of the built berth binary (build/bin, from `make build`), run as its own process.</summary>
public sealed class ServiceProcess : IDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _stderr = new();

    public static string BinaryPath(string entryPoint)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Berth.slnx"))) dir = dir.Parent;
        Assert.NotNull(dir);
        string bin = Path.Combine(dir!.FullName, "build", "bin", entryPoint);
        Assert.True(File.Exists(bin), $"{bin} is missing: run `make build` first");
        return bin;
    }

    public ServiceProcess(string entryPoint, IEnumerable<string> args, bool redirectStdin = false)
        : this(BinaryPath(entryPoint), args, redirectStdin, 0) { }

    /// <summary>Any command (e.g. `ip netns exec NS build/bin/netconf ...`).</summary>
    public static ServiceProcess Command(string executable, IEnumerable<string> args) => new(executable, args, false, 0);

    private ServiceProcess(string executable, IEnumerable<string> args, bool redirectStdin, int _)
    {
        var psi = new ProcessStartInfo(executable)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = redirectStdin,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
        _process.BeginErrorReadLine();
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
    }

    public int Pid => _process.Id;

    public StreamWriter StandardInput => _process.StandardInput;

    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    public bool HasExited => _process.HasExited;

    public void Signal(int signal) => SystemControl.Kill(_process.Id, signal);

    /// <summary>Waits for the exit and returns the exit code; fails the test at the deadline.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        Assert.True(_process.WaitForExit(timeout), $"still running after {timeout}; stderr:\n{Stderr}");
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>VmRSS of the running process, in KiB.</summary>
    public long RssKiB()
    {
        var line = File.ReadAllLines($"/proc/{_process.Id}/status").Single(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(5000);
        }
        _process.Dispose();
    }
}
