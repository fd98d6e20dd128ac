using System.Text;
using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Init;

/// <summary>
/// PID 1's log: every line goes to the console (fd 1, which is /dev/console) and to the kernel
/// log (/dev/kmsg) so it is in dmesg and on the serial line even when the console is lost.
/// Writes are single write(2) calls and never throw.
/// </summary>
public static class BootLog
{
    private static FileDescriptor? _kmsg;
    private static readonly object Gate = new();

    public static bool Quiet { get; set; }

    /// <summary>Opens /dev/kmsg once /dev is mounted.</summary>
    public static void AttachKernelLog()
    {
        try { _kmsg ??= FileDescriptor.TryOpen("/dev/kmsg", O_WRONLY); }
        catch { /* logging must never fail the boot */ }
    }

    public static void Info(string message) => Write(6, message, toConsole: !Quiet);
    public static void Warn(string message) => Write(4, "warning: " + message, toConsole: true);
    public static void Error(string message) => Write(3, "error: " + message, toConsole: true);
    /// <summary>Always on the console, even in quiet mode (the ready line, stage banners).</summary>
    public static void Notice(string message) => Write(5, message, toConsole: true);

    private static void Write(int level, string message, bool toConsole)
    {
        lock (Gate)
        {
            foreach (var line in message.Split('\n'))
            {
                try
                {
                    if (toConsole) Raw(1, Encoding.UTF8.GetBytes("berth: " + line + "\n"));
                    if (_kmsg is not null) _kmsg.WriteAll(Encoding.UTF8.GetBytes($"<{level}>berth: {line}\n"));
                }
                catch { /* nowhere left to report it */ }
            }
        }
    }

    /// <summary>Writes text to the console without the kmsg copy (used for the ready line's console half).</summary>
    public static void ConsoleOnly(string line)
    {
        lock (Gate)
        {
            try { Raw(1, Encoding.UTF8.GetBytes(line + "\n")); } catch { }
        }
    }

    public static void KmsgOnly(int level, string line)
    {
        lock (Gate)
        {
            try { _kmsg?.WriteAll(Encoding.UTF8.GetBytes($"<{level}>{line}\n")); } catch { }
        }
    }

    private static void Raw(int fd, byte[] bytes)
    {
        using var handle = new FileDescriptor(fd, "console", ownsHandle: false);
        handle.WriteAll(bytes);
    }
}
