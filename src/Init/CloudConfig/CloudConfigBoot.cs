using System.Text;
using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Init.CloudConfig;

/// <summary>
/// Cloud-config in PID 1's boot: copy the NoCloud seed, load and merge every source, print what is
/// wrong with file:line:column, apply the machine keys, run bootcmd, and once ready run runcmd
/// and a #! user-data once per instance-id. Never throws: a failure is logged and the boot goes on
/// with what could be applied. <see cref="Services"/> is what the supervisor starts.
/// </summary>
public sealed class CloudConfigBoot(ChildReaper reaper, ConfigPaths? paths = null, string etc = "/etc", BootTimeline? timeline = null)
{
    /// <summary>The instance when there is no seed: runcmd from the local files runs once per machine.</summary>
    public const string LocalInstance = "local";

    private readonly ConfigPaths _paths = paths ?? ConfigPaths.Default;
    private readonly ApplyReport _report = new(d => BootLog.Notice("cloud-config: " + d));

    public LoadedConfig Config { get; private set; } = CloudConfigLoader.Merge([BuiltInDefaults.Source()]);

    /// <summary>The merged, validated services (enabled ones in dependency order through <see cref="ServiceCatalog.StartOrder"/>).</summary>
    public ServiceCatalog Services => Config.Services;

    public string InstanceId => Config.Seed?.InstanceId ?? LocalInstance;

    /// <summary>True when this instance-id was not seen at the previous boot (a new machine, or a new seed).</summary>
    public bool FirstBootOfInstance { get; private set; } = true;

    /// <summary>The instance whose write_files appends were done (they happen once per instance).</summary>
    private string AppendsFile => Path.Combine(_paths.StateDirectory, "appends-instance-id");
    private string RunOnceFile => Path.Combine(_paths.StateDirectory, "runcmd-instance-id");

    /// <summary>Reads /proc/cmdline itself when <paramref name="cmdlineText"/> is null (its columns are then exact).</summary>
    public void Load(string? cmdlineText)
    {
        Guard("seed", () => Timed("cloud-config-seed", () =>
        {
            if (NoCloudSeed.CopyTo(_paths.SeedDirectory, BootLog.Warn) is { } device)
                BootLog.Info($"cloud-config: NoCloud seed on {device}");
        }));
        Guard("load", () => Timed("cloud-config-load", () =>
        {
            Config = CloudConfigLoader.Load(_paths, cmdlineText);
            foreach (var line in Config.ReportLines()) BootLog.Notice("cloud-config: " + line);
            BootLog.Info($"cloud-config: {CloudConfigLoader.DescribeSources(Config)}; instance {InstanceId}");
            string? previous = File.Exists(AppendsFile) ? File.ReadAllText(AppendsFile).Trim() : null;
            FirstBootOfInstance = previous != InstanceId;
        }));
    }

    /// <summary>
    /// `berth config apply`: the sources read again (the seed as copied at boot); returns the
    /// findings. Only the services follow; the rest of the config applies at the next boot.
    /// </summary>
    public IReadOnlyList<string> Reload()
    {
        Config = CloudConfigLoader.Load(_paths, null);
        var lines = Config.ReportLines().ToList();
        foreach (var line in lines) BootLog.Notice("cloud-config (apply): " + line);
        return lines;
    }

    private void Timed(string step, Action action)
    {
        if (timeline is null) action();
        else timeline.Step(step, action);
    }

    /// <summary>Before services: sysctl, mounts, accounts and keys, write_files.</summary>
    public void ApplyEarly() => Guard("apply", () =>
    {
        var model = Config.Model;
        if (model.Sysctl.Count > 0) Guard("sysctl", () => SysctlApplier.Apply(model.Sysctl, _report));
        if (model.Mounts.Count > 0) Guard("mounts", () => MountsApplier.Apply(model.Mounts, _report));
        if (model.Users.Count == 0 && model.SshAuthorizedKeys.Count == 0 && model.WriteFiles.Count == 0) return;
        var accounts = AccountDatabase.Read(etc);
        if (model.Users.Count > 0 || model.SshAuthorizedKeys.Count > 0) Guard("users", () => ApplyAccounts(model, accounts));
        if (model.WriteFiles.Count > 0)
            Guard("write_files", () => new WriteFilesApplier(_report).Apply(model.WriteFiles, FirstBootOfInstance, accounts));
        if (FirstBootOfInstance && model.WriteFiles.Any(f => f.Append)) Guard("instance-id", () => WriteState(AppendsFile, InstanceId));
    });

    public void RunBootCmd()
    {
        if (Config.Model.BootCmd.Count == 0) return;
        Guard("bootcmd", () => new CommandRunner(reaper, _report, CommandEnvironment()).RunAll("bootcmd", Config.Model.BootCmd));
    }

