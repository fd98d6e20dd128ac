using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Runtime.Images;

/// <summary>
/// Cached layer directories (overlay form, see <see cref="WhiteoutMode.Overlay"/>) stacked into one
/// root filesystem with overlayfs. <see cref="Layers"/> is bottom first, as in the manifest;
/// overlayfs wants <c>lowerdir=</c> top first, which <see cref="MountOptions"/> takes care of.
/// </summary>
public sealed record OverlayStack(IReadOnlyList<string> Layers)
{
    /// <summary>mount(2) takes at most one page of option data.</summary>
    public const int MaxOptionsLength = 4095;

    /// <summary>
    /// The overlay mount data: <c>lowerdir=top:…:bottom</c>, plus <c>upperdir=</c>/<c>workdir=</c>
    /// for a writable root. Paths are escaped as overlayfs parses them (':' ',' and '\').
    /// </summary>
    public string MountOptions(string? upperDir = null, string? workDir = null)
    {
        if (Layers.Count == 0) throw new ImageException("an overlay needs at least one layer");
        if ((upperDir is null) != (workDir is null))
            throw new ImageException("an overlay upper directory needs a work directory, and the other way round");
        string options = "lowerdir=" + string.Join(':', Layers.Reverse().Select(Escape));
        if (upperDir is not null) options += ",upperdir=" + Escape(upperDir) + ",workdir=" + Escape(workDir!);
        if (options.Length > MaxOptionsLength)
            throw new ImageException($"overlay options for {Layers.Count} layers are {options.Length} bytes, more than mount(2) accepts ({MaxOptionsLength}); keep the image store at a shorter path");
        return options;
    }

    /// <summary>
    /// Mounts the stack on <paramref name="target"/>: read-only without an upper directory. A single
    /// layer without an upper directory is bind-mounted read-only instead, because overlayfs wants
    /// two lower layers when it has no upper one.
    /// </summary>
    public void Mount(string target, string? upperDir = null, string? workDir = null)
    {
        if (Layers.Count == 1 && upperDir is null)
        {
            Mounts.Bind(Layers[0], target);
            Mounts.Mount(null, target, null, MS_REMOUNT | MS_BIND | MS_RDONLY);
            return;
        }
        Mounts.Mount("overlay", target, "overlay", upperDir is null ? MS_RDONLY : 0, MountOptions(upperDir, workDir));
    }

    private static string Escape(string path)
    {
        path = Path.GetFullPath(path);
        return path.Replace("\\", "\\\\").Replace(":", "\\:").Replace(",", "\\,");
    }
}
