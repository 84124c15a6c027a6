using Meerkat.Http.Proxy;
using Meerkat.WebSockets;

namespace Meerkat.Http.Routing;

/// <summary>
/// Routes under a common prefix that share filters, a CORS policy, response headers and a body
/// limit. <see cref="Router"/> is the root group; <see cref="MapGroup"/> nests.
/// </summary>
/// <example>
/// <code>
/// var api = router.MapGroup("/api").RequireBasicAuth(BasicCredentials.Of(("admin", "secret")));
/// api.MapGet("/items/{id}", (c, e, route) => c.Reply(200, route.GetString("id")!));
/// </code>
/// </example>
public class RouteGroup : RouteSettings<RouteGroup>
{
    private protected RouteGroup(RouteGroup? parent, Router? router, string prefix)
        : base(parent, router)
    {
        Prefix = prefix;
    }

    /// <summary>The whole prefix, outer groups' included; empty for the router.</summary>
    public string Prefix { get; }

    /// <summary>Maps <paramref name="method"/> (a token, e.g. <c>GET</c>, <c>PROPFIND</c>) on
    /// <paramref name="template"/> (under this group's prefix).</summary>
    /// <exception cref="ArgumentException">The method is not a token, the template is malformed, or the
    /// method is already mapped on an equivalent template.</exception>
    /// <exception cref="InvalidOperationException">The router already handles requests.</exception>
    public Route Map(string method, string template, RouteHandler handler)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(handler);
        if (method.Length == 0 || !HttpResponseHeaderExtensions.IsToken(method))
            throw new ArgumentException($"'{method}' is not an HTTP method token", nameof(method));
        Router.ThrowIfSealed();
        var route = new Route(this, method, RoutePattern.Parse(RoutePattern.Combine(Prefix, template)), handler);
        Router.Add(route);
        return route;
    }

    /// <summary>Maps every method on <paramref name="template"/> that no other route of the same template
    /// maps (a reverse proxy mount, say). Its <see cref="Route.Method"/> is <see cref="Route.AnyMethod"/>;
    /// automatic 405 and OPTIONS answers never happen on its paths, since every method is taken.</summary>
    public Route MapAnyMethod(string template, RouteHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Router.ThrowIfSealed();
        var route = new Route(this, Route.AnyMethod, RoutePattern.Parse(RoutePattern.Combine(Prefix, template)), handler);
        Router.Add(route);
        return route;
    }

    /// <summary>Maps GET (and with it HEAD) on <paramref name="template"/>.</summary>
    public Route MapGet(string template, RouteHandler handler) => Map("GET", template, handler);

    /// <summary>Maps POST on <paramref name="template"/>.</summary>
    public Route MapPost(string template, RouteHandler handler) => Map("POST", template, handler);

    /// <summary>Maps PUT on <paramref name="template"/>.</summary>
    public Route MapPut(string template, RouteHandler handler) => Map("PUT", template, handler);

    /// <summary>Maps DELETE on <paramref name="template"/>.</summary>
    public Route MapDelete(string template, RouteHandler handler) => Map("DELETE", template, handler);

    /// <summary>Maps PATCH on <paramref name="template"/>.</summary>
    public Route MapPatch(string template, RouteHandler handler) => Map("PATCH", template, handler);

    /// <summary>Maps a WebSocket endpoint: a GET whose request is upgraded (with <paramref name="options"/>)
    /// when it is complete; <paramref name="handler"/> then gets <see cref="EventKind.WsOpen"/>, the
    /// messages and <see cref="EventKind.Close"/>. A request that is not a valid upgrade gets the
    /// handshake's 400/405/426. The route's filters run before the upgrade.</summary>
    public Route MapWebSocket(string template, RouteHandler handler, WebSocketServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (options?.Handler is not null)
            throw new ArgumentException("MapWebSocket delivers the WebSocket's events to its handler; leave WebSocketServerOptions.Handler null", nameof(options));
        return MapGet(template, (c, e, route) =>
        {
            if (e.Kind == EventKind.HttpMessage) c.UpgradeToWebSocket(options);
            else if (c.IsWebSocket || e.Kind == EventKind.Close) handler(c, e, route);
        });
    }

    /// <summary>Forwards every request under <paramref name="prefix"/> (any method) to <paramref name="upstream"/>
    /// with the prefix removed: with <c>MapProxy("/api", "http://127.0.0.1:9000")</c>, <c>/api/x?q</c> goes to
    /// <c>http://127.0.0.1:9000/x?q</c> and <c>/api</c> to <c>/</c>. Routes <c>prefix</c> and <c>prefix/{*rest}</c>
    /// (just <c>/{*rest}</c> for "/"), streaming the body; this group's filters, CORS and limits apply.
    /// See <see cref="ReverseProxy"/> and docs/routing.md.</summary>
    /// <exception cref="ArgumentException">The prefix is not literal or the upstream URL is not usable.</exception>
    public ReverseProxy MapProxy(string prefix, string upstream, ReverseProxyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (RoutePattern.Parse(prefix).CaptureNames.Length > 0)
            throw new ArgumentException($"a proxy prefix is literal; '{prefix}' has a capture", nameof(prefix));
        var proxy = new ReverseProxy(upstream, options);
        string trimmed = prefix.TrimEnd('/');
        if (trimmed.Length > 0) Setup(MapAnyMethod(trimmed, proxy.Handle));
        Setup(MapAnyMethod(trimmed + "/{*rest}", proxy.Handle));
        return proxy;

        static void Setup(Route route) => route.StreamBody().Receive(RouteEvents.Headers | RouteEvents.Write);
    }

    /// <summary>A group under <c>Prefix + prefix</c>, inheriting this group's settings.</summary>
    /// <exception cref="ArgumentException">The prefix does not start with "/" or has captures.</exception>
    public RouteGroup MapGroup(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var pattern = RoutePattern.Parse(prefix);
        if (pattern.CaptureNames.Length > 0)
            throw new ArgumentException($"a group prefix is literal; '{prefix}' has a capture", nameof(prefix));
        Router.ThrowIfSealed();
        return new RouteGroup(this, Router, RoutePattern.Combine(Prefix, prefix.TrimEnd('/')));
    }
}
