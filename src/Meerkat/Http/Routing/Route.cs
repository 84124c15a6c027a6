using System.Text;

namespace Meerkat.Http.Routing;

/// <summary>
/// One mapped route: a method, a template (group prefixes included) and a handler, with its own
/// settings on top of its groups'. Created by <see cref="RouteGroup.Map"/> and its shorthands.
/// </summary>
public sealed class Route : RouteSettings<Route>
{
    internal Route(RouteGroup group, string method, RoutePattern pattern, RouteHandler handler)
        : base(group, group.Router)
    {
        Method = method;
        MethodBytes = Encoding.ASCII.GetBytes(method);
        IsGet = method == "GET";
        IsAnyMethod = method == AnyMethod;
        Pattern = pattern;
        Handler = handler;
    }

    /// <summary>The <see cref="Method"/> of a route that answers every method not mapped on its template
    /// (<see cref="RouteGroup.MapAnyMethod"/>, <see cref="Router.MapFallback"/>).</summary>
    public const string AnyMethod = "*";

    /// <summary>The method this route answers (GET routes answer HEAD too, unless HEAD is mapped);
    /// <see cref="AnyMethod"/> for every method.</summary>
    public string Method { get; }

    /// <summary>The whole template, group prefixes included, e.g. <c>/api/items/{id}</c>.</summary>
    public string Template => Pattern.Template;

    /// <summary>The names of the captures, in path order.</summary>
    public IReadOnlyList<string> CaptureNames => Pattern.CaptureNames;

    /// <summary>The events the handler receives besides <see cref="EventKind.HttpMessage"/>.</summary>
    public RouteEvents Events { get; private set; }

    /// <summary>True when the request body comes to the handler as <see cref="EventKind.HttpBody"/> pieces.</summary>
    public bool IsBodyStreamed { get; private set; }

    internal byte[] MethodBytes { get; }

    internal bool IsGet { get; }

    internal bool IsAnyMethod { get; }

    internal RoutePattern Pattern { get; }

    internal RouteHandler Handler { get; }

    // Resolved when the router seals (see RouteSettings).
    internal RouteFilter[] Filters { get; private set; } = [];

    internal (string Name, string Value)[] ResponseHeaders { get; private set; } = [];

    internal CorsPolicy? Cors { get; private set; }

    internal long MaxBodySize { get; private set; } = -1;

    /// <summary>Streams the request body to the handler as <see cref="EventKind.HttpBody"/> pieces
    /// (bounded memory, any size up to <see cref="HttpServerOptions.MaxStreamedBodySize"/> and the
    /// route's body limit) instead of buffering it; the handler then also gets
    /// <see cref="EventKind.HttpHeaders"/>.</summary>
    public Route StreamBody()
    {
        Router.ThrowIfSealed();
        IsBodyStreamed = true;
        Events |= RouteEvents.Headers | RouteEvents.Body;
        return this;
    }

    /// <summary>Delivers <paramref name="events"/> to the handler too (e.g. <see cref="RouteEvents.Done"/>
    /// to learn how each request ended).</summary>
    public Route Receive(RouteEvents events)
    {
        Router.ThrowIfSealed();
        if ((events & RouteEvents.Body) != 0 && !IsBodyStreamed) StreamBody();
        Events |= events;
        return this;
    }

    internal bool Wants(RouteEvents events) => (Events & events) != 0;

    internal void Seal()
    {
        Filters = [.. EffectiveFilters()];
        ResponseHeaders = [.. EffectiveHeaders()];
        Cors = EffectiveCors();
        MaxBodySize = EffectiveMaxBodySize();
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Method} {Template}";
}
