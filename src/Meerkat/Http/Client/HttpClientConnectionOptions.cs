namespace Meerkat.Http.Client;

/// <summary>Settings of one loop-level HTTP client connection. Every limit has a safe default.</summary>
public sealed class HttpClientConnectionOptions
{
    /// <summary>Parser limits for response heads, chunk syntax and trailers. Default <see cref="HttpLimits.Default"/>
    /// (bodies of any size).</summary>
    public HttpLimits Limits { get; set; } = HttpLimits.Default;

    /// <summary>Largest body buffered for a request with <see cref="HttpClientRequest.BufferResponse"/>;
    /// a longer body fails the connection. Default 16 MiB.</summary>
    public int MaxBufferedBodySize { get; set; } = 16 * 1024 * 1024;

    /// <summary>How long a request with <c>Expect: 100-continue</c> holds its body back waiting for
    /// <c>100 Continue</c> before sending it anyway (RFC 9110 §10.1.1). Default 1 s.</summary>
    public TimeSpan ExpectContinueTimeout { get; set; } = TimeSpan.FromSeconds(1);

    internal static HttpClientConnectionOptions Default { get; } = new();
}
