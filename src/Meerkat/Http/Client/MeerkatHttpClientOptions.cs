using Meerkat.Tls;

namespace Meerkat.Http.Client;

/// <summary>Settings of a <see cref="MeerkatHttpClient"/>. Every limit has a documented default.</summary>
public sealed class MeerkatHttpClientOptions
{
    /// <summary>Most connections open at once to one origin (scheme, host, port); further requests wait
    /// for one to be free. Default 8.</summary>
    public int MaxConnectionsPerOrigin { get; set; } = 8;

    /// <summary>Requests in flight at once on one connection (HTTP/1.1 pipelining, RFC 9112 §9.3.2).
    /// Default 1: no pipelining. Above 1, a GET, HEAD, OPTIONS or TRACE without a body that finds no
    /// idle connection and its origin at <see cref="MaxConnectionsPerOrigin"/> is sent on the busy
    /// connection with the fewest requests in flight, provided that connection has already answered
    /// a request with keep-alive and carries only such requests. Responses come back in order.
    /// Requests left unanswered when a connection closes are sent again on another one; a request
    /// cancelled while queued behind others closes its connection when its turn comes (its response
    /// cannot be skipped otherwise), and the requests behind it are sent again.</summary>
    public int MaxPipelineDepth { get; set; } = 1;

    /// <summary>How long a kept-alive connection waits in the pool for another request before it is
    /// closed. Default 60 s.</summary>
    public TimeSpan IdleConnectionTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long resolving and connecting may take. Default 30 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the response head may take once the request is sent. Default 100 s.</summary>
    public TimeSpan ResponseHeadersTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>Longest silence between two pieces of the response body (not counted while the reader
    /// of <see cref="HttpClientResponse.Content"/> is the slow side). Default 100 s.</summary>
    public TimeSpan BodyIdleTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>Deadline for a whole call, redirects, retries and body included;
    /// <see cref="Timeout.InfiniteTimeSpan"/> for none. Default none.</summary>
    public TimeSpan TotalTimeout { get; set; } = Timeout.InfiniteTimeSpan;

    /// <summary>Redirects followed per request; 0 returns 3xx responses as they are. Default 10.</summary>
    public int MaxRedirects { get; set; } = 10;

    /// <summary>Extra attempts for an idempotent request that failed before any response arrived,
    /// or was answered 503 or 429. Default 0 (no retries).</summary>
    public int MaxRetries { get; set; }

    /// <summary>First retry delay; each further retry doubles it, with ±25% jitter. Default 250 ms.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Longest wait before a retry, also capping a server's Retry-After. Default 30 s.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Asks for compressed responses (<c>Accept-Encoding: gzip, deflate, br</c>, added to a request
    /// that has no Accept-Encoding of its own) and decodes a body whose Content-Encoding is one of them:
    /// <see cref="HttpClientResponse.Content"/> then reads the decoded bytes (on the reader's thread),
    /// <see cref="HttpClientResponse.ContentLength"/> is -1, <see cref="HttpClientResponse.DecodedContentEncoding"/>
    /// names the coding, and the header fields stay as the server sent them. Corrupt data fails the read
    /// with an <see cref="HttpClientException"/>. Downloads (<c>DownloadAsync</c>) ask for the identity
    /// encoding instead, so that ranges and sizes are the file's. Default false: bodies arrive as sent.</summary>
    public bool AutomaticDecompression { get; set; }

    /// <summary>Body bytes held between the loop thread and the reader of <see cref="HttpClientResponse.Content"/>;
    /// past it the connection stops reading until the reader catches up. Default 1 MiB.</summary>
    public int ResponseBufferSize { get; set; } = 1024 * 1024;

    /// <summary>Settings of each connection (parser limits, 100-continue wait).</summary>
    public HttpClientConnectionOptions Connection { get; set; } = new();

    /// <summary>TLS settings for every <c>https://</c> origin (trusted roots, client certificate, handshake
    /// timeout, the insecure opt-out). Null: verification against the system store. Leave
    /// <see cref="TlsClientOptions.ServerName"/> null here: each origin is then verified for its own host.
    /// <see cref="TlsForOrigin"/> overrides this per origin.</summary>
    public TlsClientOptions? Tls { get; set; }

    /// <summary>Chooses the TLS settings of one <c>https://</c> origin (given as <c>https://host:port</c>);
    /// returning null falls back to <see cref="Tls"/>. Called on the loop thread, once per origin.</summary>
    public Func<Uri, TlsClientOptions?>? TlsForOrigin { get; set; }

    /// <summary>Whether a redirect from <c>https://</c> to <c>http://</c> is followed. Default false: it is
    /// refused with an <see cref="HttpClientException"/>, since the request (and the rest of the
    /// exchange) would leave TLS.</summary>
    public bool AllowHttpsToHttpRedirect { get; set; }

    /// <summary>Settings of the manager the client creates when it is not given one.</summary>
    public ManagerOptions? Manager { get; set; }

    internal void Validate()
    {
        Require(MaxConnectionsPerOrigin > 0, "MaxConnectionsPerOrigin must be positive");
        Require(MaxPipelineDepth > 0, "MaxPipelineDepth must be positive (1: no pipelining)");
        Require(MaxRedirects >= 0 && MaxRetries >= 0, "MaxRedirects and MaxRetries must not be negative");
        Require(ResponseBufferSize >= 1024, "ResponseBufferSize must be at least 1 KiB");
        Require(ConnectTimeout > TimeSpan.Zero && ResponseHeadersTimeout > TimeSpan.Zero && BodyIdleTimeout > TimeSpan.Zero && IdleConnectionTimeout > TimeSpan.Zero,
            "timeouts must be positive");
    }

    private static void Require(bool condition, string message)
    {
        if (!condition) throw new ArgumentException(message);
    }
}
