using Berth.Runtime.Interop;
using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Runtime.Images;

/// <summary>How whiteouts of a layer are carried out.</summary>
public enum WhiteoutMode
{
    /// <summary>Layers are applied in order onto one directory: whiteouts delete from the layers below.</summary>
    Apply,
    /// <summary>
    /// The layer is unpacked alone, to be stacked with overlayfs later: whiteouts become character
    /// devices 0:0 and opaque directories get <c>trusted.overlay.opaque=y</c>.
    /// </summary>
    Overlay,
}

/// <summary>
/// Unpacks layer tars into a root filesystem directory: regular files, directories, symlinks, hard
/// links, character and block devices, FIFOs; numeric ownership, modes with setuid/setgid/sticky,
/// modification times (directories' at the end of each layer, so their own children do not
/// change them; a directory a layer only adds to keeps its time), xattrs from PAX
/// <c>SCHILY.xattr.*</c>, and whiteouts (<see cref="WhiteoutRules"/>). Must run as root (chown, mknod).
/// <para>
/// <b>Containment.</b> Nothing is ever created, changed or deleted outside the root, and the policy is:
/// <list type="bullet">
/// <item>Member names and hard-link targets whose ".." would climb above the root are <b>refused</b>
///   (<see cref="UnsafeLayerEntryException"/> naming the entry and the layer), as Docker and containerd
///   do: no tool writes them, so they are attacks. A leading "/" is dropped (GNU tar's reading).</item>
/// <item>Symlinks are <b>contained</b>, as runc/umoci (securejoin) do: targets are stored verbatim
///   (absolute targets are normal in images), and whenever the unpacker follows one — a symlinked
///   parent directory such as <c>evil -&gt; /</c> then <c>evil/etc/passwd</c>, or a hard link whose
///   target path passes through a symlink — the kernel resolves it with the root as "/"
///   (openat2 RESOLVE_IN_ROOT), so the write lands at rootfs/etc/passwd. The last component of a
///   member is never followed: an existing symlink there is replaced, not written through. A parent
///   that is a symlink leading nowhere inside the root is an error (nothing is made at its target).</item>
/// <item>Whiteouts of ".", ".." or "" are refused; whiteouts reach only below their own directory.</item>
/// <item><c>trusted.overlay.*</c> xattrs are skipped with a warning (<see cref="WhiteoutRules.IsReservedXattr"/>).</item>
/// </list>
/// Parent directories without a member of their own are made 0755 root (<see cref="WhiteoutMode.Apply"/>,
/// as umoci does) or copied from the lower layers (<see cref="WhiteoutMode.Overlay"/>). In overlay form
/// a hard link can only reach a file of the same layer, which is how every image tool writes them.
/// </para>
/// Errors name the layer, the entry and the host path. On an error the root is left part-unpacked:
/// callers unpack into a directory they throw away on failure (<see cref="ImageStore"/> and
/// <see cref="ImageBundler"/> do).
/// </summary>
public sealed class LayerUnpacker : IDisposable
{
    private readonly ContainedRoot _root;
    private readonly WhiteoutMode _mode;
    private readonly List<string> _warnings = [];
    private readonly byte[] _buffer = new byte[256 * 1024];

    // Per-layer state.
    private string _layer = "";
    // What this layer put in place, and the directories above those: a whiteout or an opaque
    // directory hides lower layers only, never the layer's own members.
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly HashSet<string> _seenAncestors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (UnixTime Atime, UnixTime Mtime)> _dirTimes = new(StringComparer.Ordinal);
    // The parent directory of the previous member: tar members come grouped by directory.
    private string? _cachedRel;
    private FileDescriptor? _cachedFd;

    private readonly List<ContainedRoot> _lowers = [];

    /// <param name="lowerLayers">
    /// For <see cref="WhiteoutMode.Overlay"/>: the already unpacked layers below this one, bottom first.
    /// A directory this layer needs but has no member for (umoci writes <c>etc/.wh.x</c> without
    /// <c>etc/</c> when etc's mtime did not change) takes its owner, mode, xattrs and times from the
    /// topmost lower layer that has it: overlayfs shows a merged directory with the upper layer's
    /// attributes, so a made-up 0755 directory would replace, say, a 0700 /root.
    /// </param>
    public LayerUnpacker(string rootfs, WhiteoutMode mode = WhiteoutMode.Apply, IReadOnlyList<string>? lowerLayers = null)
    {
        _root = new ContainedRoot(rootfs);
        _mode = mode;
        if (mode == WhiteoutMode.Overlay)
            foreach (var lower in lowerLayers ?? []) _lowers.Add(new ContainedRoot(lower));
    }

