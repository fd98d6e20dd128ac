using System.Text;
using Berth.Init.CloudConfig;
using Berth.Init.Stage2;
using Berth.Runtime.Images;
using Berth.Runtime.Oci;
using Berth.SystemServices.Bundles;
using Xunit;
using Berth.Tests.Host;
using S2 = Berth.Init.Stage2;
using ProcessSpec = Berth.Runtime.Images.ProcessSpec;

namespace Berth.Tests.Unit.Services;

/// <summary>cloud-config's services laid over the system services, and a user service's config.json.</summary>
public class ConfiguredServicesTests
{
    private static LoadedConfig Load(string text) =>
        CloudConfigLoader.Merge([BuiltInDefaults.Source(), ConfigSourceReader.FromBytes(Encoding.UTF8.GetBytes(text), "u.yml", SourceKind.UserConfig)]);

    private static readonly ServiceBundle Ntpd = new() { Name = "ntpd", Args = ["/usr/bin/berth", "ntpd"], Env = ["PATH=/bin", "TZ=UTC"] };

    [Fact]
    public void Enabled_false_turns_a_system_service_off_and_says_where()
    {
        var c = Load("berth:\n  services:\n    ntpd:\n      enabled: false\n");
        var notes = new List<string>();
        Assert.Null(ConfiguredServices.Customize(Ntpd, c.Services, notes.Add));
        Assert.Equal(["service ntpd is turned off by cloud-config (u.yml:4:16)"], notes);
    }

    [Fact]
    public void Command_and_environment_override_a_system_service()
    {
        var c = Load("berth:\n  environment: {LEVEL: debug}\n  services:\n    ntpd:\n      command: [/usr/bin/berth, ntpd, --verbose]\n      environment: {TZ: Europe/Paris}\n");
        Assert.Empty(c.Diagnostics);
        var b = ConfiguredServices.Customize(Ntpd, c.Services, n => Assert.Fail(n))!;
        Assert.Equal(["/usr/bin/berth", "ntpd", "--verbose"], b.Args);
        Assert.Equal(["PATH=/bin", "LEVEL=debug", "TZ=Europe/Paris"], b.Env);
        Assert.Null(b.Image);
    }

    [Fact]
    public void An_image_replaces_a_system_services_root_but_not_its_privileges_and_a_bundle_cannot()
    {
        var c = Load("berth:\n  services:\n    ntpd:\n      image: chrony:4\n");
        Assert.Empty(c.Diagnostics);
        var b = ConfiguredServices.Customize(Ntpd with { Capabilities = ["CAP_SYS_TIME"] }, c.Services, n => Assert.Fail(n))!;
        Assert.Equal("chrony:4", b.Image);
        var spec = (b with { ImageRootfs = "/run/berth/services/ntpd/rootfs" }).Spec();
        Assert.Equal("/run/berth/services/ntpd/rootfs", spec.Root!.Path);
        Assert.Equal(["CAP_SYS_TIME"], spec.Process!.Capabilities!.Bounding);
        Assert.DoesNotContain(spec.Mounts, m => m.Destination is "/usr" or "/bin" or "/lib");

        var bad = Load("berth:\n  services:\n    ntpd:\n      bundle: /tmp/mine\n");
        Assert.Equal("u.yml:4:15: error: berth.services.ntpd: a system service's bundle is built in; give \"image\" to replace it",
            Assert.Single(bad.Diagnostics).ToString());
    }

    [Fact]
    public void A_system_service_without_an_entry_is_left_as_built()
    {
        var c = Load("hostname: h\n");
        Assert.Same(Ntpd, ConfiguredServices.Customize(Ntpd, ServiceCatalog.Empty, _ => { }));
        // The built-in defaults name it, with nothing changed.
        var b = ConfiguredServices.Customize(Ntpd, c.Services, _ => Assert.Fail("no note expected"))!;
        Assert.Equal(Ntpd.Args, b.Args);
        Assert.Equal(Ntpd.Env, b.Env);
    }

