using System.Net.Sockets;
using System.Text.Json;

namespace Berth.Init.Api;

/// <summary>The CLI's side of the API socket.</summary>
public static class ApiClient
{
    public static ApiResponse Call(ApiRequest request, string path = ApiServer.DefaultPath)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try { socket.Connect(new UnixDomainSocketEndPoint(path)); }
        catch (SocketException e)
        {
            throw new ApiUnavailableException($"cannot reach PID 1 at {path}: {e.Message} (is this a Berth machine, and are you root?)");
        }
        using var stream = new NetworkStream(socket);
        stream.Write(JsonSerializer.SerializeToUtf8Bytes(request, ApiJson.Default.ApiRequest));
        stream.WriteByte((byte)'\n');
        using var reader = new StreamReader(stream);
        string line = reader.ReadLine() ?? throw new ApiUnavailableException($"{path}: PID 1 closed the connection without an answer");
        return JsonSerializer.Deserialize(line, ApiJson.Default.ApiResponse)
            ?? throw new ApiUnavailableException($"{path}: an empty answer");
    }
}

public sealed class ApiUnavailableException(string message) : Exception(message);
