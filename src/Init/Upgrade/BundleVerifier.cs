using System.Globalization;
using System.Security.Cryptography;

namespace Berth.Init.Upgrade;

/// <summary>
/// Checks a bundle's manifest against the machine before anything is written: an ECDSA P-256
/// signature (SHA-256, DER) by one of the public keys baked into the image, the compatible
/// string, the version (no downgrade, no reinstall, unless forced) and the slot size.
/// </summary>
public sealed class BundleVerifier
{
    public const string KeysDirectory = "/usr/share/berth/keys";
    public const string CompatibleFile = "/usr/share/berth/compatible";

    private readonly IReadOnlyList<(string Name, ECDsa Key)> _keys;

    public string Compatible { get; }

    public BundleVerifier(IReadOnlyList<(string Name, ECDsa Key)> keys, string compatible)
    {
        _keys = keys;
        Compatible = compatible;
    }

    /// <summary>The keys and compatible string of the running image.</summary>
    public static BundleVerifier ForSystem(string keysDir = KeysDirectory, string compatibleFile = CompatibleFile)
    {
        if (!File.Exists(compatibleFile)) throw new BundleException($"{compatibleFile} is missing: this image does not say which bundles fit it");
        return new BundleVerifier(LoadKeys(keysDir), File.ReadAllText(compatibleFile).Trim());
    }

    public static IReadOnlyList<(string, ECDsa)> LoadKeys(string dir)
    {
        var keys = new List<(string, ECDsa)>();
        if (Directory.Exists(dir))
        {
            foreach (var path in Directory.GetFiles(dir, "*.pem").Order(StringComparer.Ordinal))
            {
                var key = ECDsa.Create();
                try { key.ImportFromPem(File.ReadAllText(path)); }
                catch (Exception e) when (e is ArgumentException or CryptographicException)
                {
                    throw new BundleException($"public key {path} is not a PEM ECDSA public key: {e.Message}");
                }
                if (key.KeySize != 256) throw new BundleException($"public key {path} is {key.KeySize}-bit; bundles are signed with P-256");
                keys.Add((Path.GetFileName(path), key));
            }
        }
        if (keys.Count == 0) throw new BundleException($"no public keys in {dir}: cannot check any bundle");
        return keys;
    }

    /// <summary>The key that signed the manifest; throws when none did.</summary>
    public string CheckSignature(byte[] manifest, byte[] signature, string where)
    {
        foreach (var (name, key) in _keys)
        {
            try
            {
                if (key.VerifyData(manifest, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence))
                    return name;
            }
            catch (CryptographicException) { /* malformed signature: no key verifies it */ }
        }
        throw new BundleException($"{where}: the manifest signature does not verify with any key in {KeysDirectory} ({string.Join(", ", _keys.Select(k => k.Name))})");
    }

    public void CheckManifest(BundleManifest m, string runningVersion, long slotBytes, bool force, string where)
    {
        if (m.Compatible != Compatible)
            throw new BundleException($"{where}: bundle is for '{m.Compatible}', this machine is '{Compatible}'");
        int cmp = OsVersion.Compare(m.Version, runningVersion);
        if (cmp < 0 && !force)
            throw new BundleException($"{where}: version {m.Version} is older than the running {runningVersion} (a downgrade needs --force)");
        if (cmp == 0 && !force)
            throw new BundleException($"{where}: version {m.Version} is the running version (reinstalling needs --force)");
        if (m.ImageSize > slotBytes)
            throw new BundleException(string.Create(CultureInfo.InvariantCulture,
                $"{where}: the image is {m.ImageSize} bytes, the slot partition only {slotBytes} bytes"));
    }
}

/// <summary>Orders versions like "0.10.2" and "1.2.3-rc1": numeric parts compared as numbers; a pre-release sorts before its release.</summary>
public static class OsVersion
{
    public static int Compare(string a, string b)
    {
        var (ca, pa) = Split(a);
        var (cb, pb) = Split(b);
        for (int i = 0; i < Math.Max(ca.Length, cb.Length); i++)
        {
            var x = i < ca.Length ? ca[i] : "0";
            var y = i < cb.Length ? cb[i] : "0";
            int c = long.TryParse(x, out var nx) && long.TryParse(y, out var ny) ? nx.CompareTo(ny) : string.CompareOrdinal(x, y);
            if (c != 0) return Math.Sign(c);
        }
        if (pa == pb) return 0;
        if (pa.Length == 0) return 1;
        if (pb.Length == 0) return -1;
        return Math.Sign(string.CompareOrdinal(pa, pb));
    }

    private static (string[] Core, string Pre) Split(string v)
    {
        v = v.Trim().TrimStart('v');
        int dash = v.IndexOfAny(['-', '+', '~']);
        return dash < 0 ? (v.Split('.'), "") : (v[..dash].Split('.'), v[(dash + 1)..]);
    }
}
