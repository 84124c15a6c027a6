namespace Meerkat.Http;

/// <summary>Settings of an HTTP server listener. Every limit has a safe default.</summary>
public sealed class HttpServerOptions
{
    /// <summary>Parser limits: request line (414), header bytes and count (431), chunk extensions.</summary>
    public HttpLimits Limits { get; set; } = new();

    /// <summary>Largest request body delivered whole in <see cref="EventKind.HttpMessage"/>; larger
    /// ones get 413 unless the handler streams the body (<see cref="HttpRequest.StreamBody"/>). Default 1 MiB.</summary>
    public long MaxBufferedBodySize { get; set; } = 1024 * 1024;

    /// <summary>Largest streamed request body (413 beyond it). Default unlimited.</summary>
    public long MaxStreamedBodySize { get; set; } = long.MaxValue;

    /// <summary>Most request-body bytes read and discarded when the handler answered without reading
    /// the body; beyond it the connection closes after the response. Default 64 KiB.</summary>
    public long MaxDrainSize { get; set; } = 64 * 1024;

    /// <summary>Time allowed for a whole request head, from its first byte (slow-loris defence):
    /// 408 and close after it. Default 10 s.</summary>
    public TimeSpan HeaderTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long an idle keep-alive connection stays open. Default 60 s.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Least average rate, in bytes per second, at which a request body must arrive once
    /// <see cref="MinRequestBodyDataRateGracePeriod"/> has passed since it began (Kestrel's
    /// MinRequestBodyDataRate): a slower body gets 408 (or an aborted transaction if the response has
    /// started) and a close. Time while the server itself stopped reading (its output backed up) is not
    /// counted. 0 turns the check off. Default 240.</summary>
    public double MinRequestBodyDataRate { get; set; } = 240;

    /// <summary>How long a request body may take before <see cref="MinRequestBodyDataRate"/> applies. Default 5 s.</summary>
    public TimeSpan MinRequestBodyDataRateGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long output may wait without any of it reaching the peer (a client that stopped
    /// reading) before the connection is closed and its transaction aborted (<see cref="HttpOutcome.Deadline"/>).
    /// Zero turns the check off. Default 30 s.</summary>
    public TimeSpan SendStallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The clock of the <c>Date</c> response field; tests give a fixed one. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Value of the <c>Server</c> response header, or null for none. Default null.</summary>
    public string? ServerName { get; set; }

    /// <summary>TLS settings, required by <c>https://</c> listeners (ALPN offers <c>h2</c> then <c>http/1.1</c>,
    /// or only <c>http/1.1</c> without <see cref="EnableHttp2"/>, unless the options name their own). Default null.</summary>
    public Meerkat.Tls.TlsServerOptions? Tls { get; set; }

    /// <summary>Whether the listener also speaks HTTP/2 (RFC 9113), with the same handlers and events, one
    /// transaction per stream: on <c>https://</c> when the client chooses <c>h2</c> by ALPN; on <c>http://</c>
    /// (h2c) when the connection starts with the HTTP/2 preface (prior knowledge) or a request asks for
    /// <c>Upgrade: h2c</c>. HTTP/1.1 is served beside it on the same port. Default true. See docs/http2.md.</summary>
    public bool EnableHttp2 { get; set; } = true;

    /// <summary>HTTP/2: streams a client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS); more are
    /// refused with REFUSED_STREAM, which clients retry. Default 100.</summary>
    public int Http2MaxConcurrentStreams { get; set; } = 100;

    /// <summary>A validated copy, taken by <see cref="HttpServerExtensions.ListenHttp"/>: changing these options
    /// afterwards changes nothing for that listener.</summary>
    /// <exception cref="ArgumentException">A size or time limit is out of range.</exception>
    internal HttpServerOptions Snapshot()
    {
        if (MaxBufferedBodySize < 0 || MaxStreamedBodySize < 0 || MaxDrainSize < 0)
            throw new ArgumentException("HttpServerOptions body sizes must not be negative");
        if (HeaderTimeout <= TimeSpan.Zero || IdleTimeout <= TimeSpan.Zero)
            throw new ArgumentException("HttpServerOptions.HeaderTimeout and IdleTimeout must be positive");
        if (Http2MaxConcurrentStreams < 1)
            throw new ArgumentException("HttpServerOptions.Http2MaxConcurrentStreams must be at least 1");
        var copy = (HttpServerOptions)MemberwiseClone();
        copy.Limits = Limits.Snapshot();
        return copy;
    }
}
