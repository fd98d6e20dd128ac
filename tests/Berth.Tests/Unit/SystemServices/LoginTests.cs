using System.Diagnostics;
using Berth.Init.Api;
using Berth.Init.CloudConfig;
using Berth.Init.Stage2;
using Berth.Runtime.Linux;
using Berth.SystemServices.Console;
using Berth.SystemServices.Ssh;
using Xunit;

namespace Berth.Tests.Unit.SystemServices;

public class LoginTests
{
    /// <summary>A real $6$ hash, made now by Python's crypt (libxcrypt), not by the code under test.</summary>
    private static string Sha512(string password)
    {
        var psi = new ProcessStartInfo("python3", ["-W", "ignore", "-c",
            "import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_SHA512)))", password])
        { RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        string hash = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        Assert.StartsWith("$6$", hash);
        return hash;
    }

    private static readonly Lazy<string> AnnHash = new(() => Sha512("correct horse"));

    private static string Shadow => $"root:*:0:0:99999:7:::\nann:{AnnHash.Value}:19000:0:99999:7:::\nbob::19000:0:99999:7:::\ncid:!{AnnHash.Value}:1:0:99999:7:::\n";
    private const string Passwd = "root:x:0:0:root:/root:/bin/sh\nann:x:1000:1000::/var/lib/berth/home/ann:/bin/sh\nbob:x:1001:1001::/home/bob:\ncid:x:1002:1002::/home/cid:/bin/sh\n";
    private const string Group = "root:x:0:\nberth:x:990:ann\nwheel:x:10:bob,ann\nann:x:1000:\n";

    [Fact]
    public void The_right_password_matches_a_real_sha512_hash_and_a_wrong_one_does_not()
    {
        Assert.True(Accounts.PasswordMatches("correct horse", AnnHash.Value));
        Assert.False(Accounts.PasswordMatches("correct horse ", AnnHash.Value));
        Assert.False(Accounts.PasswordMatches("", AnnHash.Value));
    }

    [Fact]
    public void Crypt_with_a_whole_hash_as_setting_gives_the_hash_back()
    {
        Assert.Equal(AnnHash.Value, Accounts.Crypt("correct horse", AnnHash.Value));
        Assert.Null(Accounts.Crypt("x", "!locked"));
    }

    [Fact]
    public void Locked_empty_and_unknown_accounts_never_log_in()
    {
        var ann = LoginAccounts.Find("ann", Passwd, Group, Shadow);
        Assert.True(LoginAccounts.Authenticate(ann, "correct horse"));
        Assert.False(LoginAccounts.Authenticate(ann, "wrong"));
        // root "*", bob empty (no password is no login, not a free one), cid locked with "!hash".
        Assert.False(LoginAccounts.Authenticate(LoginAccounts.Find("root", Passwd, Group, Shadow), ""));
        Assert.False(LoginAccounts.Authenticate(LoginAccounts.Find("bob", Passwd, Group, Shadow), ""));
        Assert.False(LoginAccounts.Authenticate(LoginAccounts.Find("cid", Passwd, Group, Shadow), "correct horse"));
        Assert.Null(LoginAccounts.Find("zed", Passwd, Group, Shadow));
        Assert.False(LoginAccounts.Authenticate(null, "correct horse"));
    }

    [Fact]
    public void A_user_gets_primary_and_supplementary_groups_home_and_shell()
    {
        var ann = LoginAccounts.Find("ann", Passwd, Group, Shadow)!;
        Assert.Equal((1000u, 1000u, "/var/lib/berth/home/ann", "/bin/sh"), (ann.Uid, ann.Gid, ann.Home, ann.Shell));
        Assert.Equal([1000u, 990u, 10u], ann.Groups);
        var bob = LoginAccounts.Find("bob", Passwd, Group, Shadow)!;
        Assert.Equal("/bin/sh", bob.Shell);
        Assert.Equal([1001u, 10u], bob.Groups);
        // "ann:" as a name must not match by prefix or split.
        Assert.Null(LoginAccounts.Find("ann:x", Passwd, Group, Shadow));
    }

    [Fact]
    public void The_shell_environment_names_the_user_and_nothing_else_leaks()
    {
        var ann = LoginAccounts.Find("ann", Passwd, Group, Shadow)!;
        var env = LoginAccounts.Environment(ann, "linux");
        Assert.Equal("/var/lib/berth/home/ann", env["HOME"]);
        Assert.Equal("ann", env["USER"]);
        Assert.Equal("ann", env["LOGNAME"]);
        Assert.Equal("/bin/sh", env["SHELL"]);
        Assert.Equal("linux", env["TERM"]);
        Assert.Contains("/usr/bin", env["PATH"]);
        Assert.Equal(["HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"], env.Keys.Order());
    }

    [Fact]
    public void Getty_runs_berth_login_and_autologin_skips_getty_prompt()
    {
        var spec = LoginConsole.Getty("ttyS0", "115200", null, hasLoginProgram: true);
        Assert.Equal(["-L", "-l", "/usr/bin/berth-login", "115200", "ttyS0", "vt100"], spec.Arguments);
        Assert.False(spec.Environment!.ContainsKey("BERTH_AUTOLOGIN"));
        var auto = LoginConsole.Getty("tty1", "38400", "ann", hasLoginProgram: true);
        Assert.Equal(["-L", "-l", "/usr/bin/berth-login", "-n", "38400", "tty1", "linux"], auto.Arguments);
        Assert.Equal("ann", auto.Environment!["BERTH_AUTOLOGIN"]);
    }

    [Fact]
    public void Berth_ssh_config_maps_to_dropbear_arguments()
    {
        static SshSettings Ssh(string yaml) =>
            CloudConfigLoader.Merge([BuiltInDefaults.Source(), ConfigSourceReader.FromBytes(System.Text.Encoding.UTF8.GetBytes(yaml), "u.yml", SourceKind.UserConfig)]).Model.Ssh;
        Assert.Equal(new SshSettings(true, 22, false), Ssh("#cloud-config\nhostname: x\n"));
        Assert.Equal(new SshSettings(false, 2200, true), Ssh("#cloud-config\nberth:\n  ssh:\n    enabled: false\n    port: 2200\n    password_login: true\n"));

        Assert.Equal(["/usr/sbin/dropbear", "-F", "-E", "-r", SshdBundle.HostKey, "-p", "22", "-P", SshdBundle.PidFile, "-s"],
            SshdBundle.DropbearArgs(22, passwordLogin: false));
        Assert.DoesNotContain("-s", SshdBundle.DropbearArgs(2200, passwordLogin: true));
        Assert.StartsWith("/var/lib/berth/ssh/", SshdBundle.HostKey);

        Assert.Contains(SystemServiceSet.Daemons([], new SshSettings()), b => b.Name == "sshd");
        Assert.DoesNotContain(SystemServiceSet.Daemons([], new SshSettings(Enabled: false)), b => b.Name == "sshd");
        var sshd = SystemServiceSet.Daemons([], new SshSettings(Port: 2200)).Single(b => b.Name == "sshd");
        Assert.Contains("-p 2200", sshd.Args[^1]);
        Assert.Contains(Berth.Runtime.Oci.NamespaceKind.Network, sshd.HostNamespaces);
    }

    [Fact]
    public void A_bad_ssh_port_is_a_config_error()
    {
        var c = CloudConfigLoader.Merge([BuiltInDefaults.Source(), ConfigSourceReader.FromBytes("#cloud-config\nberth:\n  ssh:\n    port: 70000\n"u8.ToArray(), "u.yml", SourceKind.UserConfig)]);
        Assert.Equal(22, c.Model.Ssh.Port);
        Assert.Contains(c.Diagnostics, d => d.ToString()!.Contains("port"));
    }

    [Fact]
    public void The_api_lets_in_root_and_the_berth_group_only()
    {
        Assert.True(ApiAccess.Allowed(0, 0, null));
        Assert.True(ApiAccess.Allowed(1000, 990, null));
        Assert.True(ApiAccess.Allowed(1000, 1000, "Name:\tsh\nGroups:\t10 990 \nNSpid:\t5\n"));
        Assert.False(ApiAccess.Allowed(1000, 1000, "Name:\tsh\nGroups:\t10 9900\n"));
        Assert.False(ApiAccess.Allowed(1000, 1000, null));
        Assert.Equal([10u, 990u], ApiAccess.SupplementaryGroups("Groups:\t10 990\n"));
    }
}
