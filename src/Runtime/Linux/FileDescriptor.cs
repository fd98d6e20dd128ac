using Berth.Runtime.Interop;
using Microsoft.Win32.SafeHandles;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Runtime.Linux;

/// <summary>An owned file descriptor.</summary>
public sealed class FileDescriptor : SafeHandleMinusOneIsInvalid
{
    public string Path { get; }

    public FileDescriptor(int fd, string path, bool ownsHandle = true) : base(ownsHandle)
    {
        SetHandle(fd);
        Path = path;
    }

    public int Fd => (int)handle;

    public static FileDescriptor Open(string path, int flags, int mode = 0)
    {
        int fd = LibC.Open(path, flags | O_CLOEXEC, mode);
        if (fd < 0)
            throw SyscallException.Last("open", path);
        return new FileDescriptor(fd, path);
    }

    public static FileDescriptor? TryOpen(string path, int flags, int mode = 0)
    {
        int fd = LibC.Open(path, flags | O_CLOEXEC, mode);
        return fd < 0 ? null : new FileDescriptor(fd, path);
    }

    public unsafe int Read(Span<byte> buffer)
    {
        while (true)
        {
            fixed (byte* p = buffer)
            {
                long n = LibC.Read(Fd, p, buffer.Length);
                if (n >= 0) return (int)n;
            }
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno != EINTR) throw new SyscallException("read", Path, errno);
        }
    }

    public unsafe int PRead(Span<byte> buffer, long offset)
    {
        fixed (byte* p = buffer)
            return (int)SyscallException.Check(LibC.PRead(Fd, p, buffer.Length, offset), "pread", Path);
    }

    public unsafe void PWriteAll(ReadOnlySpan<byte> data, long offset)
    {
        while (!data.IsEmpty)
        {
            long n;
            fixed (byte* p = data)
                n = LibC.PWrite(Fd, p, data.Length, offset);
            if (n < 0)
            {
                int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                if (errno == EINTR) continue;
                throw new SyscallException("pwrite", Path, errno);
            }
            data = data[(int)n..];
            offset += n;
        }
    }

    public unsafe void WriteAll(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            long n;
            fixed (byte* p = data)
                n = LibC.Write(Fd, p, data.Length);
            if (n < 0)
            {
                int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                if (errno == EINTR) continue;
                throw new SyscallException("write", Path, errno);
            }
            data = data[(int)n..];
        }
    }

    /// <summary>Drops this file's clean cached pages, so the next read comes from the device (read-back checks).</summary>
    public void DropCachedPages()
    {
        int err = LibC.PosixFadvise(Fd, 0, 0, POSIX_FADV_DONTNEED);
        if (err != 0) throw new SyscallException("posix_fadvise DONTNEED", Path, err);
    }

    /// <summary>Waits up to <paramref name="timeoutMs"/> for the fd to be readable (or hung up); false at the timeout.</summary>
    public unsafe bool WaitReadable(int timeoutMs)
    {
        var pfd = new LibC.PollFd { Fd = Fd, Events = LibC.POLLIN };
        int ready = LibC.Poll(&pfd, 1, timeoutMs);
        if (ready < 0)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno == EINTR) return false;
            throw new SyscallException("poll", Path, errno);
        }
        return ready > 0;
    }

    public void FSync() => SyscallException.Check(LibC.FSync(Fd), "fsync", Path);

    /// <summary>fdatasync: the data and what is needed to read it back (size), not the timestamps.</summary>
    public void DataSync() => SyscallException.Check(LibC.FDataSync(Fd), "fdatasync", Path);

    public long Seek(long offset, int whence) => SyscallException.Check(LibC.LSeek(Fd, offset, whence), "lseek", Path);

    protected override bool ReleaseHandle() => LibC.Close((int)handle) == 0;
}
