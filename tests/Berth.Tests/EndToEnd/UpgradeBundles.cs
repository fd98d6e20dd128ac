using System.Net;
using System.Net.Sockets;
using System.Text;
using Berth.Qemu;

namespace Berth.Tests.EndToEnd;

/// <summary>
/// Bundles for the upgrade tests, built once with image-build (mkimage.sh --slot-only, then
/// mkbundle.sh with the build key the image trusts) and reused while they are newer than the image.
/// </summary>
public sealed class UpgradeBundles
{
    public string Dir { get; } = Path.Combine(RepoPaths.Root, "build", "test-bundles");
    public string Key => Path.Combine(RepoPaths.Root, "build", "keys", "bundle.key");
    private readonly object _gate = new();

    public string V2 => Get("0.2.0");
    public string V3 => Get("0.3.0");
    public string BrokenV2 => Get("0.2.0-broken", "0.2.0", "--test-break-init");

    public string Get(string name, string? version = null, params string[] mkimageArgs)
    {
        lock (_gate)
        {
            string bundle = Path.Combine(Dir, $"berth-{name}.bundle");
            var newest = new[] { RepoPaths.Image, Path.Combine(RepoPaths.Root, "build", "bin", "berth"),
                Path.Combine(RepoPaths.Root, "image-build", "mkimage.sh") }.Max(File.GetLastWriteTimeUtc);
            if (File.Exists(bundle) && File.GetLastWriteTimeUtc(bundle) > newest) return bundle;
            Directory.CreateDirectory(Dir);
            string slot = Path.Combine(Dir, $"slot-{name}.sqfs");
            HostTools.Checked(Path.Combine(RepoPaths.Root, "image-build", "mkimage.sh"),
                ["--version", version ?? name, "--slot-only", slot, "--pubkey", Path.Combine(RepoPaths.Root, "build", "keys", "bundle.pem"), .. mkimageArgs]);
            MakeBundle(slot, version ?? name, bundle);
            File.Delete(slot);
            return bundle;
        }
    }

    public string MakeBundle(string image, string version, string output, string? key = null, string compatible = "berth-x86_64")
    {
        HostTools.Checked(Path.Combine(RepoPaths.Root, "image-build", "mkbundle.sh"), "--image", image, "--version", version,
            "--key", key ?? Key, "--compatible", compatible, "--out", output);
        return output;
    }

    /// <summary>Extracts the image of a bundle (to re-bundle it differently).</summary>
    public string ExtractImage(string bundle, string dir)
    {
        HostTools.Checked("tar", "-xf", bundle, "-C", dir, "image.sqfs");
        return Path.Combine(dir, "image.sqfs");
    }
}

/// <summary>A loopback HTTP/1.1 server for files (GET only), enough for a streaming download in the guest.</summary>
public sealed class FileServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _root;
    public int Port { get; }
    public int Requests;

    public FileServer(string root)
    {
        _root = root;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        new Thread(Serve) { IsBackground = true }.Start();
    }

    private void Serve()
    {
        while (true)
        {
            TcpClient client;
            try { client = _listener.AcceptTcpClient(); } catch (SocketException) { return; } catch (ObjectDisposedException) { return; }
            new Thread(() => Handle(client)) { IsBackground = true }.Start();
        }
    }

    private void Handle(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var reader = new StreamReader(stream, Encoding.ASCII);
                string request = reader.ReadLine() ?? "";
                while (!string.IsNullOrEmpty(reader.ReadLine())) { }
                Interlocked.Increment(ref Requests);
                var parts = request.Split(' ');
                string path = parts.Length > 1 ? Path.Combine(_root, Path.GetFileName(Uri.UnescapeDataString(parts[1]))) : "";
                if (parts[0] != "GET" || !File.Exists(path))
                {
                    stream.Write(Encoding.ASCII.GetBytes("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
                    return;
                }
                using var file = File.OpenRead(path);
                stream.Write(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {file.Length}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n"));
                file.CopyTo(stream);
            }
            catch (IOException) { }
        }
    }

    public void Dispose() => _listener.Stop();
}
