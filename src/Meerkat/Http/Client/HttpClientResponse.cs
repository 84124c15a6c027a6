using System.Text;

namespace Meerkat.Http.Client;

/// <summary>
/// A response from <see cref="MeerkatHttpClient.SendAsync"/>: status and headers are here when the
/// task completes; the body streams through <see cref="Content"/>. Dispose it: an unread body
/// closes its connection instead of returning it to the pool.
/// </summary>
public sealed class HttpClientResponse : IDisposable, IAsyncDisposable
{
    private readonly ResponseBodyStream body;

    private readonly string? coding;
    private Stream? decoded;

    internal HttpClientResponse(HttpResponse head, Uri requestUri, ResponseBodyStream body, bool decode = false)
    {
        Head = head;
        RequestUri = requestUri;
        this.body = body;
        coding = decode ? ContentDecoding.CodingOf(head) : null;
    }

    /// <summary>The Content-Encoding that <see cref="Content"/> undoes (gzip, deflate or br), or null when
    /// the body is read as sent (see <see cref="MeerkatHttpClientOptions.AutomaticDecompression"/>).</summary>
    public string? DecodedContentEncoding => coding;

    /// <summary>Released with the response: the total-deadline timer of the call.</summary>
    internal IDisposable? Lifetime { get; set; }

    /// <summary>The status code.</summary>
    public int StatusCode => Head.StatusCode;

    /// <summary>The reason phrase.</summary>
    public string ReasonPhrase => Head.ReasonPhrase;

    /// <summary>True for 2xx.</summary>
    public bool IsSuccessStatusCode => StatusCode is >= 200 and < 300;

    /// <summary>The header fields in order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers => Head.Headers;

    /// <summary>Trailer fields; complete once <see cref="Content"/> has returned its end.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Trailers => Head.Trailers;

    /// <summary>The Content-Length value, or -1 (also when <see cref="Content"/> decodes the body: the
    /// decoded length is not known in advance).</summary>
    public long ContentLength => coding is null ? Head.ContentLength : -1;

    /// <summary>The URL that produced this response (the last one after redirects).</summary>
    public Uri RequestUri { get; }

    /// <summary>The response as parsed on the loop.</summary>
    public HttpResponse Head { get; }

    /// <summary>The body, read as it arrives. A connection failing mid-body makes a read throw
    /// <see cref="HttpClientException"/> instead of returning a short body.</summary>
    public Stream Content => coding is null ? body : decoded ??= ContentDecoding.Decode(body, coding);

    /// <summary>The body pipe itself, for readers that take its segments without copying.</summary>
    internal ResponseBodyStream Body => body;

    /// <summary>The first header named <paramref name="name"/>, or null.</summary>
    public string? GetHeader(string name) => Head.GetHeader(name);

    /// <summary>Reads the whole body into memory.</summary>
    public async Task<byte[]> ReadAsBytesAsync(CancellationToken cancellationToken = default)
    {
        if (coding is null && body.TryTakeWhole(out var whole)) return whole;
        // Presize from Content-Length only when it frames this body and is modest (a HEAD answer's is not).
        using var memory = coding is null && Head.Framing == HttpFraming.ContentLength && ContentLength <= 16 * 1024 * 1024 ? new MemoryStream((int)ContentLength) : new MemoryStream();
        await Content.CopyToAsync(memory, cancellationToken).ConfigureAwait(false);
        return memory.ToArray();
    }

    /// <summary>Reads the whole body as UTF-8 text.</summary>
    public async Task<string> ReadAsStringAsync(CancellationToken cancellationToken = default) =>
        Encoding.UTF8.GetString(await ReadAsBytesAsync(cancellationToken).ConfigureAwait(false));

    /// <summary>Throws <see cref="HttpClientException"/> (with the status) unless the status is 2xx.</summary>
    public HttpClientResponse EnsureSuccessStatusCode()
    {
        if (!IsSuccessStatusCode) throw new HttpClientException($"{Head.RequestMethod} {RequestUri}: {StatusCode} {ReasonPhrase}", true) { StatusCode = StatusCode };
        return this;
    }

    /// <summary>Releases the body; an unfinished body closes the connection.</summary>
    public void Dispose()
    {
        decoded?.Dispose();
        body.Dispose();
        Lifetime?.Dispose();
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{StatusCode} {ReasonPhrase} ({RequestUri})";
}
