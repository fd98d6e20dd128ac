using System.Text;
using Berth.Runtime.Interop;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Runtime.Linux;

public enum PowerAction { Reboot, PowerOff, Halt }

/// <summary>reboot(2), sync(2), sethostname(2), kill(2), clocks and kernel modules.</summary>
public static class SystemControl
{
    public static int ProcessId => LibC.GetPid();

    public static uint UserId => LibC.GetUid();

    public static uint GroupId => LibC.GetGid();

    public static void Sync() => LibC.Sync();

    public static void Reboot(PowerAction action)
    {
        int cmd = action switch
        {
            PowerAction.PowerOff => RB_POWER_OFF,
            PowerAction.Halt => RB_HALT_SYSTEM,
            _ => RB_AUTOBOOT,
        };
        if (LibC.Reboot(cmd) != 0) throw SyscallException.Last("reboot", action.ToString());
    }

    /// <summary>Makes Ctrl-Alt-Del send SIGINT to PID 1 instead of rebooting at once.</summary>
    public static void DisableCtrlAltDelReboot()
    {
        if (LibC.Reboot(RB_DISABLE_CAD) != 0) throw SyscallException.Last("reboot", "CAD_OFF");
    }

    public static unsafe void SetHostname(string name)
    {
        var bytes = Encoding.ASCII.GetBytes(name);
        fixed (byte* p = bytes)
            if (LibC.SetHostname(p, (nuint)bytes.Length) != 0) throw SyscallException.Last("sethostname", name);
    }

    /// <summary>Sends a signal; returns false if the process no longer exists.</summary>
    public static bool Kill(int pid, int signal)
    {
        if (LibC.Kill(pid, signal) == 0) return true;
        var e = SyscallException.Last("kill", pid.ToString());
        if (e.Errno == ESRCH) return false;
        throw e;
    }

    /// <summary>Time since boot (CLOCK_BOOTTIME), the clock /proc/uptime shows.</summary>
    public static TimeSpan Uptime
    {
        get
        {
            LibC.ClockGetTime(CLOCK_BOOTTIME, out var ts);
            return TimeSpan.FromTicks(ts.Seconds * TimeSpan.TicksPerSecond + ts.Nanoseconds / 100);
        }
    }

    /// <summary>Loads a kernel module from an open file (finit_module). EEXIST means already loaded.</summary>
    public static int FInitModule(FileDescriptor module, string parameters)
    {
        var bytes = Encoding.UTF8.GetBytes(parameters + "\0");
        unsafe
        {
            fixed (byte* p = bytes)
            {
                long r = LibC.Syscall3(SYS_finit_module, module.Fd, (nint)p, 0);
                return r == 0 ? 0 : System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            }
        }
    }

    public static void SetProcessName(string name)
    {
        var bytes = Encoding.UTF8.GetBytes(name + "\0");
        unsafe
        {
            fixed (byte* p = bytes) LibC.Prctl(PR_SET_NAME, (nuint)p, 0, 0, 0);
        }
    }

    public static void SetUmask(int mask) => LibC.Umask(mask);

    public static unsafe void Dup2(int from, int to)
    {
        if (LibC.Dup2(from, to) < 0) throw SyscallException.Last("dup2", $"{from}->{to}");
    }
}
