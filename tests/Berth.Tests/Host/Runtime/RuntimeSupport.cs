using System.Diagnostics;
using Berth.Runtime.Oci;
using Xunit;

namespace Berth.Tests.Host.Runtime;

/// <summary>The built berth-runtime (build/bin, from `make build`), run as a separate process.</summary>
public static class RuntimeBinary
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "Berth.slnx"))) dir = dir.Parent;
        Assert.NotNull(dir);
        string bin = System.IO.Path.Combine(dir!.FullName, "build", "bin", "berth-runtime");
        Assert.True(File.Exists(bin), $"{bin} is missing: run `make build` first");
        return bin;
    }
}

public sealed record RunResult(int Exit, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {Exit}\nstdout: {Stdout}\nstderr: {Stderr}";
}

/// <summary>
/// A bundle with a busybox rootfs and its own runtime root, removed afterwards. Checks on disposal
/// that the host's mount table is as it was: containers' mounts live in their own namespaces.
/// </summary>
public sealed class BusyboxBundle : IDisposable
{
    private static readonly string[] Applets =
        ["sh", "true", "false", "ls", "cat", "echo", "id", "hostname", "ps", "sleep", "mount", "touch", "chown", "chmod",
         "ping", "unshare", "readlink", "grep", "wc", "kill", "ulimit", "mkdir", "stat", "head", "env", "pwd", "cut"];

    private readonly string _mountsBefore = HostMounts();

    /// <summary>The host's mount table, less the network namespaces that tests running alongside (netconf's) pin under /run/netns.</summary>
    private static string HostMounts() =>
        string.Join('\n', File.ReadAllLines("/proc/self/mountinfo").Where(l => !l.Contains(" /run/netns/", StringComparison.Ordinal)
                                                                          && !l.Contains(" /run/netns ", StringComparison.Ordinal)));
    private readonly TempDir _dir = new();

    public string Dir => _dir.Path;
    public string Rootfs => _dir["rootfs"];
    public string StateRoot => _dir["state"];
    /// <summary>A host directory bind-mounted at /out in the container, to see what it did.</summary>
    public string Out => _dir["out"];

    public BusyboxBundle()
    {
        Directory.CreateDirectory(System.IO.Path.Combine(Rootfs, "bin"));
        Directory.CreateDirectory(System.IO.Path.Combine(Rootfs, "tmp"));
        Directory.CreateDirectory(Out);
        File.Copy("/bin/busybox", System.IO.Path.Combine(Rootfs, "bin", "busybox"));
        foreach (var a in Applets) File.CreateSymbolicLink(System.IO.Path.Combine(Rootfs, "bin", a), "busybox");
    }

    /// <summary>runc's default config (as `berth-runtime spec` writes it) for a non-terminal process, plus /out.</summary>
    public static RuntimeSpec DefaultConfig(string outDir, params string[] args)
    {
        var spec = DefaultSpec.Create();
        return spec with
        {
            Process = spec.Process! with { Terminal = false, Args = args },
            Mounts = [.. spec.Mounts, new MountSpec { Destination = "/out", Type = "bind", Source = outDir, Options = ["rbind", "rw"] }],
        };
    }

    public RuntimeSpec Config(params string[] args) => DefaultConfig(Out, args);

    public void Write(RuntimeSpec spec) => File.WriteAllBytes(System.IO.Path.Combine(Dir, "config.json"), SpecWriter.ToUtf8(spec));

    public void WriteRaw(string json) => File.WriteAllText(System.IO.Path.Combine(Dir, "config.json"), json);

    /// <summary>Added to berth-runtime's environment.</summary>
    public Dictionary<string, string> Environment { get; } = new();

    public RunResult Runtime(params string[] args) => RuntimeIn(Dir, args);

    /// <summary>
    /// berth-runtime --root STATE ARGS, with the bundle as working directory. Its stdout and stderr go
    /// to files, not pipes: a created or detached container inherits them (as from runc), and a pipe
    /// would not reach end-of-file until the container is gone.
    /// </summary>
    public RunResult RuntimeIn(string cwd, params string[] args)
    {
        string id = Guid.NewGuid().ToString("N")[..8];
        string outFile = System.IO.Path.Combine(_dir.Path, $".out-{id}"), errFile = System.IO.Path.Combine(_dir.Path, $".err-{id}");
        var psi = new ProcessStartInfo("/bin/sh") { WorkingDirectory = cwd, RedirectStandardInput = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$0\" \"$@\" >\"$OUT\" 2>\"$ERR\" </dev/null");
        psi.ArgumentList.Add(RuntimeBinary.Path);
        psi.ArgumentList.Add("--root");
        psi.ArgumentList.Add(StateRoot);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OUT"] = outFile;
        psi.Environment["ERR"] = errFile;
        foreach (var (k, v) in Environment) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        if (!p.WaitForExit(30_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"berth-runtime {string.Join(' ', args)} did not finish");
        }
        var result = new RunResult(p.ExitCode, File.ReadAllText(outFile), File.ReadAllText(errFile));
        File.Delete(outFile);
        File.Delete(errFile);
        return result;
    }

    /// <summary>`run` of a shell script in the default config (with changes), asserting it could start.</summary>
    public RunResult Sh(string script, Func<RuntimeSpec, RuntimeSpec>? change = null, string id = "c")
    {
        var spec = Config("/bin/sh", "-c", script);
        Write(change is null ? spec : change(spec));
        return Runtime("run", id);
    }

    public string[] ContainerIds() =>
        Directory.Exists(StateRoot) ? Directory.GetDirectories(StateRoot).Select(d => System.IO.Path.GetFileName(d)).ToArray() : [];

    public void Dispose()
    {
        foreach (var id in ContainerIds()) Runtime("delete", "--force", id);
        string after = HostMounts();
        _dir.Dispose();
        Assert.Equal(_mountsBefore, after);
    }
}
