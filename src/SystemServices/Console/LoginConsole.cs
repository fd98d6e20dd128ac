using Berth.Runtime.Linux;

namespace Berth.SystemServices.Console;

/// <summary>
/// The login console: busybox getty on the kernel's console tty (the last console= argument, as
/// the kernel picks /dev/console), falling back to tty1.
/// </summary>
public static class LoginConsole
{
    public static (string Tty, string Baud) ChooseTty(IEnumerable<string> consoleArguments, string? overrideTty)
    {
        string value = overrideTty ?? consoleArguments.LastOrDefault() ?? "tty1";
        // console=ttyS0,115200n8 → ttyS0 at 115200
        var parts = value.Split(',', 2);
        string tty = parts[0].StartsWith("/dev/", StringComparison.Ordinal) ? parts[0][5..] : parts[0];
        string baud = parts.Length > 1 ? new string(parts[1].TakeWhile(char.IsDigit).ToArray()) : "";
        if (baud.Length == 0) baud = "115200";
        return (tty, baud);
    }

    public static SpawnSpec Getty(string tty, string baud) => new()
    {
        Executable = "/sbin/getty",
        // -L: local line, no carrier detect (virtual and serial consoles alike).
        Arguments = ["-L", baud, tty, tty.StartsWith("ttyS", StringComparison.Ordinal) ? "vt100" : "linux"],
        NewSession = true,
        Environment = ProcessSpawner.DefaultEnvironment,
    };
}
