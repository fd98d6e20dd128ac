using System.Runtime.InteropServices;
using Berth.Runtime.Interop;
using Berth.Runtime.Linux;
using Berth.Runtime.Oci;

namespace Berth.Runtime.Containers;

/// <summary>
/// The container's cgroup, made and configured before the clone and held open for clone3's
/// CLONE_INTO_CGROUP, so the container's process is born in it and never runs a moment unlimited.
/// </summary>
/// <remarks>
/// An existing cgroup that already holds processes is refused, unless the container joins an
/// existing pid namespace by path: then it is part of another container, and sharing that
/// container's cgroup is what it asks for. A joined cgroup is never killed or removed by this
/// container's teardown; it belongs to the container that made it.
/// </remarks>
public sealed class CgroupPlacement : IDisposable
{
    /// <summary>The cgroup's directory (absolute, under the hierarchy's mount).</summary>
    public required string Path { get; init; }
    public int DirectoryFd => _fd?.Fd ?? -1;
    /// <summary>The outermost directory this runtime made for the container (removed on teardown when empty); null if the cgroup existed.</summary>
    public string? CreatedFrom { get; init; }
    /// <summary>The cgroup already held another container's processes.</summary>
    public bool Joined { get; init; }

    private FileDescriptor? _fd;

    private const int MaxAttempts = 5;

    /// <returns>null when the machine has no usable cgroup v2 hierarchy: the container runs without one, with a warning.</returns>
    public static CgroupPlacement? Create(RuntimeSpec spec, string id, string source, Action<string> warn)
    {
        var linux = spec.Linux ?? new LinuxSpec();
        var resources = CgroupResources.Translate(linux.Resources, source);
        foreach (var w in resources.Warnings) warn(w.Format(source));

        var hierarchy = CgroupHierarchy.Find();
        if (hierarchy is null)
        {
            string where = string.Join(" or ", CgroupHierarchy.Candidates);
            RefuseUnified(resources, source, $"there is no cgroup2 filesystem at {where}");
            warn($"no cgroup2 (unified) hierarchy at {where}: container \"{id}\" runs without a cgroup of its own");
            foreach (var write in resources.Writes) warn(NotApplied(source, write, $"there is no cgroup2 filesystem at {where}"));
            WarnDevicesNotEnforced(linux, source, $"there is no cgroup2 filesystem at {where}", warn);
            return null;
        }

        string cgroup = CgroupPath.Resolve(linux.CgroupsPath, id, CgroupHierarchy.OwnCgroup(), source);
        bool isDefault = string.IsNullOrEmpty(linux.CgroupsPath);
        var made = MakeDirectories(hierarchy, cgroup, out int mkdirErrno);
        if (made is null)
        {
            string why = $"cannot make {hierarchy.DirectoryOf(cgroup)}: {Errno.Describe(mkdirErrno)}";
            RefuseUnified(resources, source, why);
            warn($"{why}: container \"{id}\" runs without a cgroup of its own");
            foreach (var write in resources.Writes) warn(NotApplied(source, write, why));
            WarnDevicesNotEnforced(linux, source, why, warn);
            return null;
        }
        string dir = hierarchy.DirectoryOf(cgroup);
        string? createdFrom = made.Value.CreatedFrom;
        // The default parent belongs to the runtime, whoever of its containers happened to make it.
        if (isDefault && made.Value.LeafCreated) createdFrom = hierarchy.DirectoryOf(CgroupPath.DefaultParent);

        bool joined = false;
        if (!made.Value.LeafCreated)
        {
            var pids = CgroupHierarchy.Processes(dir);
            if (pids.Count > 0)
            {
                if (linux.Namespace(NamespaceKind.Pid) is not { Path: not null })
                    throw new SpecException(source, "$.linux.cgroupsPath",
                        $"cgroup {cgroup} ({dir}) already holds {pids.Count} process(es) ({string.Join(", ", pids.Take(5))}): " +
                        "a container needs a cgroup of its own (only one that joins a pid namespace by path may share one)");
                joined = true;
            }
        }
        var placement = new CgroupPlacement { Path = dir, CreatedFrom = createdFrom, Joined = joined };
        try
        {
            // cpu, memory, pids and io also without limits, where the hierarchy has them: what
            // `berth top` and the OOM report read (memory.current, cpu.stat) needs the controllers on.
            var missing = EnableControllers(hierarchy, cgroup, resources.Controllers.Union(AccountingControllers).ToList());
            var available = CgroupHierarchy.Controllers(dir).ToHashSet();
            foreach (var write in resources.Writes)
            {
                if (write.Controller != "cgroup" && !available.Contains(write.Controller))
                {
                    string why = missing.TryGetValue(write.Controller, out var reason) ? reason : $"the {write.Controller} controller is not available in {dir}";
                    if (write.JsonPath.StartsWith("$.linux.resources.unified", StringComparison.Ordinal))
                        throw new SpecException(source, write.JsonPath, $"cannot write {write.File}: {why}");
                    warn(NotApplied(source, write, why));
                    continue;
                }
                string file = System.IO.Path.Combine(dir, write.File);
                try { PseudoFile.Write(file, write.Value); }
                catch (SyscallException e) when (e.Errno == Consts.ENOENT && write is { File: "memory.swap.max", Value: "max" or "0" })
                {
                    // As runc: without swap accounting there is no swap to limit, so "unlimited" or "none" holds anyway.
                    warn(NotApplied(source, write, $"{file} does not exist (the kernel does not account swap)"));
                }
                catch (SyscallException e)
                {
                    throw new SpecException(source, write.JsonPath, $"writing \"{write.Value}\" to {file}: {Errno.Describe(e.Errno)}");
                }
            }
            placement._fd = FileDescriptor.Open(dir, Consts.O_RDONLY | Consts.O_DIRECTORY);
            var deviceRules = DeviceFilterProgram.RulesFor(linux);
            if (deviceRules.Count > 0 && joined)
                warn($"{source}: $.linux.resources.devices: not attached to {dir}: the container shares the cgroup of the one it joins, whose device rules apply to it");
            else if (deviceRules.Count > 0)
            {
                try { CgroupDeviceFilter.Attach(placement._fd, DeviceFilterProgram.Compile(deviceRules)); }
                catch (SyscallException e) { WarnDevicesNotEnforced(linux, source, e.Message, warn); }
            }
            return placement;
        }
        catch
        {
            placement.Dispose();
            CgroupTeardown.Remove(placement.Path, placement.CreatedFrom, placement.Joined, _ => { });
            throw;
        }
    }