    public string Rootfs => _root.Path;

    /// <summary>Things that were not done but did not stop the unpack (an xattr the filesystem does not support). Never silent.</summary>
    public IReadOnlyList<string> Warnings => _warnings;

    /// <summary>
    /// Unpacks layer <paramref name="index"/> of <paramref name="image"/>: the blob's digest and size
    /// and the uncompressed tar's diffID are all checked. A corrupt blob usually fails first as a
    /// gzip or tar error; the blob's digest is then checked too and reported as the cause.
    /// </summary>
    public void Unpack(Image image, int index)
    {
        var layer = image.Layers[index];
        var diffId = image.Config.DiffIds[index];
        using var blob = image.Blobs.OpenBlob(layer);
        try
        {
            using var tar = LayerCompression.Decompress(blob, layer.Digest.ToString(), leaveOpen: true);
            using var diff = new VerifyingStream(tar, diffId, -1, $"layer {layer.Digest} uncompressed (diffID)", ownsInner: false);
            Unpack(diff, layer.Digest.ToString());
            diff.VerifyToEnd();
        }
        catch (Exception e) when (!(e is DigestMismatchException m && m.Expected == layer.Digest))
        {
            try
            {
                blob.VerifyToEnd();
            }
            catch (DigestMismatchException mismatch)
            {
                throw new DigestMismatchException(mismatch.What, mismatch.Expected, mismatch.Actual, e);
            }
            catch (ImageException) { } // a size error: report the original failure
            throw;
        }
        blob.VerifyToEnd();
    }

    /// <summary>Unpacks one uncompressed layer tar; <paramref name="layer"/> names it in errors.</summary>
    public void Unpack(Stream tar, string layer)
    {
        _layer = layer;
        _seen.Clear();
        _seenAncestors.Clear();
        _dirTimes.Clear();
        var reader = new TarArchiveReader(tar, $"layer {layer}");
        try
        {
            while (reader.Next() is { } entry)
            {
                try
                {
                    Apply(entry, reader);
                }
                catch (SyscallException e)
                {
                    throw new ImageException($"layer {layer}: entry \"{entry.Name}\": {e.Message}", e);
                }
                catch (ImageException e) when (!e.Message.Contains(layer, StringComparison.Ordinal))
                {
                    throw new ImageException($"layer {layer}: entry \"{entry.Name}\": {e.Message}", e);
                }
            }
            try
            {
                RestoreDirectoryTimes();
            }
            catch (SyscallException e)
            {
                throw new ImageException($"layer {layer}: restoring directory times: {e.Message}", e);
            }
        }
        finally
        {
            DropCache();
        }
    }

