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

    /// <summary>
    /// The ttys that get a getty: the kernel's console, and tty1 as well when that console is a
    /// serial line, so a person at the VM's screen can log in too (RancherOS and Flatcar do both).
    /// </summary>
    public static IReadOnlyList<string> LoginTtys(string consoleTty, Func<string, bool> exists)
    {
        bool virtualTerminal = consoleTty.Length > 3 && consoleTty.StartsWith("tty", StringComparison.Ordinal) && consoleTty[3..].All(char.IsAsciiDigit);
        return virtualTerminal || !exists("/dev/tty1") ? [consoleTty] : [consoleTty, "tty1"];
    }

    /// <summary>The service name of the getty on <paramref name="tty"/>: "console" for the kernel's console.</summary>
    public static string ServiceName(string tty, string consoleTty) => tty == consoleTty ? "console" : "console-" + tty;

    public const string LoginProgram = "/usr/bin/berth-login";

    /// <summary>
    /// getty on <paramref name="tty"/> running berth-login. With <paramref name="autologin"/> getty
    /// asks nothing (-n) and berth-login takes the user from BERTH_AUTOLOGIN: busybox getty passes
    /// its environment on but no arguments of ours.
    /// </summary>
    public static SpawnSpec Getty(string tty, string baud, string? autologin = null, bool? hasLoginProgram = null)
    {
        var env = new Dictionary<string, string>(ProcessSpawner.DefaultEnvironment, StringComparer.Ordinal);
        if (!string.IsNullOrEmpty(autologin)) env["BERTH_AUTOLOGIN"] = autologin;
        // An image without berth-login (an old root) keeps busybox's login.
        string[] login = hasLoginProgram ?? File.Exists(LoginProgram) ? ["-l", LoginProgram] : [];
        return new()
        {
            Executable = "/sbin/getty",
            // -L: local line, no carrier detect (virtual and serial consoles alike).
            Arguments = ["-L", .. login, .. string.IsNullOrEmpty(autologin) ? Array.Empty<string>() : ["-n"],
                         baud, tty, tty.StartsWith("ttyS", StringComparison.Ordinal) ? "vt100" : "linux"],
            NewSession = true,
            Environment = env,
        };
    }
}