    /// <summary>`kill --all`: every process in the container's cgroup and below it.</summary>
    public static IReadOnlyList<int> Processes(string path) => CgroupHierarchy.Processes(path);

    public void Dispose()
    {
        _fd?.Dispose();
        _fd = null;
    }

    private static void WarnDevicesNotEnforced(LinuxSpec linux, string source, string why, Action<string> warn)
    {
        if (linux.Resources?.Devices is not { Count: > 0 } rules) return;
        warn($"{source}: $.linux.resources.devices: {rules.Count} device rule(s) NOT enforced ({why}): the container sees only " +
             "the device nodes it is given, but a process with CAP_MKNOD could make and open others");
    }

    private static string NotApplied(string source, CgroupWrite w, string why) =>
        $"{source}: {w.JsonPath}: NOT applied ({w.File} \"{w.Value}\"): {why}";

    /// <summary>unified entries are explicit cgroup v2 files: without the hierarchy, the container cannot have what it asks for.</summary>
    private static void RefuseUnified(CgroupResources resources, string source, string why)
    {
        if (resources.Writes.FirstOrDefault(w => w.JsonPath.StartsWith("$.linux.resources.unified", StringComparison.Ordinal)) is { } u)
            throw new SpecException(source, u.JsonPath, $"cannot write {u.File}: {why}");
    }

    /// <summary>mkdir of each missing level; another runtime may remove an empty parent meanwhile, hence the retries.</summary>
    private static (string? CreatedFrom, bool LeafCreated)? MakeDirectories(CgroupHierarchy h, string cgroup, out int errno)
    {
        errno = 0;
        for (int attempt = 0; attempt < MaxAttempts; attempt++)
        {
            string? createdFrom = null;
            bool leafCreated = false, retry = false;
            string dir = h.Mount;
            var parts = cgroup.Split('/', StringSplitOptions.RemoveEmptyEntries);
            for (int i = 0; i < parts.Length; i++)
            {
                dir += "/" + parts[i];
                if (LibC.Mkdir(dir, 0x1ed /* 0755 */) == 0)
                {
                    createdFrom ??= dir;
                    leafCreated = i == parts.Length - 1;
                    continue;
                }
                errno = Marshal.GetLastPInvokeError();
                if (errno == Consts.EEXIST) continue;
                if (errno == Consts.ENOENT) { retry = true; break; }
                if (createdFrom is not null) CgroupTeardown.RemoveEmpty(dir, createdFrom);
                return null;
            }
            if (!retry) return (createdFrom, leafCreated);
            if (createdFrom is not null) CgroupTeardown.RemoveEmpty(dir, createdFrom);
        }
        return null;
    }

    private static readonly string[] AccountingControllers = ["cpu", "memory", "pids", "io"];

    /// <summary>
    /// "+controller" in cgroup.subtree_control of every ancestor of the container's cgroup, for the
    /// controllers it needs and each ancestor offers. Returns, per controller that could not be
    /// enabled all the way down, the reason.
    /// </summary>
    private static Dictionary<string, string> EnableControllers(CgroupHierarchy h, string cgroup, IReadOnlyList<string> needed)
    {
        var missing = new Dictionary<string, string>();
        var parts = cgroup.Split('/', StringSplitOptions.RemoveEmptyEntries);
        string dir = h.Mount;
        for (int i = 0; i < parts.Length; i++)
        {
            var offered = CgroupHierarchy.Controllers(dir);
            var enabled = CgroupHierarchy.ReadList(dir, "cgroup.subtree_control");
            foreach (var c in needed)
            {
                if (missing.ContainsKey(c) || enabled.Contains(c)) continue;
                if (!offered.Contains(c))
                {
                    missing[c] = i == 0
                        ? $"this host's cgroup2 hierarchy at {h.Mount} has no {c} controller (it offers: {Describe(offered)})"
                        : $"{dir} does not get the {c} controller from its parent";
                    continue;
                }
                if (!PseudoFile.TryWrite(System.IO.Path.Combine(dir, "cgroup.subtree_control"), "+" + c, out var error))
                    missing[c] = $"cannot enable it in {dir}/cgroup.subtree_control: {error}";
            }
            dir += "/" + parts[i];
        }
        return missing;
    }

    private static string Describe(IReadOnlyList<string> controllers) => controllers.Count == 0 ? "none" : string.Join(" ", controllers);
}
