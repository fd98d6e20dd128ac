using Berth.Init.CloudConfig;
using Xunit;

namespace Berth.Tests.Unit.CloudConfig;

public sealed class ConfigCliTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cc-cli-").FullName;
    private ConfigPaths Paths => ConfigPaths.UnderRoot(_root);

    public void Dispose() => Directory.Delete(_root, true);

    private (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter { NewLine = "\n" };
        var e = new StringWriter { NewLine = "\n" };
        int code = new ConfigCli(o, e).Execute([.. args, "--root", _root]);
        return (code, o.ToString(), e.ToString());
    }

    private string File(string name, string text)
    {
        string path = Path.Combine(_root, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Validate_reports_positions_and_exits_1_on_errors_0_on_warnings()
    {
        string bad = File("bad.yml", "#cloud-config\nhostnme: a\nberth:\n  sysctl: [x]\n");
        Assert.Equal((1, $"""
            {bad}:2:1: warning: unknown key "hostnme" (did you mean "hostname"?)
            {bad}:4:11: error: berth.sysctl: expected a mapping, got a list
            {bad}: invalid (1 error, 1 warning)

            """, ""), Run("validate", bad));
        string warn = File("warn.yml", "hostnme: a\n");
        Assert.Equal((0, $"{warn}:1:1: warning: unknown key \"hostnme\" (did you mean \"hostname\"?)\n{warn}: valid (1 warning)\n", ""), Run("validate", warn));
        string good = File("good.yml", "#cloud-config\nhostname: a\n");
        Assert.Equal((0, $"{good}: valid (0 warnings)\n", ""), Run("validate", good));
        string script = File("script", "#!/bin/sh\necho hi\n");
        Assert.Equal(0, Run("validate", script).Code);
        Assert.Equal(2, Run("validate", Path.Combine(_root, "missing.yml")).Code);
        // As user-data, the #cloud-config line is required, as at boot.
        string headerless = File("user-data", "hostname: a\n");
        Assert.Equal((0, $"{headerless}:1:1: warning: user-data starts with neither \"#cloud-config\" nor \"#!\"; ignored\n{headerless}: valid (1 warning)\n", ""),
            Run("validate", headerless));
    }

    [Fact]
    public void Set_keeps_the_rest_of_the_file_and_get_reads_it_back()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Paths.UserConfig)!);
        System.IO.File.WriteAllText(Paths.UserConfig, "#cloud-config\nhostname: old\nruncmd: [\"echo no\"]\nberth:\n  sysctl: {vm.swappiness: \"10\"}\n");
        Assert.Equal(0, Run("set", "berth.sysctl.net.ipv4.ip_forward", "1").Code);
        Assert.Equal(0, Run("set", "hostname", "new").Code);
        Assert.Equal(0, Run("set", "berth.network.dns.nameservers", "1.1.1.1,9.9.9.9").Code);
        Assert.Equal((0, "new\n", ""), Run("get", "hostname"));
        Assert.Equal((0, "1\n", ""), Run("get", "berth.sysctl.net.ipv4.ip_forward"));
        Assert.Equal((0, "10\n", ""), Run("get", "berth.sysctl.vm.swappiness"));
        Assert.Equal((0, "- 1.1.1.1\n- 9.9.9.9\n", ""), Run("get", "berth.network.dns.nameservers"));
        Assert.Equal((0, "- echo no\n", ""), Run("get", "runcmd"));
        var source = ConfigSourceReader.FromFile(Paths.UserConfig, SourceKind.UserConfig)!;
        Assert.True(source.Valid);
        Assert.StartsWith("#cloud-config\n", System.IO.File.ReadAllText(Paths.UserConfig));
        Assert.Equal("600", Convert.ToString((int)System.IO.File.GetUnixFileMode(Paths.UserConfig), 8));
        // No temp file is left beside it.
        Assert.Equal([".cloud-config.lock", "cloud-config.yml"], Directory.GetFiles(Path.GetDirectoryName(Paths.UserConfig)!).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void Concurrent_sets_lose_no_change()
    {
        Parallel.For(0, 16, i => Assert.Equal(0, Run("set", $"berth.environment.K{i}", $"{i}").Code));
        var env = CloudConfigLoader.Load(Paths, "").Model.Environment;
        Assert.Equal(16, env.Count);
        Assert.All(Enumerable.Range(0, 16), i => Assert.Equal($"{i}", env[$"K{i}"].Value));
    }

    [Fact]
    public void Set_refuses_a_value_of_the_wrong_type_and_leaves_the_file_alone()
    {
        Assert.Equal(0, Run("set", "hostname", "a").Code);
        string before = System.IO.File.ReadAllText(Paths.UserConfig);
        var r = Run("set", "berth.services.web.restart", "sometimes");
        Assert.Equal(1, r.Code);
        Assert.Equal("berth config: berth.services.web.restart=sometimes: berth.services.web.restart: expected one of \"no\", \"on-failure\", \"always\", got \"sometimes\"\n", r.Err);
        Assert.Equal(before, System.IO.File.ReadAllText(Paths.UserConfig));
        Assert.Equal((2, "", "berth config: unknown key \"hostnam\" (did you mean \"hostname\"?)\n"), Run("set", "hostnam", "x"));
    }

    [Fact]
    public void Set_refuses_to_rewrite_a_broken_file()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Paths.UserConfig)!);
        System.IO.File.WriteAllText(Paths.UserConfig, "hostname: [\n");
        var r = Run("set", "hostname", "x");
        Assert.Equal(1, r.Code);
        Assert.Contains("is invalid; fix it first (nothing written)", r.Err);
        Assert.Equal("hostname: [\n", System.IO.File.ReadAllText(Paths.UserConfig));
    }

    [Fact]
    public void Get_of_an_unset_key_exits_1()
    {
        Assert.Equal((1, "", "berth config: hostname is not set\n"), Run("get", "hostname"));
    }

    [Fact]
    public void Export_prints_the_user_file_or_the_merged_config_with_sources()
    {
        Assert.Equal(0, Run("set", "hostname", "h1").Code);
        Directory.CreateDirectory(Path.Combine(_root, "proc"));
        System.IO.File.WriteAllText(Path.Combine(_root, "proc/cmdline"), "quiet berth.sysctl.vm.swappiness=5\n");
        Assert.Equal((0, "#cloud-config\nhostname: h1\n", ""), Run("export"));
        var merged = Run("export", "--merged").Out;
        Assert.Contains("hostname: h1\n", merged);
        Assert.Contains("    vm.swappiness: 5\n", merged);
        var sources = Run("export", "--sources").Out.TrimEnd('\n').Split('\n');
        // The system services are built-in defaults too, so that config can override them.
        Assert.Contains("berth.services.syslogd.restart: always    # (built-in defaults):1:1", sources);
        Assert.Equal([
            "berth.network.interfaces.eth0.dhcp: true    # (built-in defaults):1:1",
            "berth.upgrade.channel: stable    # (built-in defaults):1:1",
            "berth.upgrade.auto: false    # (built-in defaults):1:1",
            "berth.sysctl.vm.swappiness: 5    # kernel command line:1:7",
            $"hostname: h1    # {Paths.UserConfig}:2:11",
        ], sources.Where(l => !l.StartsWith("berth.services.", StringComparison.Ordinal)));
    }
}
