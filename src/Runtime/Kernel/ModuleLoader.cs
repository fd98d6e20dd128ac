using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Runtime.Kernel;

/// <summary>
/// Loads kernel modules the way modprobe does: dependencies (and softdep pre-modules) first,
/// built-in and already-loaded modules skipped, each file handed to the kernel with finit_module.
/// </summary>
public sealed class ModuleLoader
{
    private readonly ModuleIndex _index;
    private readonly HashSet<string> _loaded;
    private readonly object _gate = new();

    public ModuleLoader(ModuleIndex index)
    {
        _index = index;
        _loaded = ReadLoadedModules();
    }

    public ModuleIndex Index => _index;

    /// <summary>Opens the index of the running kernel.</summary>
    public static ModuleLoader ForRunningKernel(string modulesRoot = "/lib/modules")
    {
        string release = PseudoFile.Read("/proc/sys/kernel/osrelease").Trim();
        return new ModuleLoader(ModuleIndex.Load(Path.Combine(modulesRoot, release)));
    }

    private static HashSet<string> ReadLoadedModules()
    {
        var set = new HashSet<string>();
        var text = PseudoFile.TryRead("/proc/modules", 1 << 20);
        if (text is null) return set;
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            set.Add(line.Split(' ')[0]);
        return set;
    }

    /// <summary>Loads <paramref name="name"/> and what it needs; returns the modules newly loaded.</summary>
    public IReadOnlyList<string> Load(string name, string parameters = "")
    {
        var loadedNow = new List<string>();
        var plan = _index.Plan(name);
        lock (_gate)
        {
            foreach (var (module, optional) in plan)
            {
                if (_loaded.Contains(module.Name)) continue;
                string file = Path.Combine(_index.Root, module.RelativePath);
                using var fd = FileDescriptor.TryOpen(file, O_RDONLY);
                if (fd is null)
                {
                    if (optional) continue;
                    throw SyscallException.Last("open", file);
                }
                int errno = SystemControl.FInitModule(fd, module.Name == ModuleIndex.Normalize(name) ? parameters : "");
                // A soft dependency may not fit this machine (crc32c_intel without SSE4.2: ENODEV).
                if (errno != 0 && errno != EEXIST && optional) continue;
                if (errno != 0 && errno != EEXIST)
                    throw new SyscallException("finit_module", file, errno);
                _loaded.Add(module.Name);
                if (errno == 0) loadedNow.Add(module.Name);
            }
        }
        return loadedNow;
    }

    /// <summary>Loads every module whose alias matches <paramref name="modalias"/>; failures are returned, not thrown.</summary>
    public IReadOnlyList<string> LoadForAlias(string modalias, List<string> errors)
    {
        var loaded = new List<string>();
        foreach (var module in _index.ResolveAlias(modalias))
        {
            try { loaded.AddRange(Load(module)); }
            catch (Exception e) when (e is SyscallException or ModuleNotFoundException)
            {
                errors.Add($"{module} for {modalias}: {e.Message}");
            }
        }
        return loaded;
    }
}