    [Fact]
    public void User_services_map_restart_dependencies_health_and_one_shot_and_skip_system_names()
    {
        var c = Load("""
            berth:
              services:
                web:
                  image: busybox
                  restart: on-failure
                  stop_signal: SIGINT
                  healthcheck: {test: [CMD, /bin/true], interval: 2s, retries: 4}
                  depends_on: {init: {condition: completed}, syslogd: {condition: service_healthy}}
                init:
                  image: busybox
                  one_shot: true
            """);
        Assert.Empty(c.Diagnostics);
        var user = ConfiguredServices.UserServices(c.Services, SystemServiceSet.Names.ToHashSet(), c.Merged);
        Assert.Equal(["init", "web"], user.Select(s => s.Name));
        var web = user[1];
        Assert.Equal(RestartPolicy.OnFailure, web.Restart);
        Assert.Equal(2, web.StopSignal);
        Assert.True(web.IsContainer);
        Assert.NotNull(web.PrepareBundle);
        Assert.Equal([new S2.ServiceDependency("init", S2.DependencyCondition.Completed), new S2.ServiceDependency("syslogd", S2.DependencyCondition.Healthy)], web.DependsOn);
        Assert.Equal(["/bin/true"], web.Health!.Command);
        Assert.Equal(TimeSpan.FromSeconds(2), web.Health.Interval);
        Assert.Equal(4, web.Health.Retries);
        Assert.True(user[0].OneShot);
        Assert.Equal(RestartPolicy.No, user[0].Restart);
    }

    [Fact]
    public void A_service_no_longer_waits_for_one_that_is_turned_off()
    {
        var c = Load("berth:\n  services:\n    ntpd: {enabled: false}\n    app: {image: busybox, depends_on: [ntpd, syslogd]}\n");
        var user = ConfiguredServices.UserServices(c.Services, SystemServiceSet.Names.ToHashSet(), c.Merged);
        var notes = new List<string>();
        var kept = ConfiguredServices.WithoutDisabledDependencies(user, c.Services, notes.Add);
        Assert.Equal(["syslogd"], kept.Single().DependsOn.Select(d => d.Name));
        Assert.Equal(["service app: not waiting for ntpd (turned off)"], notes);
    }

    [Fact]
    public void A_fingerprint_changes_with_the_definition_not_with_where_it_is_written()
    {
        string? Of(string yaml)
        {
            var c = Load(yaml);
            return ConfiguredServices.UserServices(c.Services, SystemServiceSet.Names.ToHashSet(), c.Merged).Single(s => s.Name == "web").Fingerprint;
        }
        string a = Of("berth:\n  services:\n    web: {image: busybox, command: [httpd, -f]}\n")!;
        Assert.Equal(a, Of("hostname: x\n\nberth:\n  services:\n    other: {image: busybox}\n    web:\n      image: busybox\n      command: [httpd, -f]\n"));
        Assert.NotEqual(a, Of("berth:\n  services:\n    web: {image: busybox, command: [httpd, -f, -v]}\n"));
        Assert.NotEqual(a, Of("berth:\n  environment: {A: b}\n  services:\n    web: {image: busybox, command: [httpd, -f]}\n"));
    }

    [Fact]
    public void A_system_services_fingerprint_follows_what_config_changes_of_it()
    {
        string Of(string yaml)
        {
            var c = Load(yaml);
            Assert.Empty(c.Diagnostics);
            var entry = c.Services.Get("ntpd");
            return ConfiguredServices.Fingerprint(ConfiguredServices.Customize(Ntpd, c.Services, _ => { })!, entry);
        }
        string plain = Of("hostname: x\n");
        Assert.Equal(plain, Of("berth:\n  services:\n    ntpd: {restart: always}\n"));
        Assert.NotEqual(plain, Of("berth:\n  services:\n    ntpd: {restart: on-failure}\n"));
        Assert.NotEqual(plain, Of("berth:\n  services:\n    ntpd: {command: [ntpd, -q]}\n"));
        Assert.NotEqual(plain, Of("berth:\n  services:\n    ntpd: {healthcheck: {test: [CMD, /bin/true]}}\n"));
        Assert.NotEqual(plain, Of("berth:\n  services:\n    ntpd: {depends_on: [syslogd]}\n"));
    }

    [Theory]
    [InlineData("busybox", "busybox", null)]
    [InlineData("busybox:1.36", "busybox", "1.36")]
    [InlineData("registry.local:5000/app", "registry.local:5000/app", null)]
    [InlineData("registry.local:5000/app:v2", "registry.local:5000/app", "v2")]
    public void Image_references_split_at_the_tag_not_at_a_registry_port(string reference, string name, string? tag) =>
        Assert.Equal((name, tag), UserServiceBundle.SplitTag(reference));

    private static RuntimeSpec BaseSpec() => RuntimeConfigWriter.Spec(
        new ProcessSpec { Args = ["/bin/sh"], Env = ["PATH=/bin"], Cwd = "/", User = new ContainerUser(0, 0, [], null, null) },
        new RuntimeConfigOptions { Hostname = "web" });

