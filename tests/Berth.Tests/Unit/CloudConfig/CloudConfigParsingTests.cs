using System.Text;
using Berth.Init.CloudConfig;
using Xunit;

namespace Berth.Tests.Unit.CloudConfig;

/// <summary>A corpus of good and bad files, each with the exact report expected.</summary>
public class CloudConfigParsingTests
{
    private static ConfigSource Parse(string text, string name = "f.yml") =>
        ConfigSourceReader.FromBytes(Encoding.UTF8.GetBytes(text), name, SourceKind.UserConfig);

    private static ConfigSource Parse(byte[] bytes, string name = "f.yml") =>
        ConfigSourceReader.FromBytes(bytes, name, SourceKind.UserConfig);

    private static string[] Report(ConfigSource s) => s.Diagnostics.Select(d => d.ToString()).ToArray();

    [Fact]
    public void A_good_file_is_valid_and_positions_every_value()
    {
        var s = Parse("""
            #cloud-config
            hostname: node1
            berth:
              sysctl:
                net.ipv4.ip_forward: 1
            """);
        Assert.True(s.Valid);
        Assert.Empty(s.Diagnostics);
        var loaded = CloudConfigLoader.Merge([s]);
        Assert.Equal("node1", loaded.Model.Hostname!.Value.Value);
        Assert.Equal(new SourcePosition("f.yml", 2, 11), loaded.Model.Hostname!.Value.Position);
        Assert.Equal(new SourcePosition("f.yml", 5, 26), loaded.Model.Sysctl["net.ipv4.ip_forward"].Position);
    }