    private void Apply(TarEntryHeader entry, TarArchiveReader reader)
    {
        string rel = ContainedPath.Normalize(entry.Name, out string? reason)
            ?? throw new UnsafeLayerEntryException(_layer, entry.Name, reason!);
        if (rel.Length == 0)
        {
            if (entry.Type != TarEntryType.Directory)
                throw new UnsafeLayerEntryException(_layer, entry.Name, $"a {entry.Type} cannot replace the root directory");
            ApplyMetadata(_root.Handle, ".", "", entry);
            return;
        }
        var (parentRel, name) = ContainedPath.Split(rel);
        switch (WhiteoutRules.Classify(name, out string target))
        {
            case WhiteoutRules.Kind.Opaque:
                Opaque(parentRel);
                return;
            case WhiteoutRules.Kind.Whiteout:
                if (!WhiteoutRules.IsValidTarget(target))
                    throw new UnsafeLayerEntryException(_layer, entry.Name, $"a whiteout of \"{target}\" would delete its own directory");
                Whiteout(parentRel, target);
                return;
            case WhiteoutRules.Kind.Metadata:
                return; // AUFS hard-link/orphan bookkeeping: never part of the filesystem
        }

        var parent = Parent(parentRel, create: true)!;
        string display = _root.Display(rel);
        KeepTimes(parentRel, parent);

        if (entry.Type == TarEntryType.HardLink && HardLinkTarget(entry) == rel)
            return; // a link to itself: nothing to do (and unlinking first would lose the file)

        if (AtCalls.TryStatAt(parent, name, display) is { } existing)
        {
            bool bothDirectories = entry.Type == TarEntryType.Directory && (existing.Mode & S_IFMT) == S_IFDIR;
            if (!bothDirectories) Remove(parent, name, rel);
        }

        switch (entry.Type)
        {
            case TarEntryType.Directory:
                int errno = AtCalls.TryMkdirAt(parent, name, 0x1c0 /* 0700 until its own mode is set */);
                if (errno != 0 && errno != EEXIST) throw new SyscallException("mkdirat", display, errno);
                break;
            case TarEntryType.Regular:
                using (var file = AtCalls.OpenAt(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0x180 /* 0600 */, display))
                {
                    using var data = reader.OpenData();
                    int n;
                    while ((n = data.Read(_buffer)) > 0) file.WriteAll(_buffer.AsSpan(0, n));
                }
                break;
            case TarEntryType.Symlink:
                AtCalls.SymlinkAt(entry.LinkName, parent, name, display);
                break;
            case TarEntryType.HardLink:
                HardLink(entry, parent, name, display);
                MarkSeen(rel);
                return; // the inode keeps the metadata of the member that created it
            case TarEntryType.CharDevice:
                AtCalls.MknodAt(parent, name, S_IFCHR, 0, AtCalls.MakeDevice(entry.DeviceMajor, entry.DeviceMinor), display);
                break;
            case TarEntryType.BlockDevice:
                AtCalls.MknodAt(parent, name, AtCalls.S_IFBLK, 0, AtCalls.MakeDevice(entry.DeviceMajor, entry.DeviceMinor), display);
                break;
            case TarEntryType.Fifo:
                AtCalls.MknodAt(parent, name, AtCalls.S_IFIFO, 0, 0, display);
                break;
        }
        MarkSeen(rel);
        ApplyMetadata(parent, name, rel, entry);
    }

    private string HardLinkTarget(TarEntryHeader entry) =>
        ContainedPath.Normalize(entry.LinkName, out string? reason) is { Length: > 0 } target
            ? target
            : throw new UnsafeLayerEntryException(_layer, entry.Name, $"hard link to \"{entry.LinkName}\": {reason ?? "a hard link to the root directory"}");

    private void HardLink(TarEntryHeader entry, FileDescriptor parent, string name, string display)
    {
        string target = HardLinkTarget(entry);
        var (targetParentRel, targetName) = ContainedPath.Split(target);
        string targetDisplay = _root.Display(target);
        using var targetParent = _root.TryOpenDirectory(targetParentRel);
        if (targetParent is null || AtCalls.TryStatAt(targetParent, targetName, targetDisplay) is null)
            throw new ImageException($"hard link target \"{entry.LinkName}\" does not exist in the root filesystem (resolving {targetDisplay} with {_root.Path} as \"/\"); hard links may only point at files unpacked before them");
        AtCalls.LinkAt(targetParent, targetName, parent, name, targetDisplay, display);
    }

    /// <summary>Ownership first (chown clears setuid bits), then mode, xattrs and times.</summary>
    private void ApplyMetadata(FileDescriptor parent, string name, string rel, TarEntryHeader entry)
    {
        string display = _root.Display(rel);
        if (entry.Uid is < 0 or > uint.MaxValue - 1 || entry.Gid is < 0 or > uint.MaxValue - 1)
            throw new ImageException($"owner {entry.Uid}:{entry.Gid} of {display} is not a valid uid:gid");
        AtCalls.FchownAt(parent, name, (uint)entry.Uid, (uint)entry.Gid, display);
        if (entry.Type != TarEntryType.Symlink)
            AtCalls.FchmodAt(parent, name, entry.Mode, display);
        foreach (var (attribute, value) in entry.Xattrs)
        {
            if (WhiteoutRules.IsReservedXattr(attribute))
            {
                _warnings.Add($"layer {_layer}: {display}: xattr {attribute} skipped (reserved for overlayfs)");
                continue;
            }
            int errno = AtCalls.TrySetXattr(AtCalls.XattrPath(parent, name), attribute, value);
            if (errno == AtCalls.EOPNOTSUPP)
                _warnings.Add($"layer {_layer}: {display}: xattr {attribute} not set: the filesystem does not support it");
            else if (errno != 0)
                throw new SyscallException($"lsetxattr {attribute}", display, errno);
        }
        var atime = entry.AccessTime ?? entry.ModificationTime;
        if (entry.Type == TarEntryType.Directory)
            _dirTimes[rel] = (atime, entry.ModificationTime);
        else
            AtCalls.UtimensAt(parent, name, atime, entry.ModificationTime, display);
    }

