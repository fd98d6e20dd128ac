using System.Text.Json;
using Berth.Runtime.Interop;
using Berth.Runtime.Linux;
using Berth.Runtime.Oci;

namespace Berth.Runtime.Containers;

/// <summary>What the runtime remembers of a container between commands (state.json in its directory).</summary>
public sealed record ContainerRecord
{
    public required string Id { get; init; }
    public required string Bundle { get; init; }
    public required string Rootfs { get; init; }
    public required int Pid { get; init; }
    /// <summary>Field 22 of /proc/PID/stat when created: tells the container's process from a later one with a reused pid.</summary>
    public required ulong PidStartTime { get; init; }
    public required DateTimeOffset Created { get; init; }
    public uint Owner { get; init; }
    /// <summary>The container's cgroup directory (absolute), if it has one.</summary>
    public string? Cgroup { get; init; }
    /// <summary>The outermost cgroup directory the runtime made for the container, removed with it when empty.</summary>
    public string? CgroupCreatedFrom { get; init; }
    /// <summary>The cgroup is another container's (see <see cref="CgroupPlacement"/>): teardown leaves it alone.</summary>
    public bool CgroupJoined { get; init; }
    public IReadOnlyDictionary<string, string> Annotations { get; init; } = RuntimeSpec.EmptyMap;
    /// <summary>Hooks that later commands run; kept so that start and delete need not re-read config.json.</summary>
    public bool HasPoststart { get; init; }
    public bool HasPoststop { get; init; }

    public byte[] ToUtf8()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("id", Id);
            w.WriteString("bundle", Bundle);
            w.WriteString("rootfs", Rootfs);
            w.WriteNumber("pid", Pid);
            w.WriteNumber("pidStartTime", PidStartTime);
            w.WriteString("created", Created.UtcDateTime.ToString("O"));  // "Z", not "+00:00": a "+" makes the writer build its escaper (~0.3 ms of every command)
            w.WriteNumber("owner", Owner);
            if (Cgroup is not null) w.WriteString("cgroup", Cgroup);
            if (CgroupCreatedFrom is not null) w.WriteString("cgroupCreatedFrom", CgroupCreatedFrom);
            if (CgroupJoined) w.WriteBoolean("cgroupJoined", true);
            w.WriteBoolean("hasPoststart", HasPoststart);
            w.WriteBoolean("hasPoststop", HasPoststop);
            w.WriteStartObject("annotations");
            foreach (var (k, v) in Annotations) w.WriteString(k, v);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    public static ContainerRecord Parse(byte[] json, string source)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var r = doc.RootElement;
            var annotations = new Dictionary<string, string>();
            if (r.TryGetProperty("annotations", out var a))
                foreach (var p in a.EnumerateObject()) annotations[p.Name] = p.Value.GetString() ?? "";
            return new ContainerRecord
            {
                Id = r.GetProperty("id").GetString()!,
                Bundle = r.GetProperty("bundle").GetString()!,
                Rootfs = r.GetProperty("rootfs").GetString()!,
                Pid = r.GetProperty("pid").GetInt32(),
                PidStartTime = r.GetProperty("pidStartTime").GetUInt64(),
                Created = DateTimeOffset.Parse(r.GetProperty("created").GetString()!, System.Globalization.CultureInfo.InvariantCulture),
                Owner = r.TryGetProperty("owner", out var o) ? o.GetUInt32() : 0,
                Cgroup = r.TryGetProperty("cgroup", out var c) ? c.GetString() : null,
                CgroupCreatedFrom = r.TryGetProperty("cgroupCreatedFrom", out var cf) ? cf.GetString() : null,
                CgroupJoined = r.TryGetProperty("cgroupJoined", out var cj) && cj.GetBoolean(),
                HasPoststart = r.TryGetProperty("hasPoststart", out var ps) && ps.GetBoolean(),
                HasPoststop = r.TryGetProperty("hasPoststop", out var pt) && pt.GetBoolean(),
                Annotations = annotations,
            };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new RuntimeException($"{source}: corrupt container state: {e.Message}");
        }
    }
}

/// <summary>A runtime command that cannot be carried out; the message says why, for the operator.</summary>
public class RuntimeException(string message) : Exception(message);

/// <summary>
/// Container state directories under the runtime root (--root, default /run/berth/runtime):
/// ROOT/ID/state.json, ROOT/ID/exec.fifo while created, ROOT/ID/config.json (a copy for later commands).
/// </summary>
public sealed class ContainerStore(string root)
{
    public const string DefaultRoot = "/run/berth/runtime";
    public const string StateFile = "state.json";
    public const string FifoName = "exec.fifo";
    public const string ConfigCopy = "config.json";

    public string Root { get; } = root;

    public string DirectoryOf(string id) => Path.Combine(Root, id);

    /// <summary>runc's rule: letters, digits, and _ + - . ; not "." or "..".</summary>
    public static void ValidateId(string id)
    {
        if (id.Length == 0 || id.Length > 1024 || id is "." or ".." ||
            !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '+' or '-' or '.'))
            throw new RuntimeException($"invalid container id \"{id}\": use letters, digits, '_', '+', '-' and '.'");
    }

    /// <summary>Claims the id: mkdir is atomic, so two creates of one id cannot both succeed.</summary>
    public string Claim(string id)
    {
        ValidateId(id);
        Files.MakeDirectories(Root, 0x1c0 /* 0700 */);
        string dir = DirectoryOf(id);
        int r = LibC.Mkdir(dir, 0x1c0);
        if (r < 0)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno == Consts.EEXIST) throw new RuntimeException($"container \"{id}\" already exists");
            throw new SyscallException("mkdir", dir, errno);
        }
        return dir;
    }

    public void Save(ContainerRecord record) =>
        Files.WriteAtomically(Path.Combine(DirectoryOf(record.Id), StateFile), record.ToUtf8(), 0x180 /* 0600 */, durable: false);

    public ContainerRecord Load(string id)
    {
        ValidateId(id);
        string path = Path.Combine(DirectoryOf(id), StateFile);
        byte[] json;
        try { json = File.ReadAllBytes(path); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new RuntimeException($"container \"{id}\" does not exist");
        }
        return ContainerRecord.Parse(json, path);
    }

    public IEnumerable<ContainerRecord> All()
    {
        if (!Directory.Exists(Root)) yield break;
        foreach (var dir in Directory.EnumerateDirectories(Root).Order(StringComparer.Ordinal))
        {
            string path = Path.Combine(dir, StateFile);
            byte[] json;
            try { json = File.ReadAllBytes(path); }
            catch (IOException) { continue; } // being created or deleted
            yield return ContainerRecord.Parse(json, path);
        }
    }

    /// <summary>Removes the state directory (state.json, the fifo, the config copy).</summary>
    public void Remove(string id)
    {
        string dir = DirectoryOf(id);
        foreach (var name in new[] { StateFile, FifoName, ConfigCopy, StateFile + ".tmp" })
            LibC.Unlink(Path.Combine(dir, name));
        if (LibC.Rmdir(dir) < 0)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno != Consts.ENOENT) throw new SyscallException("rmdir", dir, errno);
        }
    }
}
