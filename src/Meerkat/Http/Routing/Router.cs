// How this file works
// -------------------
// The router is a ConnectionHandler (Handle) for HTTP server connections. Per request:
//   HttpHeaders  match method + path (RouteTable, no allocation); no route: 404, 405 with Allow,
//                or OPTIONS (a CORS preflight answered by the target route's policy, else 204 +
//                Allow); a match: add the route's response headers and CORS headers, run its
//                filters (a refusal answers and ends it), check a declared body against its limit
//                (413), then hand HttpHeaders to the handler if it asked.
//   HttpBody     count against the body limit (413 as soon as it is passed); hand on if asked.
//   HttpMessage  check a buffered body against the limit; hand to the handler.
//   HttpDone     hand on if asked; the request's RouteContext.State is disposed; a 101 switches
//                the connection to the handler for good (WebSocket).
// Between the handler's first event and HttpDone, the connection's Wakeup and Timer events go to
// it as well (deferred responses), and its Write events when the route asked (RouteEvents.Write). The per-connection RouteContext hangs on
// the connection (not on Tag, which stays the application's) and is created on its first request.
// Routes are fixed when the router handles its first request ("sealed"); after that the tables
// are read-only, so one router may serve several managers on several threads.
using System.Text;

namespace Meerkat.Http.Routing;

/// <summary>
/// Dispatches HTTP requests to handlers by method and path template, with filters, CORS and body
/// limits; answers 404, 405 (with <c>Allow</c>), HEAD (through GET routes) and OPTIONS itself.
/// Matching allocates nothing. Pass <see cref="Handle"/> to <c>ListenHttp</c>.
/// </summary>
/// <example>
/// <code>
/// var router = new Router();
/// router.MapGet("/hello/{name}", (c, e, route) => c.Reply(200, $"Hello, {route["name"]}!\n"));
/// manager.ListenHttp("http://127.0.0.1:8000", router.Handle);
/// </code>
/// </example>
public sealed class Router : RouteGroup
{
    private static readonly byte[] NotFoundBody = "Not Found\n"u8.ToArray();
    private static readonly byte[] MethodNotAllowedBody = "Method Not Allowed\n"u8.ToArray();

    private readonly RouteTable table = new();
    private readonly List<Route> routes = [];
    private readonly Lock sealLock = new();
    private Route? fallback;
    private volatile bool isSealed;

    /// <summary>Creates an empty router: every request gets 404 until routes are mapped.</summary>
    public Router()
        : base(null, null, "")
    {
    }

    /// <summary>The routes in the order they were mapped (the fallback last, if any).</summary>
    public IReadOnlyList<Route> Routes => fallback is null ? routes : [.. routes, fallback];

    /// <summary>Handles every request that no route's template matches (any method), instead of the
    /// automatic 404: a static file server behind an API, say. Its template is <c>/{*path}</c>.</summary>
    public Route MapFallback(RouteHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ThrowIfSealed();
        if (fallback is not null) throw new InvalidOperationException("the router already has a fallback");
        return fallback = new Route(this, "*", RoutePattern.Parse("/{*path}"), handler);
    }

    /// <summary>The connection handler: pass it to <c>ListenHttp</c>. To see every event yourself,
    /// call it from your handler (<c>(c, e) => { Log(c, e); router.Handle(c, e); }</c>).</summary>
    public void Handle(Connection connection, Event e)
    {
        if (!isSealed) Seal();
        switch (e.Kind)
        {
            case EventKind.HttpHeaders:
                OnHeaders(connection, e, Context(connection));
                break;
            case EventKind.HttpBody:
                if (connection.RoutingState is RouteContext body) OnBody(connection, e, body);
                break;
            case EventKind.HttpMessage:
                if (connection.RoutingState is RouteContext message) OnMessage(connection, e, message);
                break;
            case EventKind.HttpDone:
                if (connection.RoutingState is RouteContext done) OnDone(connection, e, done);
                break;
            case EventKind.Close:
                if (connection.RoutingState is RouteContext closing) OnClose(connection, e, closing);
                break;
            case EventKind.Poll:
                // Raised on every connection at every loop iteration: only an upgraded connection's handler gets it.
                if (connection.RoutingState is RouteContext { Stage: RouteStage.Upgraded, Route: { } upgraded } polled) upgraded.Handler(connection, e, polled);
                break;
            default:
                if (connection.RoutingState is RouteContext { Route: { } route } context
                    && (context.Stage == RouteStage.Upgraded
                        || context.Stage == RouteStage.Handling
                            && (e.Kind is EventKind.Wakeup or EventKind.Timer || e.Kind == EventKind.Write && route.Wants(RouteEvents.Write))))
                    route.Handler(connection, e, context);
                break;
        }
    }