    private static RuntimeSpec CustomizeFor(string yaml, string volumeBase)
    {
        var c = Load(yaml);
        Assert.DoesNotContain(c.Diagnostics, d => d.Severity == Severity.Error);
        var s = c.Services.Get("web")!;
        return new UserServiceBundle(s, c.Services.EnvironmentFor(s), volumeBase: volumeBase).Customize(BaseSpec());
    }

    [Fact]
    public void A_user_service_gets_dockers_defaults_changed_by_what_it_declares()
    {
        using var dir = new TempDir();
        var spec = CustomizeFor("""
            berth:
              services:
                web:
                  image: busybox
                  net: host
                  cap_add: [NET_ADMIN]
                  cap_drop: [MKNOD]
                  volumes: [/srv:/data:ro, cache:/cache]
                  mem_limit: 64m
                  cpus: 0.5
                  pids_limit: 50
            """, dir.Path);
        var caps = spec.Process!.Capabilities!.Bounding!;
        Assert.Contains("CAP_NET_ADMIN", caps);
        Assert.DoesNotContain("CAP_MKNOD", caps);
        Assert.Contains("CAP_CHOWN", caps);
        Assert.True(spec.Process.NoNewPrivileges);
        Assert.DoesNotContain(spec.Linux!.Namespaces, n => n.Type == NamespaceKind.Network);
        Assert.Contains(spec.Linux.Namespaces, n => n.Type == NamespaceKind.Pid);
        Assert.NotNull(spec.Linux.Seccomp);
        Assert.NotEmpty(spec.Linux.MaskedPaths);
        Assert.Contains(spec.Mounts, m => m.Destination == "/data" && m.Source == "/srv" && m.Options.Contains("ro"));
        Assert.Contains(spec.Mounts, m => m.Destination == "/cache" && m.Source == Path.Combine(dir.Path, "cache", "_data") && m.Options.Contains("rw"));
        Assert.True(Directory.Exists(Path.Combine(dir.Path, "cache", "_data")));
        Assert.Equal(64L << 20, spec.Linux.Resources!.Memory!.Limit);
        Assert.Equal(50_000, spec.Linux.Resources.Cpu!.Quota);
        Assert.Equal(100_000UL, (ulong)spec.Linux.Resources.Cpu.Period!);
        Assert.Equal(50, spec.Linux.Resources.Pids!.Limit);
    }

    [Fact]
    public void Privileged_is_every_capability_no_seccomp_no_masks_and_every_device()
    {
        using var dir = new TempDir();
        var spec = CustomizeFor("berth:\n  services:\n    web: {image: busybox, privileged: true, cap_drop: [SYS_BOOT]}\n", dir.Path);
        var caps = spec.Process!.Capabilities!.Bounding!;
        Assert.Contains("CAP_SYS_ADMIN", caps);
        Assert.DoesNotContain("CAP_SYS_BOOT", caps);
        Assert.False(spec.Process.NoNewPrivileges);
        Assert.Null(spec.Linux!.Seccomp);
        Assert.Empty(spec.Linux.MaskedPaths);
        Assert.Contains(spec.Linux.Resources!.Devices, r => r.Allow && r.Access == "rwm" && r.Type is null or "a");
        Assert.DoesNotContain("ro", spec.Mounts.Single(m => m.Destination == "/sys").Options);
    }

    [Fact]
    public void A_device_that_does_not_exist_is_an_error_naming_it_and_where()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<ImageException>(() => (object)CustomizeFor("berth:\n  services:\n    web: {image: busybox, devices: [/dev/nonesuch]}\n", dir.Path));
        Assert.Contains("device /dev/nonesuch (u.yml:3:37) does not exist", e.Message);
    }

    [Fact]
    public void A_device_becomes_a_node_and_a_cgroup_rule()
    {
        using var dir = new TempDir();
        var spec = CustomizeFor("berth:\n  services:\n    web: {image: busybox, devices: [/dev/null:/dev/mynull:rw]}\n", dir.Path);
        var node = spec.Linux!.Devices.Single();
        Assert.Equal(("c", "/dev/mynull", 1L, 3L), (node.Type, node.Path, node.Major, node.Minor));
        Assert.Contains(spec.Linux.Resources!.Devices, r => r.Allow && r.Type == "c" && r.Major == 1 && r.Minor == 3 && r.Access == "rw");
    }
}
