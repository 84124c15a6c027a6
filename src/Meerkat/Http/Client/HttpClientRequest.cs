namespace Meerkat.Http.Client;

/// <summary>
/// An HTTP request to send: method, absolute <c>http://</c> URL, header fields and an optional
/// whole body. Used by both the loop-level API (<see cref="HttpClientExtensions"/>) and
/// <see cref="MeerkatHttpClient"/>. <c>Host</c>, <c>Content-Length</c> and
/// <c>Transfer-Encoding</c> are written by the client; do not add them.
/// </summary>
public sealed class HttpClientRequest
{
    /// <summary>Creates a request.</summary>
    /// <exception cref="ArgumentException"><paramref name="url"/> is not an absolute URL.</exception>
    public HttpClientRequest(string method, string url)
        : this(method, new Uri(url, UriKind.Absolute))
    {
    }

    /// <summary>Creates a request.</summary>
    public HttpClientRequest(string method, Uri uri)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        ArgumentNullException.ThrowIfNull(uri);
        Method = method;
        Uri = uri;
    }

    /// <summary>The method, e.g. <c>GET</c> (case-sensitive).</summary>
    public string Method { get; set; }

    /// <summary>The absolute URL; only <c>http://</c> is supported for now.</summary>
    public Uri Uri { get; set; }

    /// <summary>Header fields to send, in order.</summary>
    public List<KeyValuePair<string, string>> Headers { get; } = [];

    /// <summary>The whole body, or null for none. With a body, <c>Content-Length</c> is sent.</summary>
    public ReadOnlyMemory<byte>? Content { get; set; }

    /// <summary><see cref="MeerkatHttpClient"/> only: a body read from this stream while it is sent, so an
    /// upload of any size holds one 64 KiB chunk plus the connection's send buffer. With
    /// <see cref="ContentStreamLength"/> the body is sent with <c>Content-Length</c> (and a stream that
    /// ends early or runs long fails the request), else chunked. Not with <see cref="Content"/>. The
    /// stream is read on a thread-pool thread and is not disposed by the client. Sending it again (a
    /// 307/308 redirect, a retry, a kept-alive connection found closed) needs a seekable stream, which
    /// is rewound to where it stood; a stream that cannot seek is sent once: the redirect is returned
    /// as the response, the failure is thrown.</summary>
    public Stream? ContentStream { get; set; }

    /// <summary>The length of <see cref="ContentStream"/> in bytes, sent as <c>Content-Length</c>; null: chunked.</summary>
    public long? ContentStreamLength { get; set; }

    /// <summary>Loop-level API only: buffer the whole response body and hand it over in
    /// <see cref="EventKind.HttpMessage"/>'s data, up to <see cref="HttpClientConnectionOptions.MaxBufferedBodySize"/>.
    /// Default false: the body arrives only as <see cref="EventKind.HttpBody"/> pieces.</summary>
    public bool BufferResponse { get; set; }

    /// <summary>The reverse proxy's hook for tunnelled upgrades (WebSocket): a <c>101 Switching Protocols</c>
    /// answer to this request is accepted (normally it fails the connection, since the client asks for no
    /// other protocol). It is raised as a response without a body, and after its <see cref="EventKind.HttpDone"/>
    /// the connection reads no more HTTP: the rest of the stream is the handler's, who installs the new protocol.</summary>
    internal bool AcceptsUpgrade { get; set; }

    /// <summary>Adds a header field; returns this request.</summary>
    public HttpClientRequest AddHeader(string name, string value)
    {
        Headers.Add(new(name, value));
        return this;
    }

    /// <summary>The first header named <paramref name="name"/> (case-insensitive), or null.</summary>
    public string? GetHeader(string name)
    {
        foreach (var field in Headers)
            if (string.Equals(field.Key, name, StringComparison.OrdinalIgnoreCase)) return field.Value;
        return null;
    }

    /// <summary>True for methods RFC 9110 §9.2.2 calls idempotent: safe to send again.</summary>
    public bool IsIdempotent => Method is "GET" or "HEAD" or "OPTIONS" or "TRACE" or "PUT" or "DELETE";

    /// <inheritdoc/>
    public override string ToString() => $"{Method} {Uri}";
}
