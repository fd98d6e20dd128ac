using Berth.Runtime.Oci;

namespace Berth.Runtime.Security;

/// <summary>
/// What the container init does to its capabilities before execve: which capabilities to drop
/// from the bounding set, the effective/permitted/inheritable masks for capset, and which ambient
/// capabilities to raise. Built from process.capabilities and the kernel's cap_last_cap.
/// </summary>
public sealed record CapabilityPlan
{
    public required CapabilitySet Bounding { get; init; }
    public required CapabilitySet Effective { get; init; }
    public required CapabilitySet Permitted { get; init; }
    public required CapabilitySet Inheritable { get; init; }
    public required CapabilitySet Ambient { get; init; }
    /// <summary>The highest capability the running kernel knows; nothing above it is touched.</summary>
    public required int LastCap { get; init; }
    public IReadOnlyList<SpecWarning> Warnings { get; init; } = [];

    /// <summary>Capabilities to remove with PR_CAPBSET_DROP: every one the kernel knows that is not in the bounding set.</summary>
    public IReadOnlyList<int> BoundingDrops => CapabilitySet.UpTo(LastCap).Except(Bounding).Numbers().ToList();

    /// <summary>Capabilities to raise with PR_CAP_AMBIENT_RAISE, after capset.</summary>
    public IReadOnlyList<int> AmbientRaises => Ambient.Numbers().ToList();

    /// <summary>
    /// The plan for a spec's process.capabilities. A set left out is empty (as in runc). Null means
    /// capabilities are not managed at all: the process keeps what the runtime has.
    /// </summary>
    public static CapabilityPlan? For(CapabilitiesSpec? spec, int lastCap, string source = "config.json", string path = "$.process.capabilities")
    {
        if (spec is null) return null;
        var warnings = new List<SpecWarning>();
        var known = CapabilitySet.UpTo(lastCap);

        CapabilitySet Set(IReadOnlyList<string>? names, string set)
        {
            var all = Capabilities.SetOf(names ?? []);
            var missing = all.Except(known);
            if (!missing.IsEmpty)
                warnings.Add(new SpecWarning($"{path}.{set}", $"{missing} not known to the running kernel (cap_last_cap {lastCap}), ignored"));
            return all.Intersect(known);
        }

        var bounding = Set(spec.Bounding, "bounding");
        var effective = Set(spec.Effective, "effective");
        var permitted = Set(spec.Permitted, "permitted");
        var inheritable = Set(spec.Inheritable, "inheritable");
        var ambient = Set(spec.Ambient, "ambient");

        // capset fails with EPERM when effective is not within permitted.
        var notPermitted = effective.Except(permitted);
        if (!notPermitted.IsEmpty)
            throw new SpecException(source, $"{path}.effective", $"{notPermitted} not in the permitted set: the kernel refuses that");

        // The kernel raises an ambient capability only if it is permitted and inheritable; runc
        // tries anyway and warns on EPERM. Say so up front and leave them out.
        var unraisable = ambient.Except(permitted.Intersect(inheritable));
        if (!unraisable.IsEmpty)
        {
            warnings.Add(new SpecWarning($"{path}.ambient", $"{unraisable} not both permitted and inheritable: cannot be ambient, not raised"));
            ambient = ambient.Intersect(permitted.Intersect(inheritable));
        }
        return new CapabilityPlan
        {
            Bounding = bounding,
            Effective = effective,
            Permitted = permitted,
            Inheritable = inheritable,
            Ambient = ambient,
            LastCap = lastCap,
            Warnings = warnings,
        };
    }
}
