using Berth.Runtime.Linux;

namespace Berth.SystemServices.Console;

/// <summary>
/// berth-login, what the console's getty runs (getty -l): asks for the user (unless getty did) and
/// the password with echo off, checks it with crypt(3) against /etc/shadow, then becomes the user
/// and execs the shell. BERTH_AUTOLOGIN=USER (from berth.console.autologin) skips the password.
/// </summary>
public static class LoginEntry
{
    private const int Attempts = 3;
    private static readonly TimeSpan FailDelay = TimeSpan.FromSeconds(2);

    public static int Run(string[] args)
    {
        string? name = args.SkipWhile(a => a.StartsWith('-')).FirstOrDefault();
        string? autologin = System.Environment.GetEnvironmentVariable("BERTH_AUTOLOGIN");
        // fd 0 and 1 as plain streams: System.Console on a terminal edits lines and echoes itself,
        // which would defeat the echo-off of the password prompt.
        using var stdin = new StreamReader(new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(0, ownsHandle: false), FileAccess.Read, 1));
        using var stdout = new StreamWriter(new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(1, ownsHandle: false), FileAccess.Write, 1)) { AutoFlush = true };
        for (int attempt = 0; attempt < Attempts; attempt++)
        {
            if (autologin is { Length: > 0 })
            {
                var auto = LoginAccounts.Find(autologin, Read("/etc/passwd"), Read("/etc/group"), Read("/etc/shadow"));
                if (auto is null) { stdout.WriteLine($"autologin: no user {autologin}"); autologin = null; }
                else return Start(auto);
            }
            if (string.IsNullOrEmpty(name))
            {
                stdout.Write($"{System.Environment.MachineName} login: ");
                stdout.Flush();
                name = stdin.ReadLine()?.Trim();
                if (name is null) return 1;
                if (name.Length == 0) { attempt--; continue; }
            }
            string? password;
            // Echo off before the prompt: what is typed as soon as it shows must not appear.
            using (Accounts.EchoOff(0))
            {
                stdout.Write("Password: ");
                password = stdin.ReadLine();
            }
            if (password is null) return 1;
            var user = LoginAccounts.Find(name, Read("/etc/passwd"), Read("/etc/group"), Read("/etc/shadow"));
            if (LoginAccounts.Authenticate(user, password)) return Start(user!);
            Thread.Sleep(FailDelay);
            stdout.WriteLine("Login incorrect");
            name = null;
        }
        return 1;
    }

    private static string Read(string path) => File.Exists(path) ? File.ReadAllText(path) : "";

    private static int Start(LoginUser user)
    {
        try
        {
            PrepareHome(user);
            var env = LoginAccounts.Environment(user, System.Environment.GetEnvironmentVariable("TERM"));
            Accounts.BecomeUser(user.Name, user.Uid, user.Gid, user.Groups);
            try { Directory.SetCurrentDirectory(user.Home); } catch (IOException) { Directory.SetCurrentDirectory("/"); }
            // argv[0] "-sh": the shell reads its profile as a login shell.
            ProcessSpawner.Exec(user.Shell, ["-" + Path.GetFileName(user.Shell)], env);
            return 127;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            using var stderr = new StreamWriter(new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(2, ownsHandle: false), FileAccess.Write, 1));
            stderr.WriteLine($"login: {e.Message}");
            Thread.Sleep(FailDelay);
            return 1;
        }
    }

    /// <summary>A home PID 1 did not make (no ssh keys in config): made here, owned by the user, 0700.</summary>
    internal static void PrepareHome(LoginUser user)
    {
        if (user.Home == "/" || Directory.Exists(user.Home)) return;
        // The parent 0755, not the home's 0700: the user must be able to walk into it.
        if (Path.GetDirectoryName(user.Home) is { Length: > 1 } parent) Files.MakeDirectories(parent, 0x1ed);
        Files.MakeDirectories(user.Home, 0x1c0);
        Files.ChangeOwner(user.Home, user.Uid, user.Gid);
    }
}
