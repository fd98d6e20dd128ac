using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Berth.Init.Stage2;
using Berth.Runtime.Linux;

namespace Berth.Init.Api;

/// <summary>Serves <see cref="ApiRequest"/>s from root on the API socket, one thread per connection.</summary>
public sealed class ApiServer(ServiceSupervisor supervisor, Action<PowerAction, string> power, string path = ApiServer.DefaultPath,
    Func<AppliedConfig>? applyConfig = null)
{
    public const string DefaultPath = "/run/berth/api.sock";
    private Socket? _listener;

    public void Start()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.Delete(path);
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        // Anyone may connect; SO_PEERCRED decides, so a non-root caller gets a clear refusal rather than EACCES.
        File.SetUnixFileMode(path, (UnixFileMode)0x1b6);
        _listener.Listen(16);
        new Thread(AcceptLoop) { IsBackground = true, Name = "api" }.Start();
    }

    private void AcceptLoop()
    {
        while (true)
        {
            Socket client;
            try { client = _listener!.Accept(); }
            catch (SocketException) { Thread.Sleep(100); continue; }
            catch (ObjectDisposedException) { return; }
            new Thread(() => Serve(client)) { IsBackground = true, Name = "api client" }.Start();
        }
    }

    private void Serve(Socket client)
    {
        using (client)
        using (var stream = new NetworkStream(client))
        {
            ApiResponse response;
            try
            {
                var peer = PeerCredentials.Of(client.Handle, path);
                // Read the request either way: closing on an unread request would hand the client EPIPE, not the reason.
                var request = ReadRequest(stream);
                response = !ApiAccess.Allowed(peer)
                    ? new ApiResponse(false, $"permission denied: the Berth API is for root and the group berth ({ApiAccess.BerthGid}) (you are uid {peer.Uid})")
                    : Handle(request);
            }
            catch (Exception e) when (e is JsonException or IOException or SyscallException or InvalidOperationException)
            {
                response = new ApiResponse(false, e.Message);
            }
            try
            {
                stream.Write(JsonSerializer.SerializeToUtf8Bytes(response, ApiJson.Default.ApiResponse));
                stream.WriteByte((byte)'\n');
            }
            catch (IOException) { }
        }
    }

    private static ApiRequest ReadRequest(NetworkStream stream)
    {
        var line = new List<byte>();
        int b;
        while ((b = stream.ReadByte()) >= 0 && b != '\n')
        {
            if (line.Count > 64 * 1024) throw new InvalidOperationException("request too long");
            line.Add((byte)b);
        }
        return JsonSerializer.Deserialize(line.ToArray(), ApiJson.Default.ApiRequest)
            ?? throw new InvalidOperationException("empty request");
    }

    internal ApiResponse Handle(ApiRequest request)
    {
        string Need() => request.Name ?? throw new InvalidOperationException($"{request.Command}: which service?");
        switch (request.Command)
        {
            case "ps":
                return new ApiResponse(true, Services: supervisor.Snapshot().Select(Info).ToList());
            case "top":
                return new ApiResponse(true, Usage: supervisor.Snapshot().Select(ServiceUsageReader.Read).ToList());
            case "start":
                supervisor.StartService(Need());
                return new ApiResponse(true, Message: $"{request.Name} started");
            case "stop":
                supervisor.StopService(Need(), TimeSpan.FromSeconds(10));
                return new ApiResponse(true, Message: $"{request.Name} stopped");
            case "restart":
                supervisor.StopService(Need(), TimeSpan.FromSeconds(10));
                supervisor.StartService(Need());
                return new ApiResponse(true, Message: $"{request.Name} restarted");
            case "apply-config" when applyConfig is not null:
                var applied = applyConfig();
                return new ApiResponse(true, Applied: applied, Message: "config applied");
            case "reboot" or "poweroff" or "halt":
                var action = request.Command switch { "reboot" => PowerAction.Reboot, "poweroff" => PowerAction.PowerOff, _ => PowerAction.Halt };
                power(action, $"berth os {request.Command}");
                return new ApiResponse(true, Message: $"{request.Command} started");
            default:
                return new ApiResponse(false, $"unknown command \"{request.Command}\"");
        }
    }

    private static ServiceInfo Info(ServiceStatus s) => new(
        s.Name,
        s.State.ToString().ToLowerInvariant(),
        s.Pid,
        s.State == ServiceState.Running && s.Since is { } since ? Math.Round((DateTime.UtcNow - since).TotalSeconds, 1) : 0,
        s.Restarts,
        s.Health == HealthState.None ? "-" : s.Health.ToString().ToLowerInvariant(),
        s.LastExit,
        s.Kind);
}
