using System.Text;
using Berth.Init.CloudConfig;
using Xunit;

namespace Berth.Tests.Unit.CloudConfig;

public class ServiceModelTests
{
    private static LoadedConfig Load(params string[] texts) =>
        CloudConfigLoader.Merge(texts.Select((t, i) => ConfigSourceReader.FromBytes(Encoding.UTF8.GetBytes(t), $"s{i}.yml", SourceKind.ConfigDirectory)).ToList());

    [Fact]
    public void A_full_service_is_normalised()
    {
        var c = Load("""
            berth:
              environment: {TZ: UTC, LEVEL: info}
              services:
                db:
                  image: postgres:16
                  healthcheck: {test: [CMD, pg_isready], interval: 5s, retries: 5, start_period: 1m30s}
                  mem_limit: 512m
                  cpus: 0.5
                  pids_limit: 100
                migrate:
                  image: app:1
                  one_shot: true
                  command: ./migrate --all
                  depends_on: {db: {condition: service_healthy}}
                web:
                  image: app:1
                  entrypoint: [/app, serve]
                  environment: [LEVEL=debug, EMPTY]
                  volumes: [/var/lib/berth/app:/data:ro, cache:/cache]
                  devices: [/dev/kvm, /dev/fuse:/dev/fuse:rw]
                  net: host
                  pid: private
                  cap_add: [net_admin, CAP_SYS_TIME]
                  cap_drop: [ALL]
                  restart: on-failure
                  stop_signal: SIGINT
                  stop_grace_period: 30s
                  depends_on:
                    migrate: {condition: completed}
                    db: {condition: healthy}
            """);
        Assert.Empty(c.Diagnostics);
        var db = c.Services.Get("db")!;
        Assert.Equal(["pg_isready"], db.HealthCheck!.Test!.Argv);
        Assert.Equal(TimeSpan.FromSeconds(5), db.HealthCheck.Interval);
        Assert.Equal(TimeSpan.FromSeconds(90), db.HealthCheck.StartPeriod);
        Assert.Equal(5, db.HealthCheck.Retries);
        Assert.Equal(new ResourceLimits(512L << 20, 0.5, 100), db.Limits);
        Assert.Equal(ServiceRestart.No, db.Restart);
        var migrate = c.Services.Get("migrate")!;
        Assert.Equal(["/bin/sh", "-c", "./migrate --all"], migrate.Command!.Argv);
        Assert.Equal(new ServiceDependency("db", DependencyCondition.Healthy, new("s0.yml", 14, 20)), migrate.DependsOn[0]);
        var web = c.Services.Get("web")!;
        Assert.Equal(NamespaceMode.Host, web.Net);
        Assert.Equal(["CAP_NET_ADMIN", "CAP_SYS_TIME"], web.CapAdd);
        Assert.Equal(["ALL"], web.CapDrop);
        Assert.Equal(2, web.StopSignal);
        Assert.Equal(TimeSpan.FromSeconds(30), web.StopGracePeriod);
        Assert.Equal(ServiceRestart.OnFailure, web.Restart);
        Assert.Equal([("/var/lib/berth/app", "/data", true), ("cache", "/cache", false)], web.Volumes.Select(v => (v.Source, v.Target, v.ReadOnly)));
        Assert.Equal([("/dev/kvm", "/dev/kvm", "rwm"), ("/dev/fuse", "/dev/fuse", "rw")], web.Devices.Select(d => (d.HostPath, d.ContainerPath, d.Permissions)));
        Assert.Equal(new Dictionary<string, string> { ["TZ"] = "UTC", ["LEVEL"] = "debug", ["EMPTY"] = "" }, c.Services.EnvironmentFor(web));
        Assert.Equal(new SourcePosition("s0.yml", 17, 19), web.Positions["entrypoint"]);
        Assert.Equal(["db", "migrate", "web"], c.Services.StartOrder.Select(s => s.Name));
    }

