using Berth.Runtime.Linux;

namespace Berth.Runtime.Images;

/// <summary>What the caller changes about how the image runs (docker run's overrides).</summary>
public sealed record BundleOptions
{
    /// <summary>Replaces the image's Entrypoint; the image's Cmd is then dropped too (Docker's rule) unless <see cref="Command"/> is given.</summary>
    public IReadOnlyList<string>? Entrypoint { get; init; }
    /// <summary>Replaces the image's Cmd (the arguments after the entrypoint).</summary>
    public IReadOnlyList<string>? Command { get; init; }
    /// <summary>"KEY=VALUE" entries that override (by key) or extend the image's Env.</summary>
    public IReadOnlyList<string> Env { get; init; } = [];
    public string? WorkingDir { get; init; }
    public string? User { get; init; }
    public bool Terminal { get; init; }
    public string? Hostname { get; init; }
    public bool ReadOnlyRoot { get; init; }
    /// <summary>Which manifest of an image index to use; default: this machine's.</summary>
    public Platform? Platform { get; init; }
}

/// <summary>A bundle made from an image: <c>rootfs/</c> and <c>config.json</c> under <see cref="Path"/>.</summary>
public sealed record Bundle(string Path, Image Image, ProcessSpec Process, IReadOnlyList<string> Warnings)
{
    public string Rootfs => System.IO.Path.Combine(Path, "rootfs");
    public string ConfigPath => System.IO.Path.Combine(Path, "config.json");
}

/// <summary>
/// Turns an image into an OCI runtime bundle: every layer unpacked in order into <c>rootfs/</c>
/// (<see cref="LayerUnpacker"/>, whiteouts applied), and a <c>config.json</c> whose process comes from
/// the image config — args = Entrypoint + Cmd, Env (+ PATH, TERM and the passwd HOME when missing), cwd =
/// WorkingDir or "/", user resolved in the rootfs's own passwd/group (<see cref="ContainerUser"/>) —
/// following the OCI image-spec's conversion rules (Labels and exposed ports become annotations).
/// </summary>
public static class ImageBundler
{
    public const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>Bundles image <paramref name="reference"/> (see <see cref="OciLayout.Resolve"/>) of the OCI layout at <paramref name="layoutPath"/>.</summary>
    public static Bundle Create(string layoutPath, string? reference, string bundleDir, BundleOptions? options = null)
    {
        options ??= new BundleOptions();
        var image = OciLayout.Open(layoutPath).Resolve(reference, options.Platform);
        return Create(image, bundleDir, options);
    }

    /// <summary>
    /// Bundles a resolved image into <paramref name="bundleDir"/>, which must not exist or be empty.
    /// On any failure the bundle directory is removed again (or emptied, if it existed): a half-made
    /// rootfs must never be mistaken for a bundle.
    /// </summary>
    public static Bundle Create(Image image, string bundleDir, BundleOptions? options = null)
    {
        options ??= new BundleOptions();
        string path = System.IO.Path.GetFullPath(bundleDir);
        bool existed = Directory.Exists(path);
        if (existed && Directory.EnumerateFileSystemEntries(path).Any())
            throw new ImageException($"bundle directory {path} is not empty");
        string rootfs = System.IO.Path.Combine(path, "rootfs");
        try
        {
            if (!existed) Files.MakeDirectories(path, 0x1c0 /* 0700: the rootfs may hold setuid files */);
            Files.MakeDirectories(rootfs, 0x1ed);
            var warnings = LayerUnpacker.UnpackImage(image, rootfs);
            ProcessSpec process;
            using (var root = new ContainedRoot(rootfs))
                process = DeriveProcess(image.Config, root, options);
            var config = RuntimeConfigWriter.Write(process, new RuntimeConfigOptions
            {
                Hostname = options.Hostname,
                ReadOnlyRoot = options.ReadOnlyRoot,
                Annotations = Annotations(image),
            });
            Files.WriteAtomically(System.IO.Path.Combine(path, "config.json"), config, 0x1a4);
            return new Bundle(path, image, process, warnings);
        }
        catch
        {
            if (existed)
                foreach (var entry in Directory.EnumerateFileSystemEntries(path)) DirectoryTree.RemoveAll(entry);
            else
                DirectoryTree.RemoveAll(path);
            throw;
        }
    }

    /// <summary>The process of a container of <paramref name="config"/> whose unpacked root is <paramref name="rootfs"/>.</summary>
    public static ProcessSpec DeriveProcess(ImageConfig config, ContainedRoot rootfs, BundleOptions options)
    {
        var entrypoint = options.Entrypoint ?? config.Entrypoint ?? [];
        var cmd = options.Command ?? (options.Entrypoint is not null ? [] : config.Cmd ?? []);
        var args = entrypoint.Concat(cmd).ToList();
        if (args.Count == 0)
            throw new ImageException("the image has neither Entrypoint nor Cmd, and no command was given");

        var user = ContainerUser.Resolve(options.User ?? config.User, rootfs);

        string workingDir = options.WorkingDir ?? config.WorkingDir ?? "";
        string cwd = "/" + (ContainedPath.Normalize(workingDir, out string? reason)
            ?? throw new ImageException($"working directory \"{workingDir}\": {reason}"));

        var env = MergeEnv(config.Env, options.Env);
        AddIfMissing(env, "PATH", DefaultPath);
        if (options.Terminal) AddIfMissing(env, "TERM", "xterm");
        // HOME only from a passwd entry, as umoci does; the runtime supplies "/" otherwise, as runc does.
        if (user.Home is not null) AddIfMissing(env, "HOME", user.Home);

        return new ProcessSpec { Args = args, Env = env, Cwd = cwd, User = user, Terminal = options.Terminal };
    }

    /// <summary>The image's Env with <paramref name="overrides"/> replacing entries of the same key in place, new keys appended.</summary>
    public static List<string> MergeEnv(IEnumerable<string> image, IEnumerable<string> overrides)
    {
        var env = new List<string>();
        foreach (var e in image.Concat(overrides))
        {
            string key = Key(e);
            int i = env.FindIndex(x => Key(x) == key);
            if (i >= 0) env[i] = e;
            else env.Add(e);
        }
        return env;
    }

    private static void AddIfMissing(List<string> env, string key, string value)
    {
        if (!env.Exists(e => Key(e) == key)) env.Add(key + "=" + value);
    }

    private static string Key(string entry)
    {
        int eq = entry.IndexOf('=');
        return eq < 0 ? entry : entry[..eq];
    }

    /// <summary>The image-spec conversion's annotations: the Labels, then os, architecture, exposed ports, stop signal.</summary>
    public static Dictionary<string, string> Annotations(Image image)
    {
        var a = new Dictionary<string, string>(image.Config.Labels, StringComparer.Ordinal)
        {
            ["org.opencontainers.image.os"] = image.Config.Platform.Os,
            ["org.opencontainers.image.architecture"] = image.Config.Platform.Architecture,
        };
        if (image.Config.ExposedPorts.Count > 0)
            a["org.opencontainers.image.exposedPorts"] = string.Join(',', image.Config.ExposedPorts);
        if (image.Config.StopSignal is { Length: > 0 } signal)
            a["org.opencontainers.image.stopSignal"] = signal;
        return a;
    }
}
