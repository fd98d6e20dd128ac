using System.Text;
using Berth.Init.CloudConfig;
using Xunit;

namespace Berth.Tests.Unit.CloudConfig;

public class CloudConfigMergeTests
{
    private static ConfigSource Source(string name, string text, SourceKind kind = SourceKind.ConfigDirectory) =>
        ConfigSourceReader.FromBytes(Encoding.UTF8.GetBytes(text), name, kind);

    [Fact]
    public void Maps_merge_recursively_lists_replace_and_each_value_keeps_its_source()
    {
        var os = Source("os.yml", """
            berth:
              sysctl: {vm.swappiness: "60", kernel.panic: "10"}
              network:
                dns: {nameservers: [10.0.2.3, 8.8.8.8]}
            runcmd: [a, b]
            """);
        var user = Source("user.yml", """
            berth:
              sysctl: {vm.swappiness: "10"}
              network:
                dns: {nameservers: [1.1.1.1]}
            runcmd: [c]
            """);
        var c = CloudConfigLoader.Merge([BuiltInDefaults.Source(), os, user]);
        Assert.Equal("10", c.Model.Sysctl["vm.swappiness"].Value);
        Assert.Equal("user.yml", c.Model.Sysctl["vm.swappiness"].Position.File);
        Assert.Equal("10", c.Model.Sysctl["kernel.panic"].Value);
        Assert.Equal("os.yml", c.Model.Sysctl["kernel.panic"].Position.File);
        Assert.Equal(["1.1.1.1"], c.Model.Network.Nameservers);
        Assert.Equal(["c"], c.Model.RunCmd.Select(r => r.ToString()));
        // The default (built in) survives where nobody overrides it.
        Assert.True(c.Model.Network.Interfaces.Single(i => i.Name == "eth0").Dhcp);
        Assert.Equal(BuiltInDefaults.Name, c.Model.Network.Interfaces[0].Position.File);
    }

    [Fact]
    public void An_invalid_source_is_skipped_whole_and_the_rest_applies()
    {
        var good = Source("good.yml", "hostname: good\nberth: {sysctl: {vm.swappiness: 1}}\n");
        var bad = Source("bad.yml", "hostname: bad\nberth: {sysctl: []}\n");
        var c = CloudConfigLoader.Merge([good, bad]);
        Assert.Equal("good", c.Model.Hostname!.Value.Value);
        Assert.Equal([
            "bad.yml:2:17: error: berth.sysctl: expected a mapping, got a list",
            "bad.yml: skipped (1 error); the other sources still apply",
        ], c.ReportLines());
    }

