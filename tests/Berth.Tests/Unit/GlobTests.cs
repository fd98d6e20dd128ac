using System.Runtime.InteropServices;
using System.Text;
using Berth.Runtime.Kernel;
using Xunit;

namespace Berth.Tests.Unit;

public partial class GlobTests
{
    [Theory]
    [InlineData("", "", true)]
    [InlineData("", "a", false)]
    [InlineData("a", "", false)]
    [InlineData("abc", "abc", true)]
    [InlineData("abc", "abd", false)]
    [InlineData("abc", "ABC", false)]      // case sensitive
    [InlineData("*", "", true)]
    [InlineData("*", "anything/at:all", true)] // no FNM_PATHNAME: '*' crosses '/'
    [InlineData("**", "x", true)]
    [InlineData("a*", "a", true)]
    [InlineData("a*b", "ab", true)]
    [InlineData("a*b", "axxb", true)]
    [InlineData("a*b", "axxbc", false)]
    [InlineData("*ab", "aab", true)]       // needs backtracking
    [InlineData("*a*b*c", "xaxbxc", true)]
    [InlineData("*a*b*c", "xaxcxb", false)]
    [InlineData("a?c", "abc", true)]
    [InlineData("a?c", "ac", false)]
    [InlineData("a?c", "abbc", false)]
    [InlineData("?", "", false)]
    [InlineData("[a-z]1", "q1", true)]
    [InlineData("[a-z]1", "Q1", false)]
    [InlineData("[0-9A-F]", "C", true)]
    [InlineData("[0-9A-F]", "G", false)]
    [InlineData("[abc]", "b", true)]
    [InlineData("[abc]", "d", false)]
    [InlineData("[!x]y", "ay", true)]
    [InlineData("[!x]y", "xy", false)]
    [InlineData("[^x]y", "xy", false)]
    [InlineData("[!a-c]", "b", false)]
    [InlineData("[!a-c]", "d", true)]
    [InlineData("[]]", "]", true)]         // ']' first in a bracket is literal
    [InlineData("[!]]", "]", false)]
    [InlineData("[a-]", "-", true)]        // trailing '-' is literal
    [InlineData("[ab", "[ab", true)]       // unterminated bracket: literal '['
    [InlineData("[ab", "a", false)]
    [InlineData("a\\*", "a*", true)]       // backslash escapes
    [InlineData("a\\*", "ab", false)]
    [InlineData("a\\?", "a?", true)]
    [InlineData("d0[0-2]*dc*", "d01dc", true)]
    [InlineData("d0[0-2]*dc*", "d03dc", false)]
    public void Matches_like_fnmatch(string pattern, string text, bool expected)
    {
        Assert.Equal(expected, Glob.Match(pattern, text));
        Assert.Equal(expected, FnMatch(pattern, text) == 0); // the table itself is checked against glibc
    }

    [Theory]
    [InlineData("pci:v00001AF4d*sv*sd*bc*sc*i*", "pci:v00001AF4d00001042sv00001AF4sd00001100bc01sc00i00", true)]
    [InlineData("pci:v00001AF4d*sv*sd*bc*sc*i*", "pci:v00008086d00001042sv00001AF4sd00001100bc01sc00i00", false)]
    [InlineData("pci:v*d*sv*sd*bc01sc06i01*", "pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01", true)]
    [InlineData("pci:v*d*sv*sd*bc01sc06i01*", "pci:v00008086d00002922sv00001AF4sd00001100bc01sc01i01", false)]
    [InlineData("virtio:d00000003v*", "virtio:d00000003v00001AF4", true)]
    [InlineData("virtio:d00000003v*", "virtio:d00000002v00001AF4", false)]
    [InlineData("virtio:d00000003v*", "virtio:d000000030v00001AF4", false)]
    [InlineData("cpu:type:x86,ven*fam*mod*:feature:*0094*", "cpu:type:x86,ven0000fam0006mod003F:feature:,0000,0001,0094,00E5", true)]
    [InlineData("cpu:type:x86,ven*fam*mod*:feature:*0094*", "cpu:type:x86,ven0000fam0006mod003F:feature:,0000,0001,0095", false)]
    [InlineData("usb:v13FDp3940d0[0-2]*dc*dsc*dp*ic*isc*ip*in*", "usb:v13FDp3940d0100dc00dsc00dp00ic08isc06ip50in00", true)]
    [InlineData("usb:v13FDp3940d0[0-2]*dc*dsc*dp*ic*isc*ip*in*", "usb:v13FDp3940d0300dc00dsc00dp00ic08isc06ip50in00", false)]
    [InlineData("acpi*:PNP0C0C:*", "acpi:PNP0C0C:", true)]
    [InlineData("acpi*:PNP0C0C:*", "acpi:PNP0C0D:", false)]
    public void Real_modules_alias_patterns(string pattern, string modalias, bool expected)
    {
        Assert.Equal(expected, Glob.Match(pattern, modalias));
    }

    [Fact]
    public void Pathological_pattern_terminates_quickly()
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        Assert.False(Glob.Match("a*a*a*a*a*a*a*a*b", new string('a', 200)));
        Assert.True(sw.ElapsedMilliseconds < 1000, $"took {sw.ElapsedMilliseconds} ms");
    }

    /// <summary>Random patterns built from the constructs modules.alias uses, checked against glibc's fnmatch(3).</summary>
    [Fact]
    public void Agrees_with_glibc_fnmatch_on_random_patterns()
    {
        string[] tokens = ["a", "b", "c", "-", ":", "*", "*", "?", "[ab]", "[a-b]", "[!a]", "[!a-b]", "[-a]", "[]b]"];
        const string textChars = "abc-:]";
        var rng = new Random(1234);
        var mismatches = new List<string>();
        for (int n = 0; n < 30000 && mismatches.Count < 10; n++)
        {
            var p = new StringBuilder();
            for (int i = rng.Next(0, 7); i > 0; i--) p.Append(tokens[rng.Next(tokens.Length)]);
            var t = new StringBuilder();
            for (int i = rng.Next(0, 8); i > 0; i--) t.Append(textChars[rng.Next(textChars.Length)]);
            string pattern = p.ToString(), text = t.ToString();
            bool expected = FnMatch(pattern, text) == 0;
            if (Glob.Match(pattern, text) != expected) mismatches.Add($"'{pattern}' vs '{text}': fnmatch says {expected}");
        }
        Assert.Empty(mismatches);
    }

    [LibraryImport("libc", EntryPoint = "fnmatch", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FnMatch(string pattern, string text, int flags = 0);
}