    internal void Add(Route route)
    {
        table.Add(route);
        routes.Add(route);
    }

    internal void ThrowIfSealed()
    {
        if (isSealed) throw new InvalidOperationException("routes and their settings are fixed once the router handles its first request: map them before listening");
    }

    private void Seal()
    {
        lock (sealLock)
        {
            if (isSealed) return;
            foreach (var route in routes) route.Seal();
            fallback?.Seal();
            table.Seal(routes);
            isSealed = true;
        }
    }

    private RouteContext Context(Connection connection)
    {
        if (connection.RoutingState is not RouteContext context)
            connection.RoutingState = context = new RouteContext(table.MaxCaptures);
        return context;
    }

    private void OnHeaders(Connection c, Event e, RouteContext context)
    {
        var request = e.Request!;
        context.EndRequest(RouteStage.Idle);
        context.Bind(request);
        try
        {
            ReadOnlySpan<byte> path = RouteTable.RoutingPath(request.Path);
            var route = table.Match(request.Method, path, context.CaptureSlots, out bool pathMatched);
            if (route is null && !pathMatched && fallback is not null && !IsAsteriskOptions(request, path))
            {
                route = fallback;
                context.CaptureSlots[0] = path.Length > 0 ? new Range(1, path.Length) : default;
            }
            context.Route = route;
            request.Route = route?.Template;
            if (route is null)
            {
                context.Stage = RouteStage.Answered;
                AnswerUnrouted(c, request, context, path, pathMatched);
                return;
            }
            context.Stage = RouteStage.Matched;
            if (route == fallback && route.Cors is { } cors && CorsPolicy.IsPreflight(request, out var asked))
            {
                // The fallback takes every method: a preflight may ask for any (the policy's Methods still decide).
                context.Stage = RouteStage.Answered;
                cors.AnswerPreflight(c, request, Encoding.Latin1.GetString(asked) + ", OPTIONS");
                return;
            }
            if (!Admit(c, request, context, route)) return;
            if (route.Wants(RouteEvents.Headers)) Deliver(c, e, context, route);
        }
        finally
        {
            context.Bind(null);
        }
    }

    /// <summary>Response headers, CORS, filters and the declared body size; false when refused.</summary>
    private static bool Admit(Connection c, HttpRequest request, RouteContext context, Route route)
    {
        if (route.IsBodyStreamed) request.StreamBody = true;
        foreach (var (name, value) in route.ResponseHeaders) c.AddResponseHeader(name, value);
        route.Cors?.AddResponseHeaders(c, request);
        foreach (var filter in route.Filters)
        {
            if (filter(c, request, context)) continue;
            if (c.HasPendingRequest())
                throw new InvalidOperationException($"a filter of route '{route}' refused the request without answering it (reply before returning false)");
            context.Stage = RouteStage.Answered;
            return false;
        }
        if (route.MaxBodySize >= 0 && request.ContentLength > route.MaxBodySize)
        {
            RefuseBody(c, context, $"The request body of {request.ContentLength} bytes exceeds this route's limit of {route.MaxBodySize} bytes.\n");
            return false;
        }
        return true;
    }

    private static void OnBody(Connection c, Event e, RouteContext context)
    {
        if (context.Stage is not (RouteStage.Matched or RouteStage.Handling) || context.Route is not { } route) return;
        context.BodyBytes += e.Data.Length;
        if (route.MaxBodySize >= 0 && context.BodyBytes > route.MaxBodySize)
        {
            RefuseBody(c, context, $"The request body exceeds this route's limit of {route.MaxBodySize} bytes.\n");
            return;
        }
        if (route.Wants(RouteEvents.Body)) Deliver(c, e, context, route);
    }

