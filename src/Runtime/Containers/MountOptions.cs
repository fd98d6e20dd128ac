using Berth.Runtime.Oci;

namespace Berth.Runtime.Containers;

/// <summary>A mount's options split into mount(2) flags, propagation and the filesystem's data string.</summary>
public sealed record ParsedMountOptions(ulong Flags, ulong ClearFlags, ulong Propagation, bool Bind, bool Recursive, string Data);

/// <summary>
/// The spec's mount options, as runc reads them: mount(2) flags (set or cleared), propagation,
/// bind/rbind, and everything else handed to the filesystem as its data string.
/// <see cref="Oci.Features.MountOptionNames"/> lists the same names for `features`.
/// </summary>
public static class MountOptions
{
    private static readonly Dictionary<string, (ulong Flag, bool Clear)> Flags = new()
    {
        ["ro"] = (1, false), ["rw"] = (1, true), ["nosuid"] = (2, false), ["suid"] = (2, true),
        ["nodev"] = (4, false), ["dev"] = (4, true), ["noexec"] = (8, false), ["exec"] = (8, true),
        ["sync"] = (16, false), ["async"] = (16, true), ["remount"] = (32, false), ["mand"] = (64, false), ["nomand"] = (64, true),
        ["dirsync"] = (128, false), ["noatime"] = (1024, false), ["atime"] = (1024, true),
        ["nodiratime"] = (2048, false), ["diratime"] = (2048, true), ["relatime"] = (1 << 21, false), ["norelatime"] = (1 << 21, true),
        ["strictatime"] = (1 << 24, false), ["nostrictatime"] = (1 << 24, true), ["lazytime"] = (1 << 25, false),
        ["nolazytime"] = (1 << 25, true), ["nosymfollow"] = (256, false), ["symfollow"] = (256, true), ["defaults"] = (0, false),
    };

    private static readonly Dictionary<string, ulong> Propagations = new()
    {
        ["private"] = 1 << 18, ["rprivate"] = (1 << 18) | 16384, ["slave"] = 1 << 19, ["rslave"] = (1 << 19) | 16384,
        ["shared"] = 1 << 20, ["rshared"] = (1 << 20) | 16384, ["unbindable"] = 1 << 17, ["runbindable"] = (1 << 17) | 16384,
    };

    public static ParsedMountOptions Parse(IReadOnlyList<string> options, string jsonPath, string source = "config.json")
    {
        ulong flags = 0, clear = 0, propagation = 0;
        bool bind = false, recursive = false;
        var data = new List<string>();
        foreach (var o in options)
        {
            if (Flags.TryGetValue(o, out var f))
            {
                if (f.Clear) { flags &= ~f.Flag; clear |= f.Flag; }
                else { flags |= f.Flag; clear &= ~f.Flag; }
            }
            else if (Propagations.TryGetValue(o, out var p)) propagation |= p;
            else if (o == "bind") bind = true;
            else if (o == "rbind") { bind = true; recursive = true; }
            else if (o is "idmap" or "ridmap" or "tmpcopyup" or "rro" or "rrw" or "rnosuid" or "rsuid" or "rnodev" or "rdev"
                     or "rnoexec" or "rexec" or "rnoatime" or "ratime")
                throw new SpecException(source, jsonPath, $"mount option \"{o}\" is not supported by this runtime");
            else data.Add(o);
        }
        return new ParsedMountOptions(flags, clear, propagation, bind, recursive, string.Join(',', data));
    }
}
