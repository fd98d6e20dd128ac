using System.IO.Compression;
using System.Text;
using Berth.Init.CloudConfig;
using Xunit;

namespace Berth.Tests.Unit.CloudConfig;

public class AccountAndFileTests
{
    private const string Passwd = "root:x:0:0:root:/root:/bin/sh\n";
    private const string Group = "root:x:0:\nwheel:x:10:\n";
    private const string Shadow = "root::0:0:99999:7:::\n";

    private static UserAccount User(string name, string? hash = null, bool? lockIt = null, params string[] groups) => new()
    {
        Name = new(name, new("u.yml", 1, 1)),
        PasswordHash = hash,
        LockPassword = lockIt ?? hash is null,
        Groups = groups,
    };

    [Fact]
    public void A_new_user_gets_ids_from_1000_its_group_and_a_locked_password()
    {
        var db = new AccountDatabase(Passwd, Group, Shadow);
        Assert.Null(db.Apply(User("ann", groups: ["wheel", "docker"]), "/var/lib/berth/home"));
        Assert.Equal(Passwd + "ann:x:1000:1000::/var/lib/berth/home/ann:/bin/sh\n", db.PasswdText);
        Assert.Equal("root:x:0:\nwheel:x:10:ann\nann:x:1000:\ndocker:x:1001:ann\n", db.GroupText);
        Assert.StartsWith(Shadow + "ann:!:", db.ShadowText);
    }

    [Fact]
    public void Root_keeps_its_entry_unless_a_hash_is_given()
    {
        var db = new AccountDatabase(Passwd, Group, "root:!:0:0:99999:7:::\n");
        db.Apply(User("root"), "/home");
        Assert.Equal("root:!:0:0:99999:7:::\n", db.ShadowText);
        db.Apply(User("root", "$6$salt$hash"), "/home");
        Assert.Equal("root:$6$salt$hash:0:0:99999:7:::\n", db.ShadowText);
        db.Apply(User("root", "$6$salt$hash", lockIt: true), "/home");
        Assert.Equal("root:!$6$salt$hash:0:0:99999:7:::\n", db.ShadowText);
    }

    [Fact]
    public void A_taken_uid_is_refused()
    {
        var db = new AccountDatabase(Passwd, Group, Shadow);
        Assert.Equal("uid 0 is taken by \"root\"", db.Apply(User("bob") with { Uid = 0 }, "/home"));
    }

    [Fact]
    public void Fields_that_would_break_the_account_files_are_refused()
    {
        var db = new AccountDatabase(Passwd, Group, Shadow);
        Assert.Equal("gecos must not contain ':' or a line break", db.Apply(User("eve") with { Gecos = "x:0:0" }, "/home"));
        Assert.Equal("passwd must not contain ':' or a line break", db.Apply(User("eve", "h\nroot::0:0:::::"), "/home"));
        Assert.Equal("\"bad group\" is not a valid group name", db.Apply(User("eve", groups: ["bad group"]), "/home"));
        Assert.Equal(Passwd, db.PasswdText);
        Assert.Equal(Shadow, db.ShadowText);
    }

    [Fact]
    public void Owners_resolve_by_name_or_number()
    {
        var db = new AccountDatabase(Passwd, Group, Shadow);
        Assert.True(db.TryOwner("root:wheel", out var uid, out var gid));
        Assert.Equal((0u, 10u), (uid, gid));
        Assert.True(db.TryOwner("1234:55", out uid, out gid));
        Assert.Equal((1234u, 55u), (uid, gid));
        Assert.False(db.TryOwner("nobody", out _, out _));
    }

    [Fact]
    public void Mount_entries_read_as_cloud_init_writes_them()
    {
        MountRequest? Parse(params string[] f) => MountsApplier.Parse(new MountEntry(f, default), out _);
        Assert.Equal(new MountRequest("/dev/vdc1", "/data", "ext4", 1 | 8, "errors=remount-ro", true),
            Parse("/dev/vdc1", "/data", "ext4", "ro,noexec,nofail,errors=remount-ro", "0", "2"));
        Assert.Equal(new MountRequest("/var/lib/berth/x", "/srv", "none", 4096, null, false), Parse("/var/lib/berth/x", "/srv", "auto", "bind"));
        MountsApplier.Parse(new MountEntry(["LABEL=data", "/data", "ext4"], default), out var e1);
        Assert.Equal("\"LABEL=data\": only device paths are supported (no udev)", e1);
        MountsApplier.Parse(new MountEntry(["/dev/vdc", "data", "ext4"], default), out var e2);
        Assert.Equal("mount point \"data\" is not absolute", e2);
        MountsApplier.Parse(new MountEntry(["/dev/vdc", "/data"], default), out var e3);
        Assert.Equal("needs a filesystem type (no blkid to guess it)", e3);
    }

    [Theory]
    [InlineData("30s", 30_000.0)]
    [InlineData("1m30s", 90_000.0)]
    [InlineData("500ms", 500.0)]
    [InlineData("1.5h", 5_400_000.0)]
    [InlineData("10", 10_000.0)]
    [InlineData("10x", null)]
    [InlineData("s", null)]
    [InlineData("", null)]
    public void Durations_read_as_compose_writes_them(string text, double? ms) =>
        Assert.Equal(ms, ConfigValues.Duration(text)?.TotalMilliseconds);

