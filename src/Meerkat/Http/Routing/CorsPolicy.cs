// How this file works
// -------------------
// Cross-origin resource sharing as the Fetch standard's server side (fetch.spec.whatwg.org,
// "CORS protocol"). Two places use a policy:
//   - a preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered here: 204
//     with Access-Control-Allow-Origin/-Methods/-Headers/-Max-Age(/-Credentials) when the origin,
//     the method and every requested header are allowed, else 403 naming what was refused;
//   - any other request from an allowed origin gets Access-Control-Allow-Origin (the origin
//     itself, or "*" for any origin without credentials), -Credentials and -Expose-Headers added
//     to whatever the handler answers. A refused origin simply gets none (the browser blocks).
// Every response whose headers depend on Origin says "Vary: Origin" so caches keep them apart.
// Origins are compared case-insensitively (ASCII) to the configured serializations, with no
// allocation per request: the configured string is what goes back.
using System.Globalization;
using System.Text;

namespace Meerkat.Http.Routing;

/// <summary>Which cross-origin requests a route or group allows (<c>WithCors</c>). Immutable once used.</summary>
/// <example><code>router.MapGroup("/api").WithCors(new CorsPolicy("https://app.example") { AllowCredentials = true });</code></example>
public sealed class CorsPolicy
{
    /// <summary>The origin value that allows any origin.</summary>
    public const string AnyOrigin = "*";

    private static readonly string[] SafelistedHeaders = ["Accept", "Accept-Language", "Content-Language", "Content-Type"];

    private readonly string[] origins;
    private readonly byte[][] originBytes;

    /// <summary>Allows <paramref name="origins"/>, each <c>scheme://host[:port]</c>, or <see cref="AnyOrigin"/>.</summary>
    /// <exception cref="ArgumentException">None given, or one is not an origin.</exception>
    public CorsPolicy(params string[] origins)
    {
        ArgumentNullException.ThrowIfNull(origins);
        if (origins.Length == 0) throw new ArgumentException("name at least one origin, or \"*\"", nameof(origins));
        foreach (var origin in origins)
        {
            if (origin != AnyOrigin && !IsOrigin(origin))
                throw new ArgumentException($"'{origin}' is not an origin (scheme://host[:port], no path)", nameof(origins));
        }
        this.origins = origins;
        originBytes = origins.Select(Encoding.ASCII.GetBytes).ToArray();
        IsAnyOrigin = origins.Contains(AnyOrigin);
    }

    /// <summary>The allowed origins.</summary>
    public IReadOnlyList<string> Origins => origins;

    /// <summary>True when any origin is allowed.</summary>
    public bool IsAnyOrigin { get; }

    /// <summary>Methods a preflight may ask for; null (default) allows the methods the path is mapped for.</summary>
    public IReadOnlyList<string>? Methods { get; init; }

    /// <summary>Request headers a preflight may ask for (case-insensitive); null (default) allows whatever it asks.</summary>
    public IReadOnlyList<string>? Headers { get; init; }

    /// <summary>Response headers scripts may read besides the safelisted ones (<c>Access-Control-Expose-Headers</c>).</summary>
    public IReadOnlyList<string>? ExposedHeaders { get; init; }

    /// <summary>Whether cookies and HTTP authentication may be sent (<c>Access-Control-Allow-Credentials: true</c>).
    /// Not allowed with <see cref="AnyOrigin"/> (the Fetch standard refuses the pair). Default false.</summary>
    public bool AllowCredentials { get; init; }

    /// <summary>How long a browser may cache a preflight's answer (<c>Access-Control-Max-Age</c>). Default 10 minutes.</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>True for a CORS preflight: OPTIONS with Origin and Access-Control-Request-Method.</summary>
    internal static bool IsPreflight(HttpRequest request, out ReadOnlySpan<byte> method)
    {
        method = default;
        return request.IsMethod("OPTIONS"u8) && request.TryGetHeader("Origin"u8, out _)
            && request.TryGetHeader("Access-Control-Request-Method"u8, out method);
    }

