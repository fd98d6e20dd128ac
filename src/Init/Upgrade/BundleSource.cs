namespace Berth.Init.Upgrade;

/// <summary>Where a bundle comes from: a path (file or block device) or an http(s) URL, opened as a fresh stream each pass.</summary>
public sealed class BundleSource
{
    public string Location { get; }
    private readonly Uri? _url;

    public BundleSource(string location)
    {
        Location = location;
        if (location.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || location.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            if (!Uri.TryCreate(location, UriKind.Absolute, out _url)) throw new BundleException($"'{location}' is not a valid URL");
        }
        else if (!File.Exists(location)) throw new BundleException($"{location}: no such file");
    }

    /// <summary>The file or block device the bundle is on; null for a URL.</summary>
    public string? LocalPath => _url is null ? Location : null;

    public Stream Open()
    {
        if (_url is null)
            return new FileStream(Location, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        var client = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        HttpResponseMessage response;
        try { response = client.Send(new HttpRequestMessage(HttpMethod.Get, _url), HttpCompletionOption.ResponseHeadersRead); }
        catch (HttpRequestException e) { throw new BundleException($"{Location}: {e.Message}"); }
        if (!response.IsSuccessStatusCode)
            throw new BundleException($"{Location}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
        return new OwningStream(response.Content.ReadAsStream(), response, client);
    }

    /// <summary>A response body that disposes its response and client with it.</summary>
    private sealed class OwningStream(Stream body, params IDisposable[] owned) : Runtime.Images.ReadOnlyForwardStream
    {
        public override int Read(Span<byte> buffer)
        {
            try { return body.Read(buffer); }
            catch (HttpRequestException e) { throw new IOException($"download failed: {e.Message}", e); }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) { body.Dispose(); foreach (var o in owned) o.Dispose(); }
            base.Dispose(disposing);
        }
    }
}
