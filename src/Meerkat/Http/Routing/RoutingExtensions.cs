namespace Meerkat.Http.Routing;

/// <summary>The router's view of a connection, for code that wraps the router (access logs, metrics).</summary>
public static class RoutingExtensions
{
    extension(Connection connection)
    {
        /// <summary>The route match of the connection's current (or, until the next request, last) request:
        /// <c>c.Route?.Template</c> is the matched template, e.g. in <see cref="EventKind.HttpDone"/>. Null
        /// before a router has seen a request on this connection.</summary>
        public RouteContext? Route => connection.RoutingState as RouteContext;
    }
}
