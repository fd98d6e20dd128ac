using System.Text.Json.Serialization;

namespace Berth.Init.Api;

/// <summary>
/// PID 1's API on /run/berth/api.sock: one JSON request line, one JSON response line, then the
/// connection closes. Root only (SO_PEERCRED). Small on purpose: the CLI is its only client.
/// </summary>
public sealed record ApiRequest(string Command, string? Name = null);

public sealed record ApiResponse(bool Ok, string? Error = null, IReadOnlyList<ServiceInfo>? Services = null, string? Message = null);

/// <summary>One row of `berth ps`.</summary>
public sealed record ServiceInfo(string Name, string State, int Pid, double UptimeSeconds, int Restarts, string Health, string? LastExit, string Kind);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ApiRequest))]
[JsonSerializable(typeof(ApiResponse))]
internal sealed partial class ApiJson : JsonSerializerContext;
