using System.Runtime.InteropServices;
using Berth.Runtime.Interop;

namespace Berth.Runtime.Linux;

/// <summary>Password hashes (crypt(3)), the terminal's echo and a process's identity.</summary>
public static unsafe class Accounts
{
    /// <summary>
    /// crypt(3) of <paramref name="password"/> with the salt and method of <paramref name="setting"/>
    /// (a whole hash will do); null when libcrypt refuses the setting (an unknown method, "!", "*").
    /// </summary>
    public static string? Crypt(string password, string setting)
    {
        var data = (LibC.CryptData*)NativeMemory.AllocZeroed((nuint)sizeof(LibC.CryptData));
        try
        {
            byte* result = LibC.CryptR(password, setting, data);
            // libxcrypt returns a "*0"/"*1" failure token rather than NULL unless built otherwise.
            if (result is null || result[0] == (byte)'*') return null;
            return Marshal.PtrToStringUTF8((nint)result);
        }
        finally
        {
            NativeMemory.Clear(data, (nuint)sizeof(LibC.CryptData));
            NativeMemory.Free(data);
        }
    }

    /// <summary>
    /// True when <paramref name="password"/> matches <paramref name="hash"/>. An empty, locked ("!..."),
    /// or disabled ("*") hash never matches: an account without a password cannot log in.
    /// </summary>
    public static bool PasswordMatches(string password, string? hash)
    {
        if (string.IsNullOrEmpty(hash) || hash[0] is '!' or '*' || hash[0] != '$') return false;
        var computed = Crypt(password, hash);
        if (computed is null) return false;
        var a = System.Text.Encoding.UTF8.GetBytes(computed);
        var b = System.Text.Encoding.UTF8.GetBytes(hash);
        return System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(a, b);
    }

    /// <summary>Turns the terminal's echo off (keeping the newline echo) and returns a restorer; null when <paramref name="fd"/> is not a terminal.</summary>
    public static IDisposable? EchoOff(int fd)
    {
        LibC.Termios saved;
        if (LibC.TcGetAttr(fd, &saved) != 0) return null;
        var quiet = saved;
        quiet.c_lflag = (quiet.c_lflag & ~LibC.ECHO) | LibC.ECHONL;
        SyscallException.Check(LibC.TcSetAttr(fd, LibC.TCSANOW, &quiet), "tcsetattr", $"fd {fd}");
        return new TermiosRestore(fd, saved);
    }

    private sealed class TermiosRestore(int fd, LibC.Termios saved) : IDisposable
    {
        public void Dispose()
        {
            var t = saved;
            LibC.TcSetAttr(fd, LibC.TCSANOW, &t);
        }
    }

    /// <summary>Becomes <paramref name="uid"/>: supplementary groups first, then gid, then uid (after which nothing else may change).</summary>
    public static void BecomeUser(string user, uint uid, uint gid, IReadOnlyList<uint> groups)
    {
        var list = groups.ToArray();
        fixed (uint* p = list)
            SyscallException.Check(LibC.SetGroups((nuint)list.Length, p), "setgroups", user);
        SyscallException.Check(LibC.SetGid(gid), "setgid", $"{user} ({gid})");
        SyscallException.Check(LibC.SetUid(uid), "setuid", $"{user} ({uid})");
        // A uid 0 that asked for another uid and still has it would be a silent root shell.
        if (uid != 0 && LibC.GetUid() == 0) throw new InvalidOperationException($"setuid {user} left the process root");
    }
}
