using System.Text;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Runtime.Linux;

/// <summary>
/// Reads and writes of kernel pseudo-files (/proc, /sys, cgroupfs) with one read or one write
/// system call, which is what those files expect.
/// </summary>
public static class PseudoFile
{
    public static void Write(string path, string value)
    {
        using var fd = FileDescriptor.Open(path, O_WRONLY);
        fd.WriteAll(Encoding.UTF8.GetBytes(value));
    }

    public static bool TryWrite(string path, string value, out string? error)
    {
        try
        {
            Write(path, value);
            error = null;
            return true;
        }
        catch (SyscallException e)
        {
            error = e.Message;
            return false;
        }
    }

    public static string Read(string path, int max = 64 * 1024)
    {
        using var fd = FileDescriptor.Open(path, O_RDONLY);
        var buf = new byte[max];
        int total = 0;
        while (total < buf.Length)
        {
            int n = fd.Read(buf.AsSpan(total));
            if (n == 0) break;
            total += n;
        }
        return Encoding.UTF8.GetString(buf, 0, total);
    }

    public static string? TryRead(string path, int max = 64 * 1024)
    {
        try { return Read(path, max); }
        catch (SyscallException) { return null; }
    }
}
