// How this file works
// -------------------
// The routes of a router as a tree of path segments, built when routes are mapped and matched
// per request without allocating:
//   - each node has literal children (decoded bytes), at most one parameter child and at most
//     one catch-all endpoint; a node where a template ends holds an endpoint (routes by method);
//   - matching walks the raw request path segment by segment, trying at each node the literal
//     child, then the parameter, then the catch-all (most specific first), and backtracks when a
//     branch ends without a route for the method, so "GET /items/new" can fall through to
//     "GET /items/{id}" when "/items/new" is only mapped for DELETE;
//   - captures are written as ranges over the raw path into the caller's array, by position;
//   - a raw segment with a percent escape is decoded into a stack buffer before it is compared
//     with a literal; "%2F" inside a segment never splits it (RFC 3986 §2.2).
// When no route has the method but some path matched, a second walk collects the methods of
// every matching endpoint for the 405's Allow header (allocates; error path only).
using System.Buffers;
using System.Text;

namespace Meerkat.Http.Routing;

/// <summary>The routes that end at one node, by method.</summary>
internal sealed class RouteEndpoint
{
    private Route[] routes = [];

    public IReadOnlyList<Route> Routes => routes;

    /// <summary>The Allow value for this endpoint (its methods, HEAD with GET, OPTIONS); set when the router seals.</summary>
    public string Allow { get; private set; } = "";

    public void Add(Route route)
    {
        foreach (var existing in routes)
            if (existing.Method == route.Method)
                throw new ArgumentException($"'{route.Method} {route.Template}' is already mapped (as '{existing.Method} {existing.Template}')");
        routes = [.. routes, route];
    }

    /// <summary>The route for <paramref name="method"/>: exact, else GET for HEAD (RFC 9110 §9.3.2).</summary>
    public Route? Find(ReadOnlySpan<byte> method)
    {
        Route? get = null, any = null;
        foreach (var route in routes)
        {
            if (method.SequenceEqual(route.MethodBytes)) return route;
            if (route.IsGet) get = route;
            else if (route.IsAnyMethod) any = route;
        }
        return get is not null && method.SequenceEqual("HEAD"u8) ? get : any;
    }

    public void Seal() => Allow = string.Join(", ", RouteTable.AllowedMethods(routes.Select(r => r.Method)));
}

/// <summary>One node of the segment tree.</summary>
internal sealed class RouteNode
{
    public (byte[] Literal, RouteNode Node)[] Literals = [];
    public RouteNode? Parameter;
    public RouteEndpoint? CatchAll;
    public RouteEndpoint? Endpoint;

    // Per literal, what is compared before the bytes: its length and first byte (0 when empty); and
    // which literals hold a '%' (a decoded "%25"), which a raw segment can only match after decoding.
    private long[] literalKeys = [];
    private bool[] percentLiterals = [];

    public RouteNode LiteralChild(byte[] literal)
    {
        foreach (var (key, node) in Literals)
            if (key.AsSpan().SequenceEqual(literal)) return node;
        var child = new RouteNode();
        Literals = [.. Literals, (literal, child)];
        literalKeys = [.. literalKeys, Key(literal)];
        percentLiterals = [.. percentLiterals, literal.AsSpan().Contains((byte)'%')];
        return child;
    }

    /// <summary>The index of the literal equal to <paramref name="segment"/>, or -1.</summary>
    public int IndexOfLiteral(ReadOnlySpan<byte> segment)
    {
        long key = Key(segment);
        var keys = literalKeys;
        for (int i = 0; i < keys.Length; i++)
            if (keys[i] == key && segment.SequenceEqual(Literals[i].Literal)) return i;
        return -1;
    }

    public bool LiteralHasPercent(int index) => percentLiterals[index];

    private static long Key(ReadOnlySpan<byte> literal) => ((long)literal.Length << 8) + (literal.IsEmpty ? 0 : literal[0]);

    public IEnumerable<RouteEndpoint> Endpoints()
    {
        if (Endpoint is not null) yield return Endpoint;
        if (CatchAll is not null) yield return CatchAll;
        foreach (var (_, node) in Literals)
            foreach (var endpoint in node.Endpoints()) yield return endpoint;
        if (Parameter is not null)
            foreach (var endpoint in Parameter.Endpoints()) yield return endpoint;
    }
}

/// <summary>The segment tree of a router and its matcher.</summary>
internal sealed class RouteTable
{
    private const byte Slash = (byte)'/';
    private const int StackDecodeLimit = 256;

    private readonly RouteNode root = new();

    /// <summary>The most captures any route has: the size of a context's capture array.</summary>
    public int MaxCaptures { get; private set; }

    /// <summary>Every method mapped anywhere, for <c>OPTIONS *</c>; set when sealed.</summary>
    public string AllowAll { get; private set; } = "";

    public void Add(Route route)
    {
        var node = root;
        foreach (var segment in route.Pattern.Segments)
        {
            switch (segment.Kind)
            {
                case RouteSegmentKind.Literal:
                    node = node.LiteralChild(segment.Literal);
                    break;
                case RouteSegmentKind.Parameter:
                    node = node.Parameter ??= new RouteNode();
                    break;
                case RouteSegmentKind.CatchAll:
                    (node.CatchAll ??= new RouteEndpoint()).Add(route);
                    MaxCaptures = Math.Max(MaxCaptures, route.Pattern.CaptureNames.Length);
                    return;
            }
        }
        (node.Endpoint ??= new RouteEndpoint()).Add(route);
        MaxCaptures = Math.Max(MaxCaptures, route.Pattern.CaptureNames.Length);
    }

