using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.SystemServices.Syslog;

/// <summary>
/// An append-only log file kept under a size: when the next batch would take it past the limit it
/// becomes <c>NAME.1</c>, <c>NAME.1</c> becomes <c>NAME.2</c> and so on up to <c>NAME.N</c>, the oldest
/// dropped. Writes go straight to the kernel (no user-space buffer), so a crash of syslogd loses
/// nothing written; <see cref="Sync"/> (fdatasync) is what makes it survive a power cut.
/// </summary>
public sealed class RotatingLogFile : IDisposable
{
    private readonly string _path;
    private readonly long _maxSize;
    private readonly int _keep;
    private FileDescriptor _fd;
    private long _size;

    public RotatingLogFile(string path, long maxSize, int keep)
    {
        _path = path;
        _maxSize = maxSize;
        _keep = keep;
        string? dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (dir is not null) Files.MakeDirectories(dir);
        _fd = OpenForAppend();
    }

    public string Path => _path;

    public long Size => _size;

    /// <summary>Bytes written since the last <see cref="Sync"/>.</summary>
    public bool Dirty { get; private set; }

    /// <summary>Whether appending this many bytes now would take the file past its limit (and so rotate it first).</summary>
    public bool WouldOverflow(long bytes) => _maxSize > 0 && _size > 0 && _size + bytes > _maxSize;

    public void Append(ReadOnlySpan<byte> data)
    {
        if (WouldOverflow(data.Length)) Rotate();
        _fd.WriteAll(data);
        _size += data.Length;
        Dirty = true;
    }

    public void Sync()
    {
        if (!Dirty) return;
        _fd.DataSync();
        Dirty = false;
    }

    /// <summary>Reopens the file by name (after someone else moved it away, as logrotate does before SIGHUP).</summary>
    public void Reopen()
    {
        Sync();
        _fd.Dispose();
        _fd = OpenForAppend();
    }

    private void Rotate()
    {
        Sync();
        _fd.Dispose();
        if (_keep <= 0)
        {
            _fd = FileDescriptor.Open(_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NOCTTY, 0x1a0 /* 0640 */);
            _size = 0;
            return;
        }
        string Numbered(int n) => $"{_path}.{n}";
        if (File.Exists(Numbered(_keep))) File.Delete(Numbered(_keep));
        for (int n = _keep - 1; n >= 1; n--)
            if (File.Exists(Numbered(n))) File.Move(Numbered(n), Numbered(n + 1));
        File.Move(_path, Numbered(1));
        _fd = OpenForAppend();
        // The renames are metadata: without a directory fsync a power cut could undo them and leave
        // two names for one file or none.
        using var dir = FileDescriptor.Open(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(_path))!, O_RDONLY | O_DIRECTORY);
        dir.FSync();
    }

    private FileDescriptor OpenForAppend()
    {
        var fd = FileDescriptor.Open(_path, O_WRONLY | O_CREAT | O_APPEND | O_NOCTTY, 0x1a0 /* 0640 */);
        _size = fd.Seek(0, Berth.Runtime.Interop.Consts.SEEK_END);
        return fd;
    }

    public void Dispose()
    {
        try { Sync(); }
        finally { _fd.Dispose(); }
    }
}
