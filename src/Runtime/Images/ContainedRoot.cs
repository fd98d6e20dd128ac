using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Runtime.Images;

/// <summary>
/// A directory treated as "/" for every lookup made in it: each path is resolved by the kernel with
/// openat2(2) <c>RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS</c> on a descriptor of the root, so ".."
/// stops at the root and symlinks (absolute or relative) are followed as if the root were "/"
/// — exactly how they will resolve inside the container. There is no check-then-use window:
/// the caller gets a descriptor and works on it with *at() calls.
/// </summary>
public sealed class ContainedRoot : IDisposable
{
    private const ulong Resolve = AtCalls.RESOLVE_IN_ROOT | AtCalls.RESOLVE_NO_MAGICLINKS;

    public string Path { get; }
    internal FileDescriptor Handle { get; }

    public ContainedRoot(string path)
    {
        Path = System.IO.Path.GetFullPath(path).TrimEnd('/');
        if (Path.Length == 0) Path = "/";
        Handle = FileDescriptor.Open(Path, AtCalls.O_PATH | O_DIRECTORY);
    }

    /// <summary>How errors name <paramref name="relative"/>: the host path it stands for.</summary>
    public string Display(string relative) => relative.Length == 0 ? Path : Path.TrimEnd('/') + "/" + relative;

    /// <summary>The directory at <paramref name="relative"/>, or null when it (or a parent) is missing or not a directory.</summary>
    internal FileDescriptor? TryOpenDirectory(string relative)
    {
        int errno = AtCalls.TryOpenAt2(Handle, relative.Length == 0 ? "." : relative, AtCalls.O_PATH | O_DIRECTORY,
            Resolve, Display(relative), out var fd);
        if (errno == 0) return fd;
        if (errno is ENOENT or ENOTDIR) return null;
        throw new SyscallException("openat2", Display(relative), errno);
    }

    internal FileDescriptor OpenDirectory(string relative) =>
        TryOpenDirectory(relative) ?? throw new ImageException($"{Display(relative)} is not a directory in the root filesystem");

    /// <summary>
    /// The directory at <paramref name="relative"/>, creating missing components (mode 0755, owned by
    /// the caller) like <c>mkdir -p</c> inside the root. <paramref name="beforeCreate"/> sees each
    /// parent just before a directory is made in it (so the unpacker can keep that parent's times),
    /// <paramref name="created"/> each new directory (relative path, parent, name).
    /// </summary>
    internal FileDescriptor CreateDirectories(string relative, Action<string, FileDescriptor>? beforeCreate = null,
        Action<string, FileDescriptor, string>? created = null)
    {
        if (TryOpenDirectory(relative) is { } existing) return existing;
        if (relative.Length == 0) throw new ImageException($"{Path}: the root directory is missing");
        var (parentRel, name) = ContainedPath.Split(relative);
        using (var parent = CreateDirectories(parentRel, beforeCreate, created))
        {
            beforeCreate?.Invoke(parentRel, parent);
            int errno = AtCalls.TryMkdirAt(parent, name, 0x1ed /* 0755 */);
            if (errno != 0 && errno != EEXIST) throw new SyscallException("mkdirat", Display(relative), errno);
            if (errno == 0) created?.Invoke(relative, parent, name);
        }
        return TryOpenDirectory(relative) ?? throw new ImageException(
            $"cannot create directory {Display(relative)}: a non-directory (or a symlink leading nowhere) is in the way");
    }

    /// <summary>
    /// Reads a regular file at <paramref name="relative"/> (following symlinks inside the root);
    /// null when it does not exist. A FIFO or device is refused without being opened for reading:
    /// the file is first opened O_PATH and checked, then reopened through /proc/self/fd.
    /// </summary>
    public byte[]? ReadFile(string relative, long maxSize)
    {
        int errno = AtCalls.TryOpenAt2(Handle, relative, AtCalls.O_PATH, Resolve, Display(relative), out var pathFd);
        if (errno is ENOENT or ENOTDIR) return null;
        if (errno != 0) throw new SyscallException("openat2", Display(relative), errno);
        using (pathFd)
        {
            var st = AtCalls.StatSelf(pathFd!);
            if ((st.Mode & S_IFMT) != S_IFREG)
                throw new ImageException($"{Display(relative)} is not a regular file");
            if (st.Size > maxSize)
                throw new ImageException($"{Display(relative)} is {st.Size} bytes, more than the {maxSize} allowed");
            using var fd = FileDescriptor.Open($"/proc/self/fd/{pathFd!.Fd}", O_RDONLY | O_NOCTTY);
            var buffer = new byte[st.Size];
            int total = 0;
            while (total < buffer.Length)
            {
                int n = fd.Read(buffer.AsSpan(total));
                if (n == 0) break;
                total += n;
            }
            return buffer.AsSpan(0, total).ToArray();
        }
    }

    public void Dispose() => Handle.Dispose();
}
