using System.Text.Json.Nodes;
using Berth.Runtime.Oci;
using Xunit;

namespace Berth.Tests.Unit.Oci;

public class SpecRoundTripTests
{
    /// <summary>Every field the model knows, with values that differ from their defaults.</summary>
    internal const string Full = """
        {
          "ociVersion": "1.2.0",
          "process": {
            "terminal": true,
            "consoleSize": { "height": 25, "width": 80 },
            "user": { "uid": 1000, "gid": 1000, "umask": 18, "additionalGids": [5, 10] },
            "args": ["/bin/sh", "-c", "echo hi"],
            "env": ["PATH=/usr/bin:/bin", "TERM=xterm"],
            "cwd": "/home/user",
            "capabilities": {
              "bounding": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
              "effective": ["CAP_KILL"],
              "inheritable": [],
              "permitted": ["CAP_KILL"],
              "ambient": []
            },
            "rlimits": [ { "type": "RLIMIT_NOFILE", "hard": 4096, "soft": 1024 }, { "type": "RLIMIT_CORE", "hard": 0, "soft": 0 } ],
            "noNewPrivileges": true,
            "oomScoreAdj": 100,
            "ioPriority": { "class": "IOPRIO_CLASS_BE", "priority": 4 },
            "scheduler": { "policy": "SCHED_BATCH", "nice": 5, "flags": ["SCHED_FLAG_RESET_ON_FORK"] },
            "execCPUAffinity": { "initial": "0-1", "final": "1" }
          },
          "root": { "path": "/var/lib/berth/rootfs", "readonly": true },
          "hostname": "box",
          "domainname": "example.org",
          "mounts": [
            { "destination": "/proc", "type": "proc", "source": "proc" },
            { "destination": "/data", "type": "none", "source": "/srv/data", "options": ["rbind", "ro", "rslave"],
              "uidMappings": [ { "containerID": 0, "hostID": 100000, "size": 65536 } ],
              "gidMappings": [ { "containerID": 0, "hostID": 100000, "size": 65536 } ] }
          ],
          "hooks": {
            "createRuntime": [ { "path": "/usr/bin/netsetup", "args": ["netsetup", "up"], "env": ["A=1"], "timeout": 5 } ],
            "createContainer": [ { "path": "/usr/bin/true" } ],
            "startContainer": [ { "path": "/usr/bin/true" } ],
            "poststart": [ { "path": "/usr/bin/logger", "args": ["logger", "started"] } ],
            "poststop": [ { "path": "/usr/bin/netsetup", "args": ["netsetup", "down"] } ]
          },
          "annotations": { "org.opencontainers.image.title": "demo", "com.example/key": "v" },
          "linux": {
            "uidMappings": [ { "containerID": 0, "hostID": 100000, "size": 65536 } ],
            "gidMappings": [ { "containerID": 0, "hostID": 100000, "size": 65536 } ],
            "sysctl": { "net.ipv4.ip_forward": "1", "kernel.shmmax": "1000000" },
            "resources": {
              "devices": [ { "allow": false, "access": "rwm" }, { "allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw" } ],
              "memory": { "limit": 536870912, "reservation": 268435456, "swap": 1073741824, "swappiness": 10, "disableOOMKiller": false, "checkBeforeUpdate": true },
              "cpu": { "shares": 1024, "quota": 50000, "burst": 10000, "period": 100000, "cpus": "0-1", "mems": "0", "idle": 0 },
              "pids": { "limit": 128 },
              "blockIO": {
                "weight": 500,
                "weightDevice": [ { "major": 8, "minor": 0, "weight": 300 } ],
                "throttleReadBpsDevice": [ { "major": 8, "minor": 0, "rate": 1048576 } ],
                "throttleWriteIOPSDevice": [ { "major": 8, "minor": 0, "rate": 100 } ]
              },
              "hugepageLimits": [ { "pageSize": "2MB", "limit": 209715200 } ],
              "network": { "classID": 1048577, "priorities": [ { "name": "eth0", "priority": 500 } ] },
              "rdma": { "mlx5_1": { "hcaHandles": 3, "hcaObjects": 10000 } },
              "unified": { "memory.high": "400M", "io.weight": "default 100" }
            },
            "cgroupsPath": "/berth/demo",
            "namespaces": [
              { "type": "pid" }, { "type": "network", "path": "/var/run/netns/demo" }, { "type": "ipc" }, { "type": "uts" },
              { "type": "mount" }, { "type": "user" }, { "type": "cgroup" }, { "type": "time" }
            ],
            "devices": [ { "path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0 } ],
            "seccomp": {
              "defaultAction": "SCMP_ACT_ERRNO",
              "defaultErrnoRet": 1,
              "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
              "flags": ["SECCOMP_FILTER_FLAG_LOG"],
              "listenerPath": "/run/seccomp-agent.sock",
              "listenerMetadata": "demo",
              "syscalls": [
                { "names": ["read", "write"], "action": "SCMP_ACT_ALLOW" },
                { "names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [ { "index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ" } ] },
                { "names": ["mount"], "action": "SCMP_ACT_NOTIFY" },
                { "names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38 }
              ]
            },
            "rootfsPropagation": "rslave",
            "maskedPaths": ["/proc/kcore", "/sys/firmware"],
            "readonlyPaths": ["/proc/sys"],
            "personality": { "domain": "LINUX32" },
            "timeOffsets": { "monotonic": { "secs": 86400, "nanosecs": 5 }, "boottime": { "secs": -1, "nanosecs": 0 } }
          }
        }
        """;