    private static void OnMessage(Connection c, Event e, RouteContext context)
    {
        if (context.Stage is not (RouteStage.Matched or RouteStage.Handling) || context.Route is not { } route) return;
        if (!route.IsBodyStreamed && route.MaxBodySize >= 0 && e.Request!.Body.Length > route.MaxBodySize)
        {
            RefuseBody(c, context, $"The request body of {e.Request!.Body.Length} bytes exceeds this route's limit of {route.MaxBodySize} bytes.\n");
            return;
        }
        Deliver(c, e, context, route);
    }

    private static void OnDone(Connection c, Event e, RouteContext context)
    {
        bool routed = context.Stage is RouteStage.Matched or RouteStage.Handling;
        if (routed && context.Route is { } route && route.Wants(RouteEvents.Done)) Deliver(c, e, context, route);
        if (routed && e.Request!.ResponseStatus == 101) context.Stage = RouteStage.Upgraded; // State lives on with the WebSocket
        else context.EndRequest(RouteStage.Idle);
    }

    private static void OnClose(Connection c, Event e, RouteContext context)
    {
        c.RoutingState = null;
        try
        {
            if (context.Stage == RouteStage.Upgraded && context.Route is { } route) route.Handler(c, e, context);
        }
        finally
        {
            context.EndRequest(RouteStage.Idle);
        }
    }

    private static void Deliver(Connection c, Event e, RouteContext context, Route route)
    {
        context.Stage = RouteStage.Handling;
        // The request's spans are the server's to keep valid while it is being read, not at HttpDone.
        context.Bind(e.Kind is EventKind.HttpHeaders or EventKind.HttpBody or EventKind.HttpMessage ? e.Request : null);
        try
        {
            route.Handler(c, e, context);
        }
        finally
        {
            context.Bind(null);
        }
    }

    /// <summary>413, or a close when the handler already began its response.</summary>
    private static void RefuseBody(Connection c, RouteContext context, string message)
    {
        context.Stage = RouteStage.Answered;
        if (c.HasPendingRequest()) c.Reply(413, Encoding.UTF8.GetBytes(message), "text/plain; charset=utf-8");
        else c.Close();
    }

    /// <summary>No route: OPTIONS (preflight or Allow), 405 with Allow, or 404.</summary>
    private void AnswerUnrouted(Connection c, HttpRequest request, RouteContext context, ReadOnlySpan<byte> path, bool pathMatched)
    {
        if (request.IsMethod("OPTIONS"u8))
        {
            if (IsAsteriskOptions(request, path)) c.Reply(204, ReadOnlySpan<byte>.Empty, null, ("Allow", table.AllowAll));
            else if (pathMatched) AnswerOptions(c, request, context, path);
            else c.Reply(404, NotFoundBody, "text/plain; charset=utf-8");
            return;
        }
        if (pathMatched) c.Reply(405, MethodNotAllowedBody, "text/plain; charset=utf-8", ("Allow", table.AllowFor(path, context.CaptureSlots)));
        else c.Reply(404, NotFoundBody, "text/plain; charset=utf-8");
    }

    /// <summary>OPTIONS on a mapped path: a CORS preflight goes to the policy of the route it asks
    /// about (RFC 9110 §9.3.7; Fetch §3.2.2), anything else is 204 with Allow.</summary>
    private void AnswerOptions(Connection c, HttpRequest request, RouteContext context, ReadOnlySpan<byte> path)
    {
        string allow = table.AllowFor(path, context.CaptureSlots);
        if (CorsPolicy.IsPreflight(request, out var requestedMethod))
        {
            // The route the preflight asks about; for a method not mapped here, any route of the path
            // with a policy, which then refuses the method by name.
            var target = table.Match(requestedMethod, path, context.CaptureSlots, out _);
            foreach (var method in allow.Split(", "))
            {
                if (target?.Cors is not null) break;
                target = table.Match(Encoding.ASCII.GetBytes(method), path, context.CaptureSlots, out _);
            }
            context.Route = target;
            if (target?.Cors is { } cors)
            {
                cors.AnswerPreflight(c, request, allow);
                return;
            }
        }
        c.Reply(204, ReadOnlySpan<byte>.Empty, null, ("Allow", allow));
    }

    private static bool IsAsteriskOptions(HttpRequest request, ReadOnlySpan<byte> path) =>
        path.SequenceEqual("*"u8) && request.IsMethod("OPTIONS"u8);
}
