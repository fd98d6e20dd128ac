using Berth.Runtime.Linux;

namespace Berth.Init.Stage2;

/// <summary>
/// The host's channel into the guest: when the host attached a virtio-serial port named
/// <c>org.berth.agent</c> (only a hypervisor can), a shell reads commands from it. The test
/// harness and benchmarks drive the guest through it instead of scraping the serial console.
/// </summary>
public static class AgentPort
{
    public const string PortName = "org.berth.agent";

    public static string? Find()
    {
        const string dir = "/sys/class/virtio-ports";
        if (!Directory.Exists(dir)) return null;
        foreach (var port in Directory.EnumerateDirectories(dir))
        {
            var name = PseudoFile.TryRead(Path.Combine(port, "name"))?.Trim();
            if (name == PortName) return "/dev/" + Path.GetFileName(port);
        }
        return null;
    }

    /// <summary>Waits a little for the port: virtio_console creates it asynchronously after loading.</summary>
    public static string? WaitFor(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var found = Find();
            if (found is not null && File.Exists(found)) return found;
            if (DateTime.UtcNow >= deadline) return null;
            Thread.Sleep(10);
        }
    }

    public static bool VirtioSerialPresent() =>
        Directory.Exists("/sys/bus/virtio/devices") && Directory.EnumerateDirectories("/sys/bus/virtio/devices")
            .Any(d => PseudoFile.TryRead(Path.Combine(d, "device"))?.Trim() == "0x0003");

    public static ServiceDefinition Service(string device) => new()
    {
        Name = "agent",
        Spec = new SpawnSpec
        {
            Executable = "/bin/sh",
            StdioPath = device,
            NewSession = true,
            Environment = ProcessSpawner.DefaultEnvironment,
        },
        Restart = RestartPolicy.Always,
    };
}
