using System.Diagnostics;
using System.Text.RegularExpressions;
using Berth.Qemu;
using Xunit;
using Xunit.Abstractions;

namespace Berth.Tests.EndToEnd;

/// <summary>One guest with a user from cloud-config: a password for the console, a key for ssh.</summary>
public sealed class LoginGuest : IDisposable
{
    public const string Password = "berth-e2e-pw";
    public string KeyDir { get; } = Directory.CreateTempSubdirectory("berth-sshkey-").FullName;
    public string PrivateKey => Path.Combine(KeyDir, "id_ed25519");
    private readonly Lazy<QemuGuest> _guest;

    public LoginGuest()
    {
        _guest = new(() =>
        {
            HostTools.Checked("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "e2e@host", "-f", PrivateKey);
            string publicKey = File.ReadAllText(PrivateKey + ".pub").Trim();
            string hash = HostTools.Checked("python3", "-W", "ignore", "-c",
                "import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_SHA512)))", Password).Output.Trim();
            var guest = new QemuGuest(new GuestOptions
            {
                Snapshot = true,
                SerialInput = true,
                ForwardSsh = true,
                CloudConfig = $"""
                    #cloud-config
                    users:
                      - name: ann
                        passwd: "{hash}"
                        groups: [berth]
                        ssh_authorized_keys:
                          - {publicKey}
                    write_files:
                      - path: /tmp/t
                        permissions: "0644"
                        content: |
                          echo S$((6*7))
                          echo "ID $(id -u) $(id -G)"
                          echo "PWD $(pwd) $HOME"
                          berth ps; echo "R$?"
                    """,
            }).Start();
            guest.WaitForReady();
            return guest;
        });
    }

    public QemuGuest Guest => _guest.Value;

    public void Dispose()
    {
        if (_guest.IsValueCreated) _guest.Value.Dispose();
        Directory.Delete(KeyDir, recursive: true);
    }
}

[Collection("qemu")]
[Trait("Category", "EndToEnd")]
public sealed class LoginTests(LoginGuest fixture, ITestOutputHelper output) : IClassFixture<LoginGuest>
{
    private QemuGuest Guest => fixture.Guest;

    [Fact]
    public void A_user_from_cloud_config_logs_in_on_the_serial_console_and_runs_berth_ps()
    {
        Guest.WaitForSerial(new Regex(@"login: $", RegexOptions.Multiline), TimeSpan.FromSeconds(120), "the login prompt");
        // A wrong password first: the same answer as for an unknown user, and another prompt.
        Guest.TypeOnSerial("ann\r");
        Guest.WaitForSerial(new Regex("Password: "), TimeSpan.FromSeconds(60), "the password prompt");
        Guest.TypeOnSerial("not-the-password\r");
        Guest.WaitForSerial(new Regex(@"Login incorrect\r?\n.*login: ", RegexOptions.Singleline), TimeSpan.FromSeconds(60), "the refusal");

        var clock = Stopwatch.StartNew();
        Guest.TypeOnSerial("ann\r");
        Guest.WaitForSerial(new Regex("Password: "), TimeSpan.FromSeconds(60), "the password prompt");
        Guest.TypeOnSerial(LoginGuest.Password + "\r");
        // One short line typed ahead, the checks in a file from write_files: typed at machine speed
        // into ash's line editor over the emulated UART, longer lines lost their tails.
        Guest.TypeOnSerial(". /tmp/t\r");
        Guest.WaitForSerial(new Regex(@"(?m)^S42\r?\n"), TimeSpan.FromSeconds(60), "the shell");
        output.WriteLine($"login (password typed to shell answering, TCG): {clock.ElapsedMilliseconds} ms");
        // The password was never echoed.
        Assert.DoesNotContain(LoginGuest.Password, Guest.SerialLog);
        Guest.WaitForSerial(new Regex(@"(?m)^ID 1000 1000 990\r?\n"), TimeSpan.FromSeconds(60), "uid 1000, groups ann and berth");
        Guest.WaitForSerial(new Regex(@"(?m)^PWD /var/lib/berth/home/ann /var/lib/berth/home/ann\r?\n"), TimeSpan.FromSeconds(60), "home");
        // The group berth opens the API to a user who is not root.
        // (The serial log's tail after the table can stall under TCG; the table itself is the proof.)
        var ps = Guest.WaitForSerial(new Regex(@"(?s).*?\nsshd +container +running"), TimeSpan.FromSeconds(60), "berth ps listing sshd");
        Assert.DoesNotContain("permission denied", ps.Value);
    }

    /// <summary>The screen of tty1 as text (/dev/vcs1: the characters of every row, no newlines).</summary>
    private string Tty1Screen() => Guest.Check("cat /dev/vcs1");

    private string WaitForScreen(string what, Func<string, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        string screen;
        while (!condition(screen = Tty1Screen()))
        {
            Assert.True(DateTime.UtcNow < deadline, $"tty1 never showed {what}; its screen:\n{screen}");
            Thread.Sleep(300);
        }
        return screen;
    }

    [Fact]
    public void A_second_getty_on_tty1_lets_a_person_at_the_screen_log_in()
    {
        // The serial line is the kernel's console; tty1 gets its own supervised getty as well.
        var ps = Guest.Check("berth ps");
        Assert.Matches(new Regex(@"(?m)^console-tty1 +container +running"), ps);
        WaitForScreen("a login prompt", s => s.Contains("login:", StringComparison.Ordinal));
        Guest.TypeOnKeyboard("ann\r");
        WaitForScreen("the password prompt", s => s.Contains("Password:", StringComparison.Ordinal));
        Guest.TypeOnKeyboard(LoginGuest.Password + "\r");
        Guest.TypeOnKeyboard("id -u\r");
        var screen = WaitForScreen("the shell's answer", s => Regex.IsMatch(s, @"id -u +1000 "));
        Assert.DoesNotContain(LoginGuest.Password, screen);
    }

    [Fact]
    public void Ssh_with_a_key_from_cloud_config_reaches_the_user_shell()
    {
        // sshd is healthy (its pid file) before the ready line.
        var result = Ssh("id -un; id -G; berth ps >/dev/null && echo API-OK");
        Assert.True(result.ExitCode == 0, result.Output);
        var lines = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal("ann", lines[0]);
        Assert.Contains("990", lines[1].Split(' '));
        Assert.Contains("API-OK", lines);

        Assert.Equal("600 1000:1000", Guest.Check("stat -c '%a %u:%g' /var/lib/berth/home/ann/.ssh/authorized_keys").Trim());
        Assert.Matches(@"^600 0:0", Guest.Check("stat -c '%a %u:%g' /var/lib/berth/ssh/dropbear_ed25519_host_key"));
        // Key-only by default: a password is refused even when right (BatchMode cannot type one, so ask dropbear's log instead).
        Assert.Contains("-s", Guest.Check("tr '\\0' ' ' < /proc/$(pidof dropbear | cut -d' ' -f1)/cmdline"));
        output.WriteLine("sshd (dropbear) " + Guest.Check("grep VmRSS /proc/$(pidof dropbear | tr ' ' '\\n' | tail -1)/status").Trim());

        // Another key is refused.
        string other = Path.Combine(fixture.KeyDir, "other");
        HostTools.Checked("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other);
        var refused = Ssh("true", other);
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("Permission denied", refused.Output);
    }

    private HostTools.Result Ssh(string command, string? key = null) => HostTools.Run("ssh",
        "-i", key ?? fixture.PrivateKey, "-p", Guest.SshPort!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
        "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=60", "-o", "LogLevel=ERROR",
        "ann@127.0.0.1", command);
}
