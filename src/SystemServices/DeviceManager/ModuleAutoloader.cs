using Berth.Runtime.Kernel;

namespace Berth.SystemServices.DeviceManager;

/// <summary>
/// Loads a device's driver by its MODALIAS through modules.alias, with stage 1's loader (the
/// same index and finit_module). An alias is resolved once: a hundred identical events (each
/// CPU, each memory block) cost one look-up.
/// </summary>
public sealed class ModuleAutoloader(ModuleLoader loader)
{
    private readonly HashSet<string> _done = new(StringComparer.Ordinal);

    /// <summary>The modules newly loaded for <paramref name="modalias"/>; failures go to <paramref name="errors"/>.</summary>
    public IReadOnlyList<string> Load(string modalias, List<string> errors)
    {
        if (!_done.Add(modalias)) return [];
        return loader.LoadForAlias(modalias, errors);
    }
}
