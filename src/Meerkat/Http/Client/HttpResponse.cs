// How this file works: a response head copied out of the parser's buffer when it is parsed, so it
// outlives the callback (the parser's views do not). One object per response; the client
// allocates it once per transaction, which is cheap next to a network round trip.
namespace Meerkat.Http.Client;

/// <summary>
/// An HTTP response as seen by a client connection: status line, header fields and, once the
/// body ended, trailer fields. Raised as the subject of <see cref="EventKind.HttpHeaders"/>,
/// <see cref="EventKind.HttpBody"/>, <see cref="EventKind.HttpMessage"/> and
/// <see cref="EventKind.HttpDone"/> (read it with <c>e.Response</c>); it may be kept after the callback.
/// </summary>
public sealed class HttpResponse
{
    private readonly List<KeyValuePair<string, string>> trailers = [];

    internal HttpResponse(HttpHead head, string requestMethod)
    {
        StatusCode = head.StatusCode;
        ReasonPhrase = head.ReasonString;
        VersionMinor = head.VersionMinor;
        KeepAlive = head.KeepAlive;
        Framing = head.Framing;
        ContentLength = head.ContentLength;
        RequestMethod = requestMethod;
        var headers = new KeyValuePair<string, string>[head.Headers.Count];
        for (int i = 0; i < headers.Length; i++) headers[i] = new(head.Headers.GetNameString(i), head.Headers.GetValueString(i));
        Headers = headers;
    }

    /// <summary>The status code, e.g. 200.</summary>
    public int StatusCode { get; }

    /// <summary>The reason phrase as sent (may be empty).</summary>
    public string ReasonPhrase { get; }

    /// <summary>Minor HTTP version of the response: 0 for HTTP/1.0, 1 for HTTP/1.1.</summary>
    public int VersionMinor { get; }

    /// <summary>Whether the connection stays open after this response (RFC 9112 §9.3).</summary>
    public bool KeepAlive { get; }

    /// <summary>How the body is delimited (no body for HEAD, 1xx, 204 and 304).</summary>
    public HttpFraming Framing { get; }

    /// <summary>The Content-Length value, or -1 when absent.</summary>
    public long ContentLength { get; }

    /// <summary>The method of the request this response answers.</summary>
    public string RequestMethod { get; }

    /// <summary>The header fields, in the order received, names as sent.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>Trailer fields of a chunked body; filled when the body ends (<see cref="EventKind.HttpMessage"/>).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Trailers => trailers;

    /// <summary>Body bytes received so far (de-chunked).</summary>
    public long BodyBytesReceived { get; internal set; }

    /// <summary>The first header named <paramref name="name"/> (case-insensitive), or null.</summary>
    public string? GetHeader(string name) => Find(Headers, name);

    /// <summary>The first trailer named <paramref name="name"/> (case-insensitive), or null.</summary>
    public string? GetTrailer(string name) => Find(trailers, name);

    /// <inheritdoc/>
    public override string ToString() => $"HTTP/1.{VersionMinor} {StatusCode} {ReasonPhrase}";

    internal void SetTrailers(HttpHeaders fields)
    {
        for (int i = 0; i < fields.Count; i++) trailers.Add(new(fields.GetNameString(i), fields.GetValueString(i)));
    }

    private static string? Find(IReadOnlyList<KeyValuePair<string, string>> fields, string name)
    {
        foreach (var field in fields)
            if (string.Equals(field.Key, name, StringComparison.OrdinalIgnoreCase)) return field.Value;
        return null;
    }
}
