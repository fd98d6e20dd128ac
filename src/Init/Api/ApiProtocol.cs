using System.Text.Json.Serialization;

namespace Berth.Init.Api;

/// <summary>
/// PID 1's API on /run/berth/api.sock: one JSON request line, one JSON response line, then the
/// connection closes. Root only (SO_PEERCRED). Small on purpose: the CLI is its only client.
/// </summary>
public sealed record ApiRequest(string Command, string? Name = null);

public sealed record ApiResponse(bool Ok, string? Error = null, IReadOnlyList<ServiceInfo>? Services = null, string? Message = null,
    IReadOnlyList<ServiceUsage>? Usage = null, AppliedConfig? Applied = null);

/// <summary>What `berth config apply` did: services by what happened to them, and the config's findings.</summary>
public sealed record AppliedConfig(IReadOnlyList<string> Added, IReadOnlyList<string> Removed, IReadOnlyList<string> Restarted,
    IReadOnlyList<string> Unchanged, IReadOnlyList<string> Findings);

/// <summary>One row of `berth top`: cumulative CPU and current memory, from the service's cgroup (or its process, for a plain one).</summary>
public sealed record ServiceUsage(string Name, long CpuMicroseconds, long MemoryBytes, int Processes, string Source);

/// <summary>One row of `berth ps`.</summary>
public sealed record ServiceInfo(string Name, string State, int Pid, double UptimeSeconds, int Restarts, string Health, string? LastExit, string Kind);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ApiRequest))]
[JsonSerializable(typeof(ApiResponse))]
internal sealed partial class ApiJson : JsonSerializerContext;