    /// <summary>After ready, off the boot path: the #! user-data, then runcmd, once per instance-id.</summary>
    public void RunOncePerInstanceInBackground() => Guard("runcmd", () =>
    {
        var script = Config.Seed?.Script;
        if (Config.Model.RunCmd.Count == 0 && script is null) return;
        string? done = File.Exists(RunOnceFile) ? File.ReadAllText(RunOnceFile).Trim() : null;
        if (done == InstanceId) return;
        new Thread(() => Guard("runcmd", () =>
        {
            // Recorded first: a runcmd that reboots the machine must not run again at every boot.
            WriteState(RunOnceFile, InstanceId);
            var runner = new CommandRunner(reaper, _report, CommandEnvironment());
            if (script is not null)
            {
                Files.MakeDirectories("/run/berth", 0x1ed);
                const string path = "/run/berth/user-data-script";
                Files.WriteAtomically(path, script, 0x1c0);
                runner.Run("user-data script", [path], new SourcePosition(_paths.SeedUserData, 1, 1));
            }
            runner.RunAll("runcmd", Config.Model.RunCmd);
            BootLog.Info($"cloud-config: runcmd done for instance {InstanceId}");
        })) { IsBackground = true, Name = "runcmd" }.Start();
    });

    private Dictionary<string, string> CommandEnvironment()
    {
        var env = new Dictionary<string, string>(ProcessSpawner.DefaultEnvironment, StringComparer.Ordinal);
        foreach (var (k, v) in Config.Model.Environment) env[k] = v.Value;
        env["INSTANCE_ID"] = InstanceId;
        return env;
    }

    private void ApplyAccounts(CloudConfigModel model, AccountDatabase accounts)
    {
        foreach (var user in model.Users)
            if (accounts.Apply(user, HomeRoot) is { } problem)
                _report.Error(user.Name.Position, $"users: {user.Name.Value}: {problem}");
        Files.WriteAtomically(Path.Combine(etc, "passwd"), Encoding.UTF8.GetBytes(accounts.PasswdText), 0x1a4);
        Files.WriteAtomically(Path.Combine(etc, "group"), Encoding.UTF8.GetBytes(accounts.GroupText), 0x1a4);
        Files.WriteAtomically(Path.Combine(etc, "shadow"), Encoding.UTF8.GetBytes(accounts.ShadowText), 0x180);

        var keys = new Dictionary<string, List<Located<string>>>(StringComparer.Ordinal);
        if (model.SshAuthorizedKeys.Count > 0) keys["root"] = model.SshAuthorizedKeys.ToList();
        foreach (var user in model.Users.Where(u => u.SshAuthorizedKeys.Count > 0))
        {
            if (!keys.TryGetValue(user.Name.Value, out var list)) keys[user.Name.Value] = list = new();
            list.AddRange(user.SshAuthorizedKeys);
        }
        foreach (var (name, list) in keys)
        {
            if (accounts.HomeOf(name) is not { } home || !accounts.TryUser(name, out uint uid, out uint gid))
            {
                _report.Error(list[0].Position, $"ssh_authorized_keys: no user \"{name}\"");
                continue;
            }
            try
            {
                MakeHomeRoot(home);
                Files.MakeDirectories(home, 0x1c0);
                // /root is on the read-only image: a tmpfs makes it writable; the keys come back from config every boot.
                if (Mounts.IsReadOnly(home))
                    Mounts.Mount("tmpfs", home, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700,size=1m");
                Files.ChangeOwner(home, uid, gid);
                string ssh = Path.Combine(home, ".ssh");
                Files.MakeDirectories(ssh, 0x1c0);
                Files.ChangeOwner(ssh, uid, gid);
                string file = Path.Combine(ssh, "authorized_keys");
                Files.WriteAtomically(file, Encoding.UTF8.GetBytes(string.Concat(list.Select(k => k.Value.Trim() + "\n"))), 0x180);
                Files.ChangeOwner(file, uid, gid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _report.Error(list[0].Position, $"ssh_authorized_keys for {name}: {e.Message}");
            }
        }
    }

    /// <summary>
    /// The directory the homes live in is 0755: made as a parent of a 0700 home it would be 0700
    /// too, and then no user could reach its own home (nor dropbear, which reads authorized_keys as the user).
    /// </summary>
    internal static void MakeHomeRoot(string home)
    {
        if (Path.GetDirectoryName(home) is not { Length: > 1 } parent) return;
        Files.MakeDirectories(parent, 0x1ed);
        if (parent == HomeRoot) Files.ChangeMode(parent, 0x1ed);
    }

    internal const string HomeRoot = "/var/lib/berth/home";

    private static void WriteState(string path, string value)
    {
        Files.MakeDirectories(Path.GetDirectoryName(path)!, 0x1c0);
        Files.WriteAtomically(path, Encoding.UTF8.GetBytes(value + "\n"), 0x180);
    }

    /// <summary>PID 1 must never fall over a config: every step is caught and logged.</summary>
    private static void Guard(string step, Action action)
    {
        try { action(); }
        catch (Exception e) { BootLog.Error($"cloud-config {step}: {e.Message}"); }
    }
}
