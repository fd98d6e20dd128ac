using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Init;

/// <summary>Makes sure fds 0, 1 and 2 are the console, whatever the kernel handed us.</summary>
public static class ConsoleStdio
{
    public static void Ensure()
    {
        if (Files.TryStat("/proc/self/fd/1") is not null && Files.TryStat("/proc/self/fd/0") is not null) return;
        var console = FileDescriptor.TryOpen("/dev/console", O_RDWR | O_NOCTTY);
        if (console is null) return;
        using (console)
        {
            for (int fd = 0; fd <= 2; fd++)
                if (Files.TryStat($"/proc/self/fd/{fd}") is null) SystemControl.Dup2(console.Fd, fd);
        }
    }
}