    private void Whiteout(string parentRel, string target)
    {
        string rel = ContainedPath.Join(parentRel, target);
        if (_mode == WhiteoutMode.Apply)
        {
            // Whiteouts apply to the layers below only; what this layer itself created stays.
            if (_seen.Contains(rel)) return;
            var parent = Parent(parentRel, create: false);
            if (parent is null) return;
            KeepTimes(parentRel, parent);
            if (_seenAncestors.Contains(rel))
            {
                // This layer already put something below the whited-out directory: hide only the lower content.
                using var dir = _root.TryOpenDirectory(rel);
                if (dir is not null) HideLowerContent(rel, dir);
                return;
            }
            Remove(parent, target, rel);
        }
        else
        {
            var parent = Parent(parentRel, create: true)!;
            KeepTimes(parentRel, parent);
            if (AtCalls.TryStatAt(parent, target, _root.Display(rel)) is { } existing)
            {
                // The layer's own member stays; a directory of it must still hide the lower one's content.
                if ((existing.Mode & S_IFMT) == S_IFDIR) MarkOpaque(parent, target, rel);
                return;
            }
            AtCalls.MknodAt(parent, target, S_IFCHR, 0, 0, _root.Display(rel));
        }
    }

    private void Opaque(string dirRel)
    {
        if (_mode == WhiteoutMode.Overlay)
        {
            using var dir = _root.CreateDirectories(dirRel, KeepTimes, InheritFromLowerLayers);
            MarkOpaque(dir, ".", dirRel);
            return;
        }
        using var target = _root.TryOpenDirectory(dirRel);
        if (target is not null) HideLowerContent(dirRel, target);
    }

    private void MarkOpaque(FileDescriptor parent, string name, string rel)
    {
        int errno = AtCalls.TrySetXattr(AtCalls.XattrPath(parent, name), WhiteoutRules.OverlayOpaqueXattr, "y"u8);
        if (errno != 0) throw new SyscallException($"lsetxattr {WhiteoutRules.OverlayOpaqueXattr}", _root.Display(rel), errno);
    }

    /// <summary>Deletes what the layers below put in <paramref name="dirRel"/>, keeping (recursively) what this layer put there.</summary>
    private void HideLowerContent(string dirRel, FileDescriptor dir)
    {
        KeepTimes(dirRel, dir);
        using var listing = AtCalls.OpenAt(dir, ".", O_RDONLY | O_DIRECTORY, 0, _root.Display(dirRel));
        foreach (var name in AtCalls.ReadDirectory(listing))
        {
            string rel = ContainedPath.Join(dirRel, name);
            if (!_seen.Contains(rel) && !_seenAncestors.Contains(rel))
            {
                Remove(listing, name, rel);
                continue;
            }
            var st = AtCalls.TryStatAt(listing, name, _root.Display(rel));
            if (st is { } s && (s.Mode & S_IFMT) == S_IFDIR)
            {
                using var child = AtCalls.OpenAt(listing, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, _root.Display(rel));
                HideLowerContent(rel, child);
            }
        }
    }

    private void MarkSeen(string rel)
    {
        _seen.Add(rel);
        for (int slash = rel.LastIndexOf('/'); slash > 0; slash = rel.LastIndexOf('/', slash - 1))
            if (!_seenAncestors.Add(rel[..slash])) break; // its ancestors are in already
    }

    /// <summary>Removes <paramref name="name"/> and, for a directory, everything below it, without following symlinks.</summary>
    private void Remove(FileDescriptor parent, string name, string rel)
    {
        if (_cachedRel is not null && ContainedPath.IsWithin(_cachedRel, rel)) DropCache();
        DirectoryTree.RemoveTree(parent, name, _root.Display(rel));
    }

