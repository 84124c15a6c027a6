// How this file works
// -------------------
// What routes and groups share: filters, a CORS policy, extra response headers and a body limit.
// A group's settings apply to every route in it (and in its subgroups); a route's own come last.
// Filters and headers add up from the outermost group inward; the CORS policy and the body limit
// of the innermost level that sets one win. Everything is resolved once, when the router seals
// (its first request), so a group may be configured before or after its routes are mapped.
namespace Meerkat.Http.Routing;

/// <summary>The settings a <see cref="Route"/> or a <see cref="RouteGroup"/> carries. Fluent: each call returns the same object.</summary>
/// <typeparam name="TSelf">The concrete type, so that chained calls keep it.</typeparam>
public abstract class RouteSettings<TSelf> where TSelf : RouteSettings<TSelf>
{
    private readonly List<RouteFilter> filters = [];
    private readonly List<(string Name, string Value)> headers = [];

    private readonly Router? router;

    /// <summary>Settings under <paramref name="parent"/>; the router itself passes nulls.</summary>
    private protected RouteSettings(RouteGroup? parent, Router? router)
    {
        Parent = parent;
        this.router = router;
    }

    internal RouteGroup? Parent { get; }

    internal Router Router => router ?? (Router)(object)this;

    internal IReadOnlyList<RouteFilter> OwnFilters => filters;

    internal IReadOnlyList<(string Name, string Value)> OwnHeaders => headers;

    internal CorsPolicy? OwnCors { get; private set; }

    internal long OwnMaxBodySize { get; private set; } = -1;

    /// <summary>Adds a filter that runs before the handler (after the filters added before it).</summary>
    /// <exception cref="InvalidOperationException">The router already handles requests.</exception>
    public TSelf AddFilter(RouteFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        Router.ThrowIfSealed();
        filters.Add(filter);
        return (TSelf)this;
    }

    /// <summary>Answers cross-origin requests per <paramref name="policy"/>: preflights (OPTIONS) get
    /// their Access-Control-Allow-* answer, other requests the Access-Control-Allow-Origin headers.</summary>
    public TSelf WithCors(CorsPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        policy.Validate();
        Router.ThrowIfSealed();
        OwnCors = policy;
        return (TSelf)this;
    }

    /// <summary>Adds headers to every response (refusals included), e.g. <c>("X-Frame-Options", "DENY")</c>.</summary>
    /// <exception cref="ArgumentException">A name is not a token, a value has CR or LF, or the header is a framing one.</exception>
    public TSelf WithResponseHeaders(params (string Name, string Value)[] fields)
    {
        Router.ThrowIfSealed();
        foreach (var (name, value) in fields)
        {
            HttpResponseHeaderExtensions.Validate(name, value);
            headers.Add((name, value));
        }
        return (TSelf)this;
    }

    /// <summary>Refuses request bodies over <paramref name="bytes"/> with 413: by Content-Length before
    /// the body is read, else as it is counted.</summary>
    public TSelf WithMaxBodySize(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        Router.ThrowIfSealed();
        OwnMaxBodySize = bytes;
        return (TSelf)this;
    }

    /// <summary>Requires HTTP Basic credentials (RFC 7617) from <paramref name="credentials"/>: otherwise 401
    /// with <c>WWW-Authenticate: Basic realm="..."</c>. The user name goes to <see cref="RouteContext.User"/>.</summary>
    public TSelf RequireBasicAuth(BasicCredentials credentials, string realm = BasicAuthentication.DefaultRealm) =>
        AddFilter(BasicAuthentication.Filter(credentials, realm));

    /// <summary>Requires a bearer token (RFC 6750) that <paramref name="check"/> accepts: a missing or rejected
    /// token is 401 with <c>WWW-Authenticate: Bearer</c>, a token without the rights 403.</summary>
    public TSelf RequireBearerToken(BearerTokenCheck check, string realm = BasicAuthentication.DefaultRealm) =>
        AddFilter(BearerAuthentication.Filter(check, realm));

    /// <summary>The filters from the outermost group inward, then this level's.</summary>
    internal List<RouteFilter> EffectiveFilters()
    {
        var all = Parent?.EffectiveFilters() ?? [];
        all.AddRange(filters);
        return all;
    }

    internal List<(string Name, string Value)> EffectiveHeaders()
    {
        var all = Parent?.EffectiveHeaders() ?? [];
        all.AddRange(headers);
        return all;
    }

    internal CorsPolicy? EffectiveCors() => OwnCors ?? Parent?.EffectiveCors();

    internal long EffectiveMaxBodySize() => OwnMaxBodySize >= 0 ? OwnMaxBodySize : Parent?.EffectiveMaxBodySize() ?? -1;
}
