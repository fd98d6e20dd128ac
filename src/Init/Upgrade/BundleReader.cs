using System.Formats.Tar;

namespace Berth.Init.Upgrade;

/// <summary>
/// Reads a bundle front to back, as it streams from a file, a block device or HTTP: a ustar
/// archive with <c>manifest.json</c>, <c>manifest.sig</c> and <c>image.sqfs</c>, in that order, so
/// the manifest and its signature are checked before a byte of the image is read.
/// </summary>
public sealed class BundleReader : IDisposable
{
    public const string ManifestName = "manifest.json", SignatureName = "manifest.sig", ImageName = "image.sqfs";
    private const int MaxSmallEntry = 64 * 1024;

    private readonly ForwardOnlyStream _source;
    private readonly TarReader _tar;
    private readonly string _where;

    public byte[] ManifestBytes { get; }
    public byte[] Signature { get; }

    public BundleReader(Stream source, string where)
    {
        _source = new ForwardOnlyStream(source);
        _where = where;
        _tar = new TarReader(_source, leaveOpen: false);
        ManifestBytes = ReadSmall(ManifestName);
        Signature = ReadSmall(SignatureName);
    }

    /// <summary>Where the image's bytes start in the bundle, once <see cref="OpenImage"/> has found them.</summary>
    public long ImageOffset { get; private set; } = -1;

    /// <summary>Positions on the image entry and returns its content stream and the size the archive gives it.</summary>
    public (Stream Data, long Size) OpenImage()
    {
        var entry = Next(ImageName);
        if (entry.DataStream is null) throw new BundleException($"{_where}: {ImageName} has no content");
        ImageOffset = _source.Consumed; // the tar reader has read exactly up to the entry's data
        return (entry.DataStream, entry.Length);
    }

    private byte[] ReadSmall(string name)
    {
        var entry = Next(name);
        if (entry.Length > MaxSmallEntry) throw new BundleException($"{_where}: {name} is {entry.Length} bytes (at most {MaxSmallEntry})");
        var data = new byte[entry.Length];
        if (entry.DataStream is not null)
        {
            try { entry.DataStream.ReadExactly(data); }
            catch (EndOfStreamException) { throw new BundleException($"{_where}: truncated inside {name}"); }
        }
        else if (entry.Length > 0) throw new BundleException($"{_where}: {name} has no content");
        return data;
    }

    private TarEntry Next(string expected)
    {
        TarEntry? entry;
        try { entry = _tar.GetNextEntry(copyData: false); }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
        {
            throw new BundleException($"{_where}: not a Berth bundle or truncated before {expected}: {e.Message}");
        }
        if (entry is null) throw new BundleException($"{_where}: ends before {expected} (truncated, or not a Berth bundle)");
        string name = entry.Name.StartsWith("./", StringComparison.Ordinal) ? entry.Name[2..] : entry.Name;
        if (name != expected || entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
            throw new BundleException($"{_where}: expected {expected} but found '{entry.Name}' ({entry.EntryType}); a bundle holds {ManifestName}, {SignatureName}, {ImageName} in that order");
        return entry;
    }

    public void Dispose() => _tar.Dispose();

    /// <summary>Hides seeking, so block devices and pipes read the same way as HTTP bodies.</summary>
    private sealed class ForwardOnlyStream(Stream inner) : Runtime.Images.ReadOnlyForwardStream
    {
        public long Consumed { get; private set; }

        public override int Read(Span<byte> buffer)
        {
            int n = inner.Read(buffer);
            Consumed += n;
            return n;
        }
        protected override void Dispose(bool disposing) { if (disposing) inner.Dispose(); base.Dispose(disposing); }
    }
}