    [Theory]
    [InlineData("512m", 512L << 20)]
    [InlineData("1g", 1L << 30)]
    [InlineData("64k", 65536L)]
    [InlineData("512MB", 512L << 20)]
    [InlineData("100", 100L)]
    [InlineData("100b", 100L)]
    [InlineData("lots", null)]
    [InlineData("m", null)]
    [InlineData("-1m", null)]
    public void Sizes_read_as_compose_writes_them(string text, long? bytes) => Assert.Equal(bytes, ConfigValues.Size(text));

    [Theory]
    [InlineData("0644", 0x1a4)]
    [InlineData("644", 0x1a4)]
    [InlineData("0o600", 0x180)]
    [InlineData("01777", 0x3ff)]
    [InlineData("0999", null)]
    [InlineData("rwx", null)]
    [InlineData("12345", null)]
    public void Modes_are_octal(string text, int? mode) => Assert.Equal(mode, ConfigValues.Mode(text));

    [Fact]
    public void Names_follow_their_rules()
    {
        Assert.True(ConfigValues.IsHostname("node-1.example"));
        Assert.False(ConfigValues.IsHostname("-node"));
        Assert.False(ConfigValues.IsHostname("a..b"));
        Assert.False(ConfigValues.IsHostname(new string('a', 65)));
        Assert.True(ConfigValues.IsSysctlName("net.ipv4.conf.all.forwarding"));
        Assert.True(ConfigValues.IsSysctlName("net/ipv4/ip_forward"));
        Assert.False(ConfigValues.IsSysctlName("swappiness"));
        Assert.False(ConfigValues.IsSysctlName("vm..x"));
        Assert.True(ConfigValues.IsServiceName("web.1_a-b"));
        Assert.False(ConfigValues.IsServiceName("_web"));
        Assert.True(ConfigValues.IsEnvironmentName("_A1"));
        Assert.False(ConfigValues.IsEnvironmentName("1A"));
        Assert.True(ConfigValues.IsUserName("ann"));
        Assert.True(ConfigValues.IsUserName("host$"));
        Assert.False(ConfigValues.IsUserName("Ann"));
    }

    private static WriteFileEntry File(string content, FileEncoding encoding) =>
        new() { Path = new("/etc/x", default), Content = content, Encoding = encoding, Position = default };

    [Fact]
    public void Write_files_content_decodes_b64_gzip_and_both()
    {
        var gz = new MemoryStream();
        using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true)) z.Write("zipped\n"u8);
        string b64 = Convert.ToBase64String(gz.ToArray());
        Assert.Equal("plain", Encoding.UTF8.GetString(WriteFilesApplier.Decode(File("plain", FileEncoding.Text))));
        Assert.Equal("hello", Encoding.UTF8.GetString(WriteFilesApplier.Decode(File("aGVsbG8=", FileEncoding.Base64))));
        Assert.Equal("zipped\n", Encoding.UTF8.GetString(WriteFilesApplier.Decode(File(b64, FileEncoding.GzipBase64))));
        Assert.Throws<FormatException>(() => WriteFilesApplier.Decode(File("!!", FileEncoding.Base64)));
    }

    [Fact]
    public void Write_files_refuses_the_read_only_root_by_name_and_writes_elsewhere()
    {
        var root = Directory.CreateTempSubdirectory("cc-wf-").FullName;
        try
        {
            var report = new ApplyReport();
            var applier = new WriteFilesApplier(report, root, isReadOnly: dir => !dir.StartsWith(root + "/etc", StringComparison.Ordinal) && dir != root);
            Directory.CreateDirectory(root + "/etc");
            Directory.CreateDirectory(root + "/usr");
            var accounts = new AccountDatabase(Passwd, Group, Shadow);
            var files = new[]
            {
                new WriteFileEntry { Path = new("/etc/app/conf", default), Content = "a=1\n", Permissions = 0x180, Position = new("w.yml", 2, 5) },
                new WriteFileEntry { Path = new("/usr/lib/x", default), Content = "x", Position = new("w.yml", 5, 5) },
                new WriteFileEntry { Path = new("/etc/app/conf", default), Content = "b=2\n", Append = true, Permissions = 0x180, Position = new("w.yml", 8, 5) },
            };
            Assert.Equal(2, applier.Apply(files, firstBootOfInstance: true, accounts));
            Assert.Equal("a=1\nb=2\n", System.IO.File.ReadAllText(root + "/etc/app/conf"));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, System.IO.File.GetUnixFileMode(root + "/etc/app/conf"));
            Assert.Equal(["w.yml:5:5: error: write_files[1] (/usr/lib/x): /usr/lib/x is on the read-only root; write under /etc, /var/lib/berth, /var, /run or /tmp"],
                report.Items.Select(d => d.ToString()));
            // The next boot of the same instance writes the file again but does not append twice.
            applier.Apply(files, firstBootOfInstance: false, accounts);
            Assert.Equal("a=1\n", System.IO.File.ReadAllText(root + "/etc/app/conf"));
        }
        finally { Directory.Delete(root, true); }
    }
}