    /// <summary>For a request that is not a preflight: the CORS response headers, added to whatever the handler sends.</summary>
    internal void AddResponseHeaders(Connection c, HttpRequest request)
    {
        if (!IsAnyOrigin || AllowCredentials) c.AddResponseHeader("Vary", "Origin");
        if (!request.TryGetHeader("Origin"u8, out var origin) || Allowed(origin) is not { } allowed) return;
        c.AddResponseHeader("Access-Control-Allow-Origin", allowed);
        if (AllowCredentials) c.AddResponseHeader("Access-Control-Allow-Credentials", "true");
        if (ExposedHeaders is { Count: > 0 }) c.AddResponseHeader("Access-Control-Expose-Headers", string.Join(", ", ExposedHeaders));
    }

    /// <summary>Answers a preflight for a path whose mapped methods are <paramref name="allow"/>.</summary>
    internal void AnswerPreflight(Connection c, HttpRequest request, string allow)
    {
        request.TryGetHeader("Origin"u8, out var origin);
        request.TryGetHeader("Access-Control-Request-Method"u8, out var methodBytes);
        const string vary = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";
        if (Allowed(origin) is not { } allowedOrigin)
        {
            Refuse(c, $"The origin {Encoding.Latin1.GetString(origin)} is not allowed.\n", vary);
            return;
        }
        string method = Encoding.Latin1.GetString(methodBytes);
        var methods = Methods ?? allow.Split(", ");
        if (!methods.Contains(method))
        {
            Refuse(c, $"The method {method} is not allowed (allowed: {string.Join(", ", methods)}).\n", vary);
            return;
        }
        string requested = request.GetHeader("Access-Control-Request-Headers") ?? "";
        var names = requested.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (Headers is not null && names.FirstOrDefault(n => !IsAllowedHeader(n)) is { } refused)
        {
            Refuse(c, $"The request header {refused} is not allowed.\n", vary);
            return;
        }
        var headers = new List<(string, string)>
        {
            ("Access-Control-Allow-Origin", allowedOrigin),
            ("Access-Control-Allow-Methods", string.Join(", ", methods)),
        };
        if (names.Length > 0) headers.Add(("Access-Control-Allow-Headers", Headers is null ? string.Join(", ", names) : string.Join(", ", Headers)));
        if (AllowCredentials) headers.Add(("Access-Control-Allow-Credentials", "true"));
        headers.Add(("Access-Control-Max-Age", ((long)MaxAge.TotalSeconds).ToString(CultureInfo.InvariantCulture)));
        headers.Add(("Vary", vary));
        c.Reply(204, ReadOnlySpan<byte>.Empty, null, [.. headers]);
    }

    /// <summary>The configured origin string matching <paramref name="origin"/>, "*" for any, or null.</summary>
    private string? Allowed(ReadOnlySpan<byte> origin)
    {
        if (origin.IsEmpty) return null;
        for (int i = 0; i < origins.Length; i++)
            if (Ascii.EqualsIgnoreCase(origin, originBytes[i])) return origins[i];
        return IsAnyOrigin ? AnyOrigin : null;
    }

    private bool IsAllowedHeader(string name) =>
        Headers!.Any(h => h.Equals(name, StringComparison.OrdinalIgnoreCase))
        || SafelistedHeaders.Any(h => h.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Refuses a policy the Fetch standard forbids, when it is attached.</summary>
    internal void Validate()
    {
        if (IsAnyOrigin && AllowCredentials)
            throw new InvalidOperationException("a CORS policy cannot allow any origin (\"*\") together with credentials; name the origins");
    }

    private static void Refuse(Connection c, string message, string vary) =>
        c.Reply(403, Encoding.UTF8.GetBytes(message), "text/plain; charset=utf-8", ("Vary", vary));

    private static bool IsOrigin(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.AbsolutePath == "/"
        && !text.EndsWith('/') && uri.Query.Length == 0 && uri.Fragment.Length == 0 && uri.UserInfo.Length == 0;
}
