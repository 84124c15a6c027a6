namespace Meerkat.Http.Routing;

/// <summary>
/// Handles the requests a route matched, on the loop thread. By default it is called once per
/// request, at <see cref="EventKind.HttpMessage"/> (the whole request is read: answer with
/// <c>c.Reply(...)</c>, or start a streamed or deferred response). A route that asked for more
/// (<see cref="Route.StreamBody"/>, <see cref="Route.Receive"/>) also gets
/// <see cref="EventKind.HttpHeaders"/>, <see cref="EventKind.HttpBody"/> and
/// <see cref="EventKind.HttpDone"/>. Once the handler has seen an event of a request, it also gets
/// the connection's <see cref="EventKind.Wakeup"/> and <see cref="EventKind.Timer"/> events (the ones
/// the application itself causes: deferred responses) until that request's <see cref="EventKind.HttpDone"/>,
/// and its <see cref="EventKind.Write"/> events if the route asked for them (<see cref="RouteEvents.Write"/>:
/// a response written piece by piece with <c>WriteBody</c>); after it upgraded the request to a
/// WebSocket, every later event of the connection (<see cref="EventKind.WsOpen"/>,
/// <see cref="EventKind.WsMessage"/>... <see cref="EventKind.Close"/>).
/// </summary>
/// <param name="connection">The server connection.</param>
/// <param name="e">The event; valid only during the call.</param>
/// <param name="route">The match: template, captures, per-request <see cref="RouteContext.State"/>.
/// One object per connection, reused for each request.</param>
public delegate void RouteHandler(Connection connection, Event e, RouteContext route);

/// <summary>
/// Runs before a route's handler, at <see cref="EventKind.HttpHeaders"/> (the body is not read yet).
/// Return true to let the request through; to refuse it, answer it (e.g. <c>c.Reply(403, ...)</c>)
/// and return false: the handler is then not called for this request.
/// </summary>
/// <param name="connection">The server connection.</param>
/// <param name="request">The request; its spans are valid only during the call.</param>
/// <param name="route">The match (template, captures); a filter may set <see cref="RouteContext.User"/>
/// or <see cref="RouteContext.State"/>.</param>
/// <returns>True to continue; false after answering the request.</returns>
public delegate bool RouteFilter(Connection connection, HttpRequest request, RouteContext route);

/// <summary>Which transaction events a route handler receives besides <see cref="EventKind.HttpMessage"/>.</summary>
[Flags]
public enum RouteEvents
{
    /// <summary>Only <see cref="EventKind.HttpMessage"/> (and what follows a deferred or streamed response). The default.</summary>
    Message = 0,

    /// <summary><see cref="EventKind.HttpHeaders"/>, after the route's filters let the request through.</summary>
    Headers = 1,

    /// <summary><see cref="EventKind.HttpBody"/> pieces; set by <see cref="Route.StreamBody"/>, which also streams the body.</summary>
    Body = 2,

    /// <summary><see cref="EventKind.HttpDone"/>: the transaction ended (completed or aborted).</summary>
    Done = 4,

    /// <summary>The connection's <see cref="EventKind.Write"/> events while the response is pending: the signal
    /// to continue a body written with <c>WriteBody</c> (a <c>StreamResponse</c> producer needs none).</summary>
    Write = 8,
}
