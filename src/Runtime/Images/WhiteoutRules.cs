namespace Berth.Runtime.Images;

/// <summary>
/// The AUFS-style whiteout names of OCI layers (image-spec layer.md): <c>.wh.NAME</c> deletes NAME
/// from the layers below, <c>.wh..wh..opq</c> hides everything the layers below put in its directory,
/// and other <c>.wh..wh.*</c> names are AUFS bookkeeping that is never unpacked.
/// In the overlayfs form of a cached layer, a whiteout is a character device 0:0 and an opaque
/// directory carries the xattr <c>trusted.overlay.opaque=y</c>.
/// </summary>
public static class WhiteoutRules
{
    public const string Prefix = ".wh.";
    public const string MetaPrefix = ".wh..wh.";
    public const string Opaque = ".wh..wh..opq";
    public const string OverlayOpaqueXattr = "trusted.overlay.opaque";

    public enum Kind { None, Whiteout, Opaque, Metadata }

    /// <summary>Classifies the last component of a member name; for a whiteout, <paramref name="target"/> is the name it deletes.</summary>
    public static Kind Classify(string name, out string target)
    {
        target = "";
        if (!name.StartsWith(Prefix, StringComparison.Ordinal)) return Kind.None;
        if (name == Opaque) return Kind.Opaque;
        if (name.StartsWith(MetaPrefix, StringComparison.Ordinal)) return Kind.Metadata;
        target = name[Prefix.Length..];
        return Kind.Whiteout;
    }

    /// <summary>A whiteout of "", "." or ".." would delete a directory instead of one of its entries.</summary>
    public static bool IsValidTarget(string target) => target is not ("" or "." or "..");

    /// <summary>
    /// Xattrs a layer may not set: <c>trusted.overlay.*</c> would be read by overlayfs when the
    /// layer is stacked (redirects, opaque marks, metacopy), so an image could steer the mount.
    /// </summary>
    public static bool IsReservedXattr(string name) => name.StartsWith("trusted.overlay.", StringComparison.Ordinal);
}