    [Fact]
    public void Sources_load_in_order_from_their_paths()
    {
        var root = Directory.CreateTempSubdirectory("cc-load-").FullName;
        try
        {
            var p = ConfigPaths.UnderRoot(root);
            void Write(string path, string text)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllText(path, text);
            }
            Write(p.OsConfig, "hostname: os\nberth: {environment: {A: os, B: os, C: os, D: os, E: os}}\n");
            Write(p.SeedUserData, "#cloud-config\nhostname: seed\nberth: {environment: {B: seed, C: seed, D: seed, E: seed}}\n");
            Write(p.SeedMetaData, "instance-id: iid-42\nlocal-hostname: meta\n");
            Write(Path.Combine(p.ConfigDirectory, "20-b.yml"), "berth: {environment: {D: d20, E: d20}}\n");
            Write(Path.Combine(p.ConfigDirectory, "10-a.yml"), "berth: {environment: {C: d10, D: d10, E: d10}}\n");
            Write(Path.Combine(p.ConfigDirectory, "ignored.txt"), "berth: {environment: {E: txt}}\n");
            Write(p.UserConfig, "berth: {environment: {E: user}}\n");
            var c = CloudConfigLoader.Load(p, "quiet berth.environment.F=cmd berth.hostname=cmdhost");
            Assert.Equal("os seed d10 d20 user cmd", string.Join(' ', "ABCDEF".Select(k => c.Model.Environment[k.ToString()].Value)));
            Assert.Equal("cmdhost", c.Model.Hostname!.Value.Value);
            Assert.Equal(new SourcePosition("kernel command line", 1, 31), c.Model.Hostname!.Value.Position);
            Assert.Equal("iid-42", c.Seed!.InstanceId);
            Assert.Equal([SourceKind.Defaults, SourceKind.OsConfig, SourceKind.NoCloudSeed, SourceKind.NoCloudSeed,
                SourceKind.ConfigDirectory, SourceKind.ConfigDirectory, SourceKind.UserConfig, SourceKind.KernelCommandLine],
                c.Sources.Select(s => s.Kind));
            Assert.Empty(c.Diagnostics);
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public void Meta_data_local_hostname_is_below_user_data()
    {
        var root = Directory.CreateTempSubdirectory("cc-meta-").FullName;
        try
        {
            var p = ConfigPaths.UnderRoot(root);
            Directory.CreateDirectory(p.SeedDirectory);
            File.WriteAllText(p.SeedMetaData, "instance-id: i-1\nlocal-hostname: meta\n");
            Assert.Equal("meta", CloudConfigLoader.Load(p, "").Model.Hostname!.Value.Value);
            File.WriteAllText(p.SeedUserData, "#!/bin/sh\necho hi\n");
            var c = CloudConfigLoader.Load(p, "");
            Assert.Equal("#!/bin/sh\necho hi\n", Encoding.UTF8.GetString(c.Seed!.Script!));
            Assert.Empty(c.Diagnostics);
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public void Kernel_arguments_set_typed_paths_and_warn_on_unknown_ones()
    {
        var s = KernelConfigSource.From("console=ttyS0 berth.sysctl.net.ipv4.ip_forward=1 berth.network.dns.nameservers=1.1.1.1,9.9.9.9 "
            + "berth.network.dns.search=[a.example] berth.netwrk.dns=x berth.slot=A")!;
        var c = CloudConfigLoader.Merge([s]);
        Assert.Equal("1", c.Model.Sysctl["net.ipv4.ip_forward"].Value);
        Assert.Equal(["1.1.1.1", "9.9.9.9"], c.Model.Network.Nameservers);
        Assert.Equal(["a.example"], c.Model.Network.Search);
        Assert.Equal([
            "kernel command line:1:133: warning: berth.netwrk.dns: unknown key \"berth.netwrk\" (did you mean \"berth.network\"?); ignored",
        ], s.Diagnostics.Select(d => d.ToString()));
        Assert.Null(KernelConfigSource.From("console=ttyS0 berth.slot=A berth.debug=1"));
    }

    [Fact]
    public void A_kernel_argument_of_the_wrong_type_is_an_error_at_its_column()
    {
        var s = KernelConfigSource.From("quiet berth.services.web.restart=sometimes")!;
        Assert.Equal(["kernel command line:1:7: error: berth.services.web.restart: expected one of \"no\", \"on-failure\", \"always\", got \"sometimes\""],
            s.Diagnostics.Select(d => d.ToString()));
        Assert.Null(s.Tree);
    }

    [Fact]
    public void A_file_with_tens_of_thousands_of_keys_loads_and_merges_quickly()
    {
        var sb = new StringBuilder("berth:\n  sysctl:\n");
        for (int i = 0; i < 30_000; i++) sb.Append($"    k{i}.x: {i}\n");
        var started = DateTime.UtcNow;
        var big = Source("big.yml", sb.ToString());
        var c = CloudConfigLoader.Merge([big, Source("top.yml", sb.ToString().Replace(": ", ": 1"))]);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5), $"took {DateTime.UtcNow - started}");
        Assert.Equal(30_000, c.Model.Sysctl.Count);
        Assert.Equal("1123", c.Model.Sysctl["k123.x"].Value);
    }

    [Fact]
    public void Dotted_paths_follow_the_schema()
    {
        Assert.Equal(["berth", "sysctl", "net.ipv4.ip_forward"], ConfigPath.Parse("berth.sysctl.net.ipv4.ip_forward", out var e1).Segments);
        Assert.Null(e1);
        Assert.Equal(["berth", "services", "web", "healthcheck", "retries"], ConfigPath.Parse("berth.services.web.healthcheck.retries", out _).Segments);
        ConfigPath.Parse("berth.console.tty.x", out var e2);
        Assert.Equal("\"berth.console.tty\" is a string; it has no key \"x\"", e2);
        ConfigPath.Parse("berth.sysclt.x", out var e3);
        Assert.Equal("unknown key \"berth.sysclt\" (did you mean \"berth.sysctl\"?)", e3);
    }
}
