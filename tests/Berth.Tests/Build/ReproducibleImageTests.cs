using System.Security.Cryptography;
using Berth.Qemu;
using Xunit;

namespace Berth.Tests.Build;

/// <summary>Same inputs, byte-identical image: two builds from the same binary are compared whole.</summary>
[Collection("qemu")] // the image build is CPU-heavy: keep it away from running guests
[Trait("Category", "Build")]
public sealed class ReproducibleImageTests
{
    [Fact]
    public void Two_builds_from_the_same_inputs_are_byte_identical()
    {
        string bin = Path.Combine(RepoPaths.Root, "build", "bin");
        Assert.True(File.Exists(Path.Combine(bin, "berth")), "build/bin/berth is missing: run `make build` first");
        var dir = Directory.CreateTempSubdirectory("berth-repro-").FullName;
        try
        {
            string first = Path.Combine(dir, "one.img"), second = Path.Combine(dir, "two.img");
            foreach (var output in new[] { first, second })
            {
                var r = HostTools.Run("bash", Path.Combine(RepoPaths.Root, "image-build", "mkimage.sh"), "--bin", bin, "--out", output);
                Assert.True(r.ExitCode == 0, r.Output);
            }
            Assert.Equal(Hash(first), Hash(second));
            // And the image really is an image: a GPT with the five labelled partitions.
            Assert.Equal(["bios", "esp", "berth-a", "berth-b", "berth-state"], HostTools.Partitions(first).Select(p => p.Name));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private static string Hash(string path)
    {
        using var fs = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(fs));
    }
}
