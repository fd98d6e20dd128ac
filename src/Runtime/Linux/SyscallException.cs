using System.Runtime.InteropServices;

namespace Berth.Runtime.Linux;

/// <summary>A failed system call, with the errno and the path or object it was about.</summary>
public sealed class SyscallException : IOException
{
    public int Errno { get; }
    public string Operation { get; }
    public string? Subject { get; }

    public SyscallException(string operation, string? subject, int errno)
        : base(Format(operation, subject, errno))
    {
        Errno = errno;
        Operation = operation;
        Subject = subject;
    }

    private static string Format(string operation, string? subject, int errno) =>
        subject is null
            ? $"{operation} failed: {Berth.Runtime.Linux.Errno.Describe(errno)}"
            : $"{operation} {subject} failed: {Berth.Runtime.Linux.Errno.Describe(errno)}";

    /// <summary>Throws for the errno of the last P/Invoke when <paramref name="result"/> is negative.</summary>
    internal static long Check(long result, string operation, string? subject = null)
    {
        if (result < 0)
            throw new SyscallException(operation, subject, Marshal.GetLastPInvokeError());
        return result;
    }

    internal static SyscallException Last(string operation, string? subject = null) =>
        new(operation, subject, Marshal.GetLastPInvokeError());
}

public static class Errno
{
    public static string Describe(int errno)
    {
        string name = errno switch
        {
            1 => "EPERM", 2 => "ENOENT", 3 => "ESRCH", 4 => "EINTR", 5 => "EIO", 6 => "ENXIO", 8 => "ENOEXEC",
            9 => "EBADF", 10 => "ECHILD", 11 => "EAGAIN", 12 => "ENOMEM", 13 => "EACCES", 16 => "EBUSY",
            17 => "EEXIST", 19 => "ENODEV", 20 => "ENOTDIR", 21 => "EISDIR", 22 => "EINVAL", 24 => "EMFILE",
            28 => "ENOSPC", 30 => "EROFS", 38 => "ENOSYS", 39 => "ENOTEMPTY", 40 => "ELOOP",
            61 => "ENODATA", 95 => "EOPNOTSUPP", 117 => "EUCLEAN",
            _ => "errno " + errno,
        };
        return $"{name} ({Marshal.GetPInvokeErrorMessage(errno)})";
    }
}
