using Berth.Runtime.Images;
using Xunit;

namespace Berth.Tests.Unit.Images;

public class PathRulesTests
{
    [Theory]
    [InlineData("etc/passwd", "etc/passwd")]
    [InlineData("./etc/passwd", "etc/passwd")]
    [InlineData("/etc/passwd", "etc/passwd")]      // absolute: contained, as GNU tar reads it
    [InlineData("//etc//./passwd/", "etc/passwd")]
    [InlineData("a/b/../c", "a/c")]
    [InlineData("a/..", "")]
    [InlineData("./", "")]
    [InlineData("/", "")]
    [InlineData("...", "...")]                      // a name, not a climb
    [InlineData("..a/b..", "..a/b..")]
    public void Names_normalize_inside_the_root(string path, string expected)
    {
        Assert.Equal(expected, ContainedPath.Normalize(path, out var reason));
        Assert.Null(reason);
    }

    [Theory]
    [InlineData("..")]
    [InlineData("../etc/passwd")]
    [InlineData("a/../../etc")]
    [InlineData("/../x")]
    [InlineData("a/b/../../../c")]
    public void Names_climbing_out_are_refused_with_a_reason(string path)
    {
        Assert.Null(ContainedPath.Normalize(path, out var reason));
        Assert.Contains("..", reason);
    }

    [Fact]
    public void Nul_bytes_are_refused()
    {
        Assert.Null(ContainedPath.Normalize("a\0b", out var reason));
        Assert.Contains("NUL", reason);
    }

    [Fact]
    public void Split_join_and_within()
    {
        Assert.Equal(("", "x"), ContainedPath.Split("x"));
        Assert.Equal(("a/b", "c"), ContainedPath.Split("a/b/c"));
        Assert.Equal("x", ContainedPath.Join("", "x"));
        Assert.Equal("a/x", ContainedPath.Join("a", "x"));
        Assert.True(ContainedPath.IsWithin("a/b", "a"));
        Assert.True(ContainedPath.IsWithin("a", "a"));
        Assert.True(ContainedPath.IsWithin("anything", ""));
        Assert.False(ContainedPath.IsWithin("ab", "a"));
        Assert.False(ContainedPath.IsWithin("a", "a/b"));
    }

    [Theory]
    [InlineData("file", WhiteoutRules.Kind.None, "")]
    [InlineData(".wh.file", WhiteoutRules.Kind.Whiteout, "file")]
    [InlineData(".wh..hidden", WhiteoutRules.Kind.Whiteout, ".hidden")]
    [InlineData(".wh..wh..opq", WhiteoutRules.Kind.Opaque, "")]
    [InlineData(".wh..wh.plnk", WhiteoutRules.Kind.Metadata, "")]
    [InlineData(".wh..wh.aufs", WhiteoutRules.Kind.Metadata, "")]
    [InlineData(".wh.", WhiteoutRules.Kind.Whiteout, "")]
    [InlineData(".wh", WhiteoutRules.Kind.None, "")]
    public void Whiteout_names(string name, WhiteoutRules.Kind kind, string target)
    {
        Assert.Equal(kind, WhiteoutRules.Classify(name, out var t));
        Assert.Equal(target, t);
    }

    [Fact]
    public void Whiteout_targets_and_reserved_xattrs()
    {
        Assert.False(WhiteoutRules.IsValidTarget(""));
        Assert.False(WhiteoutRules.IsValidTarget("."));
        Assert.False(WhiteoutRules.IsValidTarget(".."));
        Assert.True(WhiteoutRules.IsValidTarget("..."));
        Assert.True(WhiteoutRules.IsReservedXattr("trusted.overlay.redirect"));
        Assert.False(WhiteoutRules.IsReservedXattr("trusted.other"));
        Assert.False(WhiteoutRules.IsReservedXattr("security.capability"));
    }

    [Theory]
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", null)]
    [InlineData("sha512:abcd", "not supported")]
    [InlineData("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", "64 lowercase hex")]
    [InlineData("sha256:abc", "64 lowercase hex")]
    [InlineData("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "algorithm:hex")]
    [InlineData("", "empty")]
    public void Digests(string text, string? error)
    {
        bool ok = Digest.TryParse(text, out var d, out var message);
        Assert.Equal(error is null, ok);
        if (ok) Assert.Equal(text, d.ToString());
        else Assert.Contains(error!, message);
    }

    [Fact]
    public void Digest_of_content_and_chain_ids()
    {
        var empty = Digest.Of([]);
        Assert.Equal("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", empty.ToString());
        var a = Digest.Of("a"u8);
        var chain = ImageStore.ChainIds([empty, a, empty]);
        Assert.Equal(empty, chain[0]); // the bottom layer's ChainID is its diffID
        var expected1 = Digest.Of(System.Text.Encoding.ASCII.GetBytes($"{empty} {a}"));
        Assert.Equal(expected1, chain[1]);
        Assert.Equal(Digest.Of(System.Text.Encoding.ASCII.GetBytes($"{expected1} {empty}")), chain[2]);
    }
}