    /// <summary>Computes the Allow values; <paramref name="routes"/> in mapping order.</summary>
    public void Seal(IEnumerable<Route> routes)
    {
        foreach (var endpoint in root.Endpoints()) endpoint.Seal();
        AllowAll = string.Join(", ", AllowedMethods(routes.Select(r => r.Method)));
    }

    /// <summary>The Allow list for a set of mapped methods: each once, HEAD where GET is, OPTIONS always.</summary>
    public static IEnumerable<string> AllowedMethods(IEnumerable<string> methods)
    {
        var list = methods.Where(m => m != Route.AnyMethod).Distinct(StringComparer.Ordinal).ToList();
        if (list.Contains("GET") && !list.Contains("HEAD")) list.Insert(list.IndexOf("GET") + 1, "HEAD");
        if (!list.Contains("OPTIONS")) list.Add("OPTIONS");
        return list;
    }

    /// <summary>The route for <paramref name="method"/> on <paramref name="path"/> (raw, origin-form), with
    /// its captures written to <paramref name="captures"/>; null when none. <paramref name="pathMatched"/>
    /// is true when some route matched the path (for 405 rather than 404).</summary>
    public Route? Match(ReadOnlySpan<byte> method, ReadOnlySpan<byte> path, Span<Range> captures, out bool pathMatched)
    {
        pathMatched = false;
        if (path.IsEmpty || path[0] != Slash) return null;
        return Walk(root, method, path, 0, captures, 0, ref pathMatched, null);
    }

    /// <summary>The Allow value listing every method some route on <paramref name="path"/> takes (allocates).</summary>
    public string AllowFor(ReadOnlySpan<byte> path, Span<Range> captures)
    {
        var found = new List<RouteEndpoint>();
        bool matched = false;
        Walk(root, default, path, 0, captures, 0, ref matched, found);
        return string.Join(", ", AllowedMethods(found.SelectMany(e => e.Routes).Select(r => r.Method)));
    }

    /// <summary>Depth-first match. <paramref name="slash"/> is the index of the '/' before the next
    /// segment, or the path's length when no segment is left. With <paramref name="collect"/>, every
    /// endpoint that matches the path is added there and the walk never stops early.</summary>
    private static Route? Walk(RouteNode node, ReadOnlySpan<byte> method, ReadOnlySpan<byte> path, int slash,
        Span<Range> captures, int captured, ref bool pathMatched, List<RouteEndpoint>? collect)
    {
        if (slash == path.Length)
        {
            if (Accept(node.Endpoint, method, ref pathMatched, collect) is { } exact) return exact;
            if (node.CatchAll is null) return null;
            captures[captured] = new Range(slash, slash);
            return Accept(node.CatchAll, method, ref pathMatched, collect);
        }
        int start = slash + 1;
        int length = path[start..].IndexOf(Slash);
        int end = length < 0 ? path.Length : start + length;
        ReadOnlySpan<byte> segment = path[start..end];
        if (node.Literals.Length > 0 && FindLiteral(node, segment) is { } literal
            && Walk(literal, method, path, end, captures, captured, ref pathMatched, collect) is { } viaLiteral)
            return viaLiteral;
        if (node.Parameter is not null && !segment.IsEmpty)
        {
            captures[captured] = new Range(start, end);
            if (Walk(node.Parameter, method, path, end, captures, captured + 1, ref pathMatched, collect) is { } viaParameter)
                return viaParameter;
        }
        if (node.CatchAll is null) return null;
        captures[captured] = new Range(start, path.Length);
        return Accept(node.CatchAll, method, ref pathMatched, collect);
    }

    private static Route? Accept(RouteEndpoint? endpoint, ReadOnlySpan<byte> method, ref bool pathMatched, List<RouteEndpoint>? collect)
    {
        if (endpoint is null) return null;
        pathMatched = true;
        if (collect is not null)
        {
            collect.Add(endpoint);
            return null;
        }
        return endpoint.Find(method);
    }

    /// <summary>The literal child for a raw segment. The raw bytes are tried first: a segment without an
    /// escape is its own decoding, so the common case never scans for '%'; only a segment that matched
    /// nothing as sent (or matched a literal that itself holds a '%') is decoded and tried again.</summary>
    private static RouteNode? FindLiteral(RouteNode node, ReadOnlySpan<byte> segment)
    {
        int index = node.IndexOfLiteral(segment);
        if (index >= 0 && !node.LiteralHasPercent(index)) return node.Literals[index].Node;
        if (!PercentDecoding.NeedsDecoding(segment)) return index >= 0 ? node.Literals[index].Node : null;
        byte[]? rented = null;
        Span<byte> buffer = segment.Length <= StackDecodeLimit
            ? stackalloc byte[StackDecodeLimit]
            : rented = ArrayPool<byte>.Shared.Rent(segment.Length);
        try
        {
            if (!PercentDecoding.TryDecode(segment, buffer, out int written)) return null;
            index = node.IndexOfLiteral(buffer[..written]);
            return index >= 0 ? node.Literals[index].Node : null;
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The path of an absolute-form target (<c>http://host/p</c>) or an origin-form one, for routing.</summary>
    public static ReadOnlySpan<byte> RoutingPath(ReadOnlySpan<byte> path)
    {
        if (path.IsEmpty || path[0] == Slash) return path;
        int scheme = path.IndexOf("://"u8);
        if (scheme < 0) return path;
        int slash = path[(scheme + 3)..].IndexOf(Slash);
        return slash < 0 ? "/"u8 : path[(scheme + 3 + slash)..];
    }

    /// <summary>Text of a method for messages.</summary>
    public static string Text(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);
}
