using Meerkat.Http.Client;

namespace Meerkat.Http.Proxy;

/// <summary>Settings of a <see cref="ReverseProxy"/>; the defaults suit a service on the same machine or network.</summary>
public sealed class ReverseProxyOptions
{
    /// <summary>How long the upstream may take to answer: from the start of forwarding (the connect
    /// included) to the response head, and then between two pieces of the response body while the
    /// client keeps up. Past it the client gets <c>504 Gateway Timeout</c> (or, once the response
    /// began, its connection is closed). Default 60 s, like nginx's <c>proxy_read_timeout</c>.</summary>
    public TimeSpan UpstreamTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Idle kept-alive upstream connections kept per loop thread (LIFO reuse). Default 64 (as many concurrent requests as that reuse their connections; more open and close one each); 0 closes
    /// each upstream connection after its response.</summary>
    public int MaxIdleConnections { get; set; } = 64;

    /// <summary>How long an idle upstream connection is kept before it is closed. Default 30 s
    /// (shorter than nginx's and Kestrel's keep-alive timeouts, so the proxy closes first).</summary>
    public TimeSpan IdleConnectionTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Adds <c>X-Forwarded-For</c> (appended to the client's), <c>X-Forwarded-Proto</c>,
    /// <c>X-Forwarded-Host</c> and <c>Via</c> to forwarded requests. Default true.</summary>
    public bool AddForwardedHeaders { get; set; } = true;

    /// <summary>The <c>Via</c> pseudonym (RFC 9110 §7.6.3). Default <c>meerkat</c>.</summary>
    public string ViaName { get; set; } = "meerkat";

    /// <summary>The upstream connections' HTTP limits and, for an <c>https://</c> upstream, TLS settings
    /// (null: verify against the system store for the upstream's host).</summary>
    public HttpClientConnectionOptions ConnectionOptions { get; set; } = new();

    internal ReverseProxyOptions Validate()
    {
        if (UpstreamTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(UpstreamTimeout), UpstreamTimeout, "the upstream timeout must be positive");
        if (IdleConnectionTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(IdleConnectionTimeout), IdleConnectionTimeout, "the idle connection timeout must be positive");
        ArgumentOutOfRangeException.ThrowIfNegative(MaxIdleConnections);
        ArgumentNullException.ThrowIfNull(ConnectionOptions);
        if (ViaName.Length == 0 || !HttpResponseHeaderExtensions.IsToken(ViaName)) throw new ArgumentException($"the Via name '{ViaName}' is not a token", nameof(ViaName));
        return this;
    }
}