    [Fact]
    public void A_later_source_overrides_one_key_or_turns_a_service_off()
    {
        var c = Load(
            "berth:\n  services:\n    logd: {bundle: /usr/share/berth/bundles/logd, restart: always}\n    timed: {bundle: /b/timed}\n",
            "berth:\n  services:\n    logd: {command: [logdd, -n]}\n    timed: {enabled: false}\n");
        Assert.Empty(c.Diagnostics);
        var logd = c.Services.Get("logd")!;
        Assert.Equal("/usr/share/berth/bundles/logd", logd.Bundle);
        Assert.Equal(ServiceRestart.Always, logd.Restart);
        Assert.Equal(["logdd", "-n"], logd.Command!.Argv);
        Assert.Equal("s1.yml", logd.Positions["command"].File);
        Assert.False(c.Services.Get("timed")!.Enabled);
        Assert.Equal(["logd"], c.Services.StartOrder.Select(s => s.Name));
    }

    public static TheoryData<string, string[]> BadServices() => new()
    {
        { "a: {}", ["s0.yml:3:5: error: berth.services.a: needs \"image\" or \"bundle\""] },
        { "a: {image: x, bundle: /b}", ["s0.yml:3:27: error: berth.services.a: has both \"image\" and \"bundle\"; give one"] },
        { "a: {image: x, depends_on: [b]}", ["s0.yml:3:32: error: berth.services.a.depends_on: unknown service \"b\""] },
        { "a: {image: x, volumes: [data]}", ["s0.yml:3:29: error: berth.services.a.volumes: \"data\" is not SOURCE:/TARGET[:ro|rw]"] },
        { "a: {image: x, devices: [/tmp/x]}", ["s0.yml:3:29: error: berth.services.a.devices: \"/tmp/x\" is not /dev/HOST[:/dev/CONTAINER[:rwm]]"] },
        { "a: {image: x, healthcheck: {interval: 1s}}", ["s0.yml:3:32: error: berth.services.a.healthcheck: needs \"test\""] },
        { "a: {image: x, depends_on: {b: {condition: healthy}}}\n    b: {image: y}",
            ["s0.yml:3:32: error: berth.services.a.depends_on: \"b\" has no healthcheck, so it can never be healthy"] },
        { "a: {image: x, depends_on: [b]}\n    b: {image: y, depends_on: [a]}",
            ["s0.yml:4:32: error: berth.services.b.depends_on: dependency cycle a -> b -> a"] },
        { "a: {image: x, mem_limit: lots}", ["s0.yml:3:30: error: berth.services.a.mem_limit: expected a size like 512m or 1g, got \"lots\""] },
        { "Web: {image: x}", ["s0.yml:3:5: error: berth.services.Web: \"Web\" is not a service name (lowercase letters, digits, '_', '.', '-')"] },
        { "a: {image: x, stop_signal: SIGNOPE}", ["s0.yml:3:32: error: berth.services.a.stop_signal: expected a signal like SIGTERM, got \"SIGNOPE\""] },
        { "a: {image: x, restrat: always}", ["s0.yml:3:19: warning: unknown key \"berth.services.a.restrat\" (did you mean \"berth.services.a.restart\"?)"] },
    };

    [Theory]
    [MemberData(nameof(BadServices))]
    public void Bad_services_are_reported_exactly(string service, string[] expected)
    {
        var c = Load("berth:\n  services:\n    " + service + "\n");
        var got = c.Diagnostics.Select(d => d.ToString()).ToArray();
        Assert.True(expected.SequenceEqual(got), $"got [{string.Join(" | ", got)}]");
        // A service with an error is left out; one with only warnings runs.
        Assert.Equal(expected.Any(e => e.Contains(": error: ")), c.Services.Get("a") is null);
    }

    [Fact]
    public void A_dependency_cycle_drops_the_services_in_it_and_keeps_the_rest()
    {
        var c = Load("berth:\n  services:\n    a: {image: x, depends_on: [b]}\n    b: {image: y, depends_on: [a]}\n    c: {image: z}\n    d: {image: z, depends_on: [a]}\n");
        Assert.Equal(["c"], c.Services.All.Select(s => s.Name));
        Assert.Contains("s0.yml:6:32: error: berth.services.d: left out because \"a\" is invalid", c.Diagnostics.Select(d => d.ToString()));
    }
}