    /// <summary>The parent directory of a member, resolved inside the root (and created when asked).</summary>
    private FileDescriptor? Parent(string parentRel, bool create)
    {
        if (_cachedRel == parentRel) return _cachedFd;
        var fd = create ? _root.CreateDirectories(parentRel, KeepTimes, InheritFromLowerLayers) : _root.TryOpenDirectory(parentRel);
        if (fd is null) return null;
        DropCache();
        _cachedRel = parentRel;
        _cachedFd = fd;
        return fd;
    }

    private void DropCache()
    {
        _cachedFd?.Dispose();
        _cachedFd = null;
        _cachedRel = null;
    }

    /// <summary>Remembers a directory's times before this layer changes its content, to put them back at the end.</summary>
    private void KeepTimes(string dirRel, FileDescriptor dir)
    {
        if (_dirTimes.ContainsKey(dirRel)) return;
        var st = AtCalls.StatSelf(dir);
        _dirTimes[dirRel] = (new UnixTime(st.ATime, st.ATimeNsec), new UnixTime(st.MTime, st.MTimeNsec));
    }

    private void RestoreDirectoryTimes()
    {
        // Deepest first is not needed (a directory's times do not change its parent's), but
        // setting them last, after every entry and whiteout of the layer, is.
        foreach (var (rel, times) in _dirTimes)
        {
            if (rel.Length == 0)
            {
                AtCalls.UtimensAt(_root.Handle, ".", times.Atime, times.Mtime, _root.Path);
                continue;
            }
            var (parentRel, name) = ContainedPath.Split(rel);
            using var parent = _root.TryOpenDirectory(parentRel);
            if (parent is null || AtCalls.TryStatAt(parent, name, _root.Display(rel)) is not { } st || (st.Mode & S_IFMT) != S_IFDIR)
                continue; // removed or replaced later in the same layer
            AtCalls.UtimensAt(parent, name, times.Atime, times.Mtime, _root.Display(rel));
        }
    }

    /// <summary>See the constructor's <c>lowerLayers</c>: a directory made up in overlay form copies the lower one's attributes.</summary>
    private void InheritFromLowerLayers(string rel, FileDescriptor parent, string name)
    {
        var (lowerParentRel, lowerName) = ContainedPath.Split(rel);
        for (int i = _lowers.Count - 1; i >= 0; i--)
        {
            using var lowerParent = _lowers[i].TryOpenDirectory(lowerParentRel);
            if (lowerParent is null) continue;
            string lowerDisplay = _lowers[i].Display(rel);
            if (AtCalls.TryStatAt(lowerParent, lowerName, lowerDisplay) is not { } st) continue;
            if ((st.Mode & S_IFMT) != S_IFDIR) return; // a whiteout or a file hides anything further down: a new directory
            string display = _root.Display(rel);
            AtCalls.FchownAt(parent, name, st.Uid, st.Gid, display);
            AtCalls.FchmodAt(parent, name, (int)(st.Mode & 0xfff), display);
            string from = AtCalls.XattrPath(lowerParent, lowerName), to = AtCalls.XattrPath(parent, name);
            foreach (var attribute in AtCalls.ListXattrs(from))
            {
                if (WhiteoutRules.IsReservedXattr(attribute) || AtCalls.GetXattr(from, attribute) is not { } value) continue;
                int errno = AtCalls.TrySetXattr(to, attribute, value);
                if (errno != 0) throw new SyscallException($"lsetxattr {attribute} (copied from {lowerDisplay})", display, errno);
            }
            _dirTimes[rel] = (new UnixTime(st.ATime, st.ATimeNsec), new UnixTime(st.MTime, st.MTimeNsec));
            return;
        }
    }

    public void Dispose()
    {
        DropCache();
        _root.Dispose();
        foreach (var lower in _lowers) lower.Dispose();
    }

    /// <summary>Unpacks every layer of <paramref name="image"/>, bottom first, onto <paramref name="rootfs"/> (which must exist).</summary>
    public static IReadOnlyList<string> UnpackImage(Image image, string rootfs)
    {
        using var unpacker = new LayerUnpacker(rootfs, WhiteoutMode.Apply);
        for (int i = 0; i < image.Layers.Count; i++) unpacker.Unpack(image, i);
        return unpacker.Warnings;
    }
}
