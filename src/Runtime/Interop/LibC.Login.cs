using System.Runtime.InteropServices;

namespace Berth.Runtime.Interop;

// Logins: password hashes, the terminal's echo, and becoming the user.
internal static unsafe partial class LibC
{
    // libxcrypt: every hash method shadow(5) may hold ($6$, $y$, $5$, ...), not only glibc's old set.
    [LibraryImport("libcrypt.so.1", EntryPoint = "crypt_r", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial byte* CryptR(string phrase, string setting, CryptData* data);

    [LibraryImport(Lib, EntryPoint = "tcgetattr", SetLastError = true)]
    internal static partial int TcGetAttr(int fd, Termios* termios);

    [LibraryImport(Lib, EntryPoint = "tcsetattr", SetLastError = true)]
    internal static partial int TcSetAttr(int fd, int optionalActions, Termios* termios);

    // glibc's wrappers on purpose: they change every thread of this (multi-threaded) process.
    [LibraryImport(Lib, EntryPoint = "setgroups", SetLastError = true)]
    internal static partial int SetGroups(nuint size, uint* list);

    [LibraryImport(Lib, EntryPoint = "setgid", SetLastError = true)]
    internal static partial int SetGid(uint gid);

    [LibraryImport(Lib, EntryPoint = "setuid", SetLastError = true)]
    internal static partial int SetUid(uint uid);

    internal const int TCSANOW = 0;
    internal const uint ECHO = 0x8;
    internal const uint ECHONL = 0x40;

    /// <summary>struct termios of x86-64 glibc (60 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Termios
    {
        public uint c_iflag, c_oflag, c_cflag, c_lflag;
        public byte c_line;
        public fixed byte c_cc[32];
        public uint c_ispeed, c_ospeed;
    }

    /// <summary>struct crypt_data of libxcrypt: 32768 bytes of opaque state.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 32768)]
    internal struct CryptData
    {
        public byte first;
    }
}