    public static TheoryData<string, string, string[]> BadFiles() => new()
    {
        { "typo", "hostnme: x\n", ["f.yml:1:1: warning: unknown key \"hostnme\" (did you mean \"hostname\"?)"] },
        { "nested typo", "berth:\n  netwrok: {}\n", ["f.yml:2:3: warning: unknown key \"berth.netwrok\" (did you mean \"berth.network\"?)"] },
        { "unrelated key", "colour: blue\n", ["f.yml:1:1: warning: unknown key \"colour\""] },
        { "mapping for a string", "berth:\n  console:\n    tty:\n      a: b\n", ["f.yml:4:7: error: berth.console.tty: expected a string, got a mapping"] },
        { "scalar for a list", "runcmd: reboot\n", ["f.yml:1:9: error: runcmd: expected a list of commands (strings or lists of strings), got \"reboot\""] },
        { "bad boolean", "write_files:\n  - path: /etc/x\n    append: maybe\n",
            ["f.yml:3:13: error: write_files[0].append: expected a boolean (true or false), got \"maybe\""] },
        { "bad mode", "write_files:\n  - path: /etc/x\n    permissions: rwx\n",
            ["f.yml:3:18: error: write_files[0].permissions: expected an octal mode like 0644, got \"rwx\""] },
        { "bad enum", "berth:\n  services:\n    web:\n      image: nginx\n      restart: sometimes\n",
            ["f.yml:5:16: error: berth.services.web.restart: expected one of \"no\", \"on-failure\", \"always\", got \"sometimes\""] },
        { "bad sysctl name", "berth:\n  sysctl:\n    'Bad Name': 1\n",
            ["f.yml:3:5: error: berth.sysctl.Bad Name: \"Bad Name\" is not a sysctl name like net.ipv4.ip_forward"] },
        { "null list item", "ssh_authorized_keys:\n  -\n", ["f.yml:2:4: error: ssh_authorized_keys[0]: expected a string, got null"] },
        { "top level list", "- a\n- b\n", ["f.yml:1:1: error: top level: expected a mapping, got a list"] },
        { "duplicate key", "hostname: a\nhostname: b\n", ["f.yml:2:1: error: duplicate key \"hostname\" (first at line 1, column 1)"] },
        { "tab indentation", "berth:\n\tsysctl: {}\n", ["f.yml:2:1: error: tab character in indentation (YAML allows only spaces)"] },
        { "truncated", "berth:\n  sysctl: {a.b: 1\n", ["f.yml:3:1: error: invalid YAML: While parsing a flow mapping, did not find expected ',' or '}'."] },
        { "two documents", "hostname: a\n---\nhostname: b\n", ["f.yml:2:1: error: more than one YAML document (only one is read)"] },
        { "unknown alias", "hostname: *nope\n", ["f.yml:1:11: error: unknown alias \"*nope\""] },
        { "bad hostname", "hostname: under_score\n", ["f.yml:1:11: error: hostname: expected a host name (letters, digits, '-' and '.', at most 64 characters), got \"under_score\""] },
        { "long value", "hostname:\n  - " + new string('x', 100) + "\n",
            ["f.yml:2:3: error: hostname: expected a host name (letters, digits, '-' and '.', at most 64 characters), got a list"] },
        { "long scalar", "ssh_authorized_keys: " + new string('k', 100) + "\n",
            ["f.yml:1:22: error: ssh_authorized_keys: expected a list of strings, got \"" + new string('k', 57) + "...\""] },
        { "unterminated quote", "hostname: \"abc\n", ["f.yml:1:11: error: invalid YAML: While scanning a quoted scalar, found unexpected end of stream."] },
        { "complex key", "? [a, b]\n: c\n", ["f.yml:1:3: error: a mapping key must be a scalar, not a list"] },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void Bad_files_give_the_exact_report(string what, string text, string[] expected)
    {
        var s = Parse(text);
        Assert.True(expected.SequenceEqual(Report(s)), $"{what}: got [{string.Join(" | ", Report(s))}]");
        Assert.Equal(expected.Any(e => e.Contains(": error: ")), !s.Valid);
        Assert.Equal(s.Valid, s.Tree is not null);
    }

    [Fact]
    public void Control_characters_are_an_error_with_a_position()
    {
        var s = Parse("hostname: a\u0000b\n");
        Assert.False(s.Valid);
        Assert.Matches(@"^f\.yml:1:\d+: error: invalid YAML: ", Assert.Single(s.Diagnostics).ToString());
    }

    [Fact]
    public void The_console_report_is_capped_per_source()
    {
        var text = string.Concat(Enumerable.Range(0, 500).Select(i => $"unknown{i}: x\n"));
        var c = CloudConfigLoader.Merge([Parse(text)]);
        var lines = c.ReportLines().ToList();
        Assert.Equal(LoadedConfig.MaxReportedPerSource + 1, lines.Count);
        Assert.Equal("f.yml: 480 more findings (berth config validate f.yml shows them all)", lines[^1]);
        Assert.Equal(500, c.Diagnostics.Count());
    }

    [Fact]
    public void Non_utf8_is_rejected_with_offset_line_and_column()
    {
        var bytes = Encoding.UTF8.GetBytes("hostname: ok\nx: é").Concat(new byte[] { 0xC3, 0x28 }).ToArray();
        Assert.Equal(["f.yml:2:5: error: invalid UTF-8 at byte offset 18"], Report(Parse(bytes)));
    }

    [Fact]
    public void Binary_garbage_is_an_error_not_a_crash()
    {
        var garbage = new byte[4096];
        new Random(7).NextBytes(garbage);
        var s = Parse(garbage);
        Assert.False(s.Valid);
        Assert.Single(s.Diagnostics);
        Assert.Matches(@"^f\.yml:\d+:\d+: error: invalid UTF-8 at byte offset \d+$", s.Diagnostics[0].ToString());
    }

    [Fact]
    public void A_file_over_the_size_limit_is_refused_unread()
    {
        var dir = Directory.CreateTempSubdirectory("cc-size-");
        try
        {
            string path = Path.Combine(dir.FullName, "big.yml");
            File.WriteAllText(path, "hostname: x\n" + new string('#', 2 << 20));
            var s = ConfigSourceReader.FromFile(path, SourceKind.UserConfig)!;
            Assert.Equal([$"{path}:1:1: error: file is {new FileInfo(path).Length} bytes, more than the limit of 1048576"], Report(s));
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void A_billion_laughs_stops_at_the_expansion_limit()
    {
        var sb = new StringBuilder("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (int i = 1; i < 10; i++)
            sb.Append($"a{i}: &a{i} [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10))}]\n");
        var started = DateTime.UtcNow;
        var s = Parse(sb.ToString());
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(2));
        Assert.Equal(["f.yml:5:45: error: aliases expand to more than 100000 nodes"], Report(s));
    }

    [Fact]
    public void Small_aliases_are_fine()
    {
        var s = Parse("ssh_authorized_keys: &keys [ssh-ed25519 AAAA]\nusers:\n  - name: ann\n    ssh_authorized_keys: *keys\n");
        Assert.True(s.Valid, string.Join("\n", Report(s)));
        Assert.Equal("ssh-ed25519 AAAA", CloudConfigLoader.Merge([s]).Model.Users[0].SshAuthorizedKeys[0].Value);
    }

    [Fact]
    public void Deep_nesting_stops_at_the_depth_limit()
    {
        var s = Parse("berth: " + new string('[', 100_000) + new string(']', 100_000) + "\n");
        Assert.Equal(["f.yml:1:71: error: nesting deeper than 64 levels"], Report(s));
    }

    [Fact]
    public void User_data_kinds_follow_the_first_line()
    {
        Assert.Equal(UserDataKind.CloudConfig, ConfigSourceReader.Classify("#cloud-config\r\nhostname: a\n"u8));
        Assert.Equal(UserDataKind.Script, ConfigSourceReader.Classify("#!/bin/sh\necho hi\n"u8));
        Assert.Equal(UserDataKind.Empty, ConfigSourceReader.Classify("\n \n"u8));
        Assert.Equal(UserDataKind.Unsupported, ConfigSourceReader.Classify("hostname: a\n"u8));
        var seed = ConfigSourceReader.FromBytes("hostname: a\n"u8, "user-data", SourceKind.NoCloudSeed);
        Assert.Equal(["user-data:1:1: warning: user-data starts with neither \"#cloud-config\" nor \"#!\"; ignored"], Report(seed));
    }

    [Fact]
    public void Empty_and_comment_only_files_are_valid_and_empty()
    {
        Assert.True(Parse("").Valid);
        Assert.True(Parse("#cloud-config\n# nothing yet\n").Valid);
        Assert.Empty(Parse("#cloud-config\n").Tree!.Entries);
    }
}
