using System.Security.Cryptography;
using Berth.Init.Upgrade;
using Berth.Qemu;
using Xunit;

namespace Berth.Tests.Host.Upgrade;

/// <summary>Bundles made by image-build/mkbundle.sh, read and checked by BundleReader and BundleVerifier.</summary>
public sealed class BundleTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly string _key, _otherKey, _image;

    public BundleTests()
    {
        _key = NewKey("release");
        _otherKey = NewKey("other");
        _image = _dir["slot.sqfs"];
        var content = new byte[3 * 1024 * 1024 + 123];
        new Random(7).NextBytes(content);
        File.WriteAllBytes(_image, content);
    }

    private string NewKey(string name)
    {
        string key = _dir[name + ".key"];
        HostTools.Checked("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key);
        Directory.CreateDirectory(_dir["keys-" + name]);
        HostTools.Checked("openssl", "ec", "-in", key, "-pubout", "-out", Path.Combine(_dir["keys-" + name], name + ".pem"));
        return key;
    }

    private string Bundle(string name, string version = "0.2.0", string? key = null, string compatible = "berth-x86_64", string? image = null)
    {
        string output = _dir[name + ".bundle"];
        HostTools.Checked(Path.Combine(RepoPaths.Root, "image-build", "mkbundle.sh"), "--image", image ?? _image, "--version", version,
            "--key", key ?? _key, "--compatible", compatible, "--out", output);
        return output;
    }

    private BundleVerifier Verifier() => new(BundleVerifier.LoadKeys(_dir["keys-release"]), "berth-x86_64");

    /// <summary>What berth os upgrade checks before writing, in its order; returns the image hash.</summary>
    private string Check(string bundle, long slotBytes = 160L << 20, string running = "0.1.0")
    {
        using var reader = new BundleReader(File.OpenRead(bundle), bundle);
        var verifier = Verifier();
        verifier.CheckSignature(reader.ManifestBytes, reader.Signature, bundle);
        var manifest = BundleManifest.Parse(reader.ManifestBytes, bundle);
        verifier.CheckManifest(manifest, running, slotBytes, force: false, bundle);
        var (image, size) = reader.OpenImage();
        Assert.Equal(manifest.ImageSize, size);
        string sha = SlotWriter.Hash(image, size);
        if (sha != manifest.ImageSha256) throw new BundleException($"{bundle}: the image's sha256 is {sha}, the signed manifest says {manifest.ImageSha256}");
        return sha;
    }

    [Fact]
    public void A_good_bundle_passes_every_check_and_carries_the_image()
    {
        string bundle = Bundle("good");
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(_image))), Check(bundle));
    }

    [Fact]
    public void The_image_read_straight_from_the_bundle_file_at_its_offset_is_the_signed_image()
    {
        string bundle = Bundle("direct");
        var content = File.ReadAllBytes(_image);
        using var reader = new BundleReader(File.OpenRead(bundle), bundle);
        var (_, size) = reader.OpenImage();
        Assert.True(reader.ImageOffset % 512 == 0 && reader.ImageOffset > 0, $"offset {reader.ImageOffset}");
        Assert.Equal(content.AsSpan(0, 64).ToArray(), File.ReadAllBytes(bundle).AsSpan((int)reader.ImageOffset, 64).ToArray());
        var loaded = ImageBuffer.LoadDirect(bundle, reader.ImageOffset, size);
        Assert.NotNull(loaded); // the test directory is on a file system that does O_DIRECT (ext4)
        using var image = loaded.Value.Image;
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(content)), loaded.Value.Sha256);
        Assert.True(image.Slice(0, content.Length).SequenceEqual(content));
        Assert.True(image.Slice(content.Length, (int)(image.PaddedSize - content.Length)).IndexOfAnyExcept((byte)0) < 0, "the padding is zeros");
    }

    [Fact]
    public void A_flipped_bit_in_the_image_is_caught_by_the_hash()
    {
        string bundle = Bundle("flipped");
        var bytes = File.ReadAllBytes(bundle);
        bytes[bytes.Length / 2] ^= 0x10;
        File.WriteAllBytes(bundle, bytes);
        Assert.Contains("the signed manifest says", Assert.Throws<BundleException>(() => Check(bundle)).Message);
    }

    [Fact]
    public void A_bundle_signed_by_an_unknown_key_is_refused()
    {
        var e = Assert.Throws<BundleException>(() => Check(Bundle("foreign", key: _otherKey)));
        Assert.Contains("signature does not verify with any key", e.Message);
    }

    [Fact]
    public void An_edited_manifest_no_longer_verifies()
    {
        string bundle = Bundle("edited");
        var bytes = File.ReadAllBytes(bundle);
        int at = System.Text.Encoding.ASCII.GetString(bytes).IndexOf("\"0.2.0\"", StringComparison.Ordinal);
        bytes[at + 1] = (byte)'9';
        File.WriteAllBytes(bundle, bytes);
        Assert.Contains("signature does not verify", Assert.Throws<BundleException>(() => Check(bundle)).Message);
    }

    [Fact]
    public void Wrong_compatible_downgrade_and_too_big_are_refused_with_the_reason()
    {
        Assert.Contains("bundle is for 'berth-arm64', this machine is 'berth-x86_64'",
            Assert.Throws<BundleException>(() => Check(Bundle("arm", compatible: "berth-arm64"))).Message);
        Assert.Contains("older than the running 0.3.0 (a downgrade needs --force)",
            Assert.Throws<BundleException>(() => Check(Bundle("old"), running: "0.3.0")).Message);
        Assert.Contains("is the running version",
            Assert.Throws<BundleException>(() => Check(Bundle("same"), running: "0.2.0")).Message);
        Assert.Contains("the slot partition only 1048576 bytes",
            Assert.Throws<BundleException>(() => Check(Bundle("big"), slotBytes: 1 << 20)).Message);
    }

    [Theory]
    [InlineData(100)]       // inside the first header
    [InlineData(700)]       // inside manifest.json
    [InlineData(2_000_000)] // inside the image
    public void A_truncated_bundle_is_refused(int keep)
    {
        string bundle = Bundle("cut" + keep);
        var bytes = File.ReadAllBytes(bundle);
        File.WriteAllBytes(bundle, bytes[..keep]);
        var e = Assert.Throws<BundleException>(() => Check(bundle));
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void Not_a_bundle_is_refused()
    {
        File.WriteAllBytes(_dir["junk"], new byte[4096]);
        Assert.Contains("ends before manifest.json", Assert.Throws<BundleException>(() => Check(_dir["junk"])).Message);
    }

    public void Dispose() => _dir.Dispose();
}
