// How this file works: the public face of the reverse proxy. A ReverseProxy is a route handler
// (RouteGroup.MapProxy maps it on a prefix, for every method, streaming the request body): at the
// request's HttpHeaders it builds the upstream request (prefix removed, the rest of the path and the
// query kept, end-to-end fields copied, forwarding fields added) and starts a ProxyExchange, which
// the router keeps as the request's RouteContext.State and disposes when the client's transaction
// ends. Upstream connections come from one UpstreamPool per manager (loop thread), so one proxy may
// serve several managers on several threads.
using System.Runtime.CompilerServices;
using System.Text;
using Meerkat.Http.Client;
using Meerkat.Http.Routing;

namespace Meerkat.Http.Proxy;

/// <summary>
/// Forwards requests to an HTTP/1.1 upstream (<c>http://</c> or <c>https://</c>), like nginx's
/// <c>proxy_pass</c>: bodies streamed both ways in bounded memory, hop-by-hop fields removed,
/// <c>X-Forwarded-*</c> and <c>Via</c> added, WebSocket (any 101) upgrades tunnelled, upstream
/// connections kept alive and reused; 502 when the upstream cannot be reached or fails before
/// answering, 504 when it does not answer in time. Map it with <see cref="RouteGroup.MapProxy"/>.
/// </summary>
/// <example>
/// <code>
/// router.MapProxy("/api", "http://127.0.0.1:9000");   // GET /api/items?q=1 -> GET http://127.0.0.1:9000/items?q=1
/// </code>
/// </example>
public sealed class ReverseProxy
{
    private readonly ConditionalWeakTable<Manager, UpstreamPool> pools = new();
    private readonly string origin;
    private readonly string basePath;

    /// <summary>A proxy to <paramref name="upstream"/>: an absolute <c>http://</c> or <c>https://</c> URL
    /// whose path (if any) is put before the forwarded path.</summary>
    /// <exception cref="ArgumentException">The URL is not absolute, has a query or fragment.</exception>
    /// <exception cref="NotSupportedException">The scheme is not http or https.</exception>
    public ReverseProxy(string upstream, ReverseProxyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(upstream);
        if (!Uri.TryCreate(upstream, UriKind.Absolute, out var uri)) throw new ArgumentException($"the upstream '{upstream}' is not an absolute URL", nameof(upstream));
        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            throw new NotSupportedException($"the upstream must be http:// or https://, not {uri.Scheme}://");
        if (uri.Query.Length > 0 || uri.Fragment.Length > 0) throw new ArgumentException($"the upstream '{upstream}' must not have a query or fragment", nameof(upstream));
        Upstream = uri;
        Options = (options ?? new ReverseProxyOptions()).Validate();
        origin = uri.GetLeftPart(UriPartial.Authority);
        basePath = uri.AbsolutePath.TrimEnd('/');
    }

    /// <summary>The upstream URL.</summary>
    public Uri Upstream { get; }

    /// <summary>The settings (read at each request: change them before serving).</summary>
    public ReverseProxyOptions Options { get; }

    /// <summary>The route handler: forwards the request. Its route must stream the body and receive
    /// <see cref="RouteEvents.Headers"/> and <see cref="RouteEvents.Write"/> (<see cref="RouteGroup.MapProxy"/> sets this up);
    /// the path forwarded is the route's <c>{*rest}</c> capture (empty when absent).</summary>
    public void Handle(Connection connection, Event e, RouteContext route)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(route);
        if (e.Kind == EventKind.HttpHeaders)
        {
            var request = e.Request!;
            var exchange = new ProxyExchange(this, connection, Pool(connection.Manager), UpstreamRequest(connection, request, route));
            route.State = exchange;
            exchange.Start(request);
        }
        else if (route.State is ProxyExchange exchange) exchange.OnDownstream(e);
    }

    /// <summary>Upstream connections this proxy opened on <paramref name="manager"/> (loop thread; for tests and diagnostics).</summary>
    public int ConnectionsOpened(Manager manager) => Pool(manager).Opened;

    internal bool IsRetryable(HttpClientRequest request) => request.IsIdempotent;

    internal void Log(Connection downstream, string message) =>
        downstream.Manager.Log(LogSeverity.Warning, "proxy", message, null, downstream.Id);

    private UpstreamPool Pool(Manager manager)
    {
        if (pools.TryGetValue(manager, out var pool)) return pool;
        return pools.GetValue(manager, m => new UpstreamPool(m, Upstream, Options));
    }

    private HttpClientRequest UpstreamRequest(Connection connection, HttpRequest request, RouteContext route)
    {
        var rest = route.Route!.CaptureNames.Contains("rest") ? route.GetRaw("rest") : default;
        var target = new StringBuilder(origin.Length + basePath.Length + rest.Length + request.Query.Length + 2)
            .Append(origin).Append(basePath).Append('/').Append(Encoding.Latin1.GetString(rest));
        if (request.Target.Contains((byte)'?')) target.Append('?').Append(request.QueryString);
        string? upgrade = ProxyHeaders.RequestedUpgrade(request);
        var forwarded = new HttpClientRequest(request.MethodString, new Uri(target.ToString(), UriKind.Absolute)) { AcceptsUpgrade = upgrade is not null };
        string client = connection.RemoteEndPoint?.Address.ToString() ?? "unknown";
        ProxyHeaders.CopyRequest(request, forwarded, Options, client, connection.Security is not null, upgrade);
        return forwarded;
    }
}
