using Berth.Init.Cli;
using Xunit;

namespace Berth.Tests.Host.Images;

/// <summary>`berth image load|ls|rm` on a store in a temp directory, with images made by umoci.</summary>
public class ImageCliTests
{
    private static (int Code, string Out, string Err) Run(string store, params string[] args)
    {
        var o = new StringWriter { NewLine = "\n" };
        var e = new StringWriter { NewLine = "\n" };
        int code = new ImageCli(o, e).Execute([.. args, "--store", store]);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void An_oci_layout_is_loaded_listed_and_removed()
    {
        using var dir = new TempDir();
        var image = new UmociImage(dir.Path, "v1").Layer("echo hi > hello.txt");
        string store = dir["store"];

        var (code, o, e) = Run(store, "load", image.Layout + ":v1", "--name", "app:1");
        Assert.True(code == 0, e);
        Assert.StartsWith("loaded app:1 (sha256:", o);
        var list = Run(store, "ls").Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("NAME", list[0]);
        Assert.Matches(@"^app:1\s+[0-9a-f]{12}\s+\d+\.\dMB$", list[1]);

        // Without a name, the directory's name and the tag.
        Assert.Equal(0, Run(store, "load", image.Layout + ":v1").Code);
        Assert.Contains(Run(store, "ls").Out.Split('\n'), l => l.StartsWith("layout:v1 ", StringComparison.Ordinal));

        Assert.Equal(0, Run(store, "rm", "app:1").Code);
        Assert.DoesNotContain(Run(store, "ls").Out.Split('\n'), l => l.StartsWith("app:1", StringComparison.Ordinal));
        Assert.Equal((1, "", $"berth image: no image named \"app:1\" in {store}\n"), Run(store, "rm", "app:1"));
    }

    [Fact]
    public void A_missing_path_or_tag_is_refused_with_the_reason()
    {
        using var dir = new TempDir();
        var image = new UmociImage(dir.Path, "v1");
        string store = dir["store"];
        var missing = Run(store, "load", dir["nope"]);
        Assert.Equal(1, missing.Code);
        Assert.Equal($"berth image: {dir["nope"]}: no such file or directory\n", missing.Err);
        var badTag = Run(store, "load", image.Layout + ":v9");
        Assert.Equal(1, badTag.Code);
        Assert.Contains("v9", badTag.Err);
        Assert.Equal(2, Run(store, "frobnicate").Code);
    }
}
