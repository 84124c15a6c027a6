using Meerkat.Tls;

namespace Meerkat.Http.Client;

/// <summary>Settings of one loop-level HTTP client connection. Every limit has a safe default.</summary>
public sealed class HttpClientConnectionOptions
{
    /// <summary>Parser limits for response heads, chunk syntax and trailers. Default: a new <see cref="HttpLimits"/> with its defaults
    /// (bodies of any size).</summary>
    public HttpLimits Limits { get; set; } = new();

    /// <summary>Largest body buffered for a request with <see cref="HttpClientRequest.BufferResponse"/>;
    /// a longer body fails the connection. Default 16 MiB.</summary>
    public int MaxBufferedBodySize { get; set; } = 16 * 1024 * 1024;

    /// <summary>How long a request with <c>Expect: 100-continue</c> holds its body back waiting for
    /// <c>100 Continue</c> before sending it anyway (RFC 9110 §10.1.1). Default 1 s.</summary>
    public TimeSpan ExpectContinueTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>TLS settings for an <c>https://</c> connection; null uses <c>new TlsClientOptions()</c>:
    /// the server is verified against the system store, for the URL's host. Ignored for <c>http://</c>.</summary>
    public TlsClientOptions? Tls { get; set; }

    /// <summary>Whether a read-until-close response body (no Content-Length, not chunked) over TLS
    /// may end with a TCP close that no TLS close_notify preceded. Default false: such a body may
    /// have been cut short by an attacker or a failure, and raises an error (DESIGN.md §4.3).
    /// Bodies framed by Content-Length or chunked coding do not depend on close_notify.</summary>
    public bool AllowUntilCloseBodyWithoutCloseNotify { get; set; }

    /// <summary>Whether an <c>https://</c> connection offers HTTP/2 (<c>h2</c>, then <c>http/1.1</c>, by ALPN) and
    /// speaks it when the server chooses it (like curl's <c>--http2</c>): every request is then a stream of
    /// one connection, with the same events, interleaved. Default false: HTTP/1.1 only. See docs/http2.md.</summary>
    public bool EnableHttp2 { get; set; }

    /// <summary>Whether an <c>http://</c> connection speaks HTTP/2 from its first byte (h2c with prior
    /// knowledge, RFC 9113 §3.3; curl's <c>--http2-prior-knowledge</c>): only for servers known to speak it.
    /// Default false.</summary>
    public bool Http2PriorKnowledge { get; set; }

    /// <summary>A copy with other TLS settings (the pool's per-origin options).</summary>
    internal HttpClientConnectionOptions WithTls(TlsClientOptions? tls) => new()
    {
        EnableHttp2 = EnableHttp2,
        Http2PriorKnowledge = Http2PriorKnowledge,
        Limits = Limits,
        MaxBufferedBodySize = MaxBufferedBodySize,
        ExpectContinueTimeout = ExpectContinueTimeout,
        Tls = tls,
        AllowUntilCloseBodyWithoutCloseNotify = AllowUntilCloseBodyWithoutCloseNotify,
    };

    internal static HttpClientConnectionOptions Default { get; } = new();
}