    [Fact]
    public void A_config_with_every_field_reads_without_warnings()
    {
        var loaded = SpecReader.Parse(Full);
        Assert.Empty(loaded.Warnings);
        var s = loaded.Spec;
        Assert.Equal(18u, s.Process!.User.Umask);
        Assert.Equal([5u, 10u], s.Process.User.AdditionalGids);
        Assert.Empty(s.Process.Capabilities!.Inheritable!);
        Assert.Equal(4096UL, s.Process.Rlimits[0].Hard);
        Assert.Equal("/var/run/netns/demo", s.Linux!.Namespace(NamespaceKind.Network)!.Path);
        Assert.Equal(536870912L, s.Linux.Resources!.Memory!.Limit);
        Assert.Equal("400M", s.Linux.Resources.Unified["memory.high"]);
        Assert.Equal(2114060288UL, s.Linux.Seccomp!.Syscalls[1].Args[0].Value);
        Assert.Equal(-1L, s.Linux.TimeOffsets["boottime"].Secs);
        Assert.Equal("demo", s.Annotations["org.opencontainers.image.title"]);
    }

    [Fact]
    public void Writing_and_reading_back_gives_the_same_json()
    {
        var first = SpecWriter.ToJson(SpecReader.Parse(Full).Spec);
        var second = SpecWriter.ToJson(SpecReader.Parse(first).Spec);
        Assert.Equal(first, second);
        // And what was written is what was read, field for field.
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Full), JsonNode.Parse(first)), first);
    }

    [Fact]
    public void The_written_config_is_tab_indented_like_runcs()
    {
        var json = SpecWriter.ToJson(DefaultSpec.Create());
        Assert.StartsWith("{\n\t\"ociVersion\": \"1.2.0\",\n\t\"process\": {\n\t\t\"terminal\": true,", json);
    }

    [Fact]
    public void An_empty_capability_set_stays_distinct_from_an_absent_one()
    {
        var json = SpecWriter.ToJson(SpecReader.Parse(Full).Spec);
        Assert.Contains("\"inheritable\": []", json);
        var caps = SpecReader.Parse(json).Spec.Process!.Capabilities!;
        Assert.NotNull(caps.Inheritable);
    }
}
