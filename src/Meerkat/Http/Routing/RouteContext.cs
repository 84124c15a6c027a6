// How this file works
// -------------------
// The router's per-connection object, reused for every request on the connection (so routing
// allocates nothing per request): which route matched, where its captures are in the request path,
// the user's per-request State, and where the request stands for the router. Stage and successors:
//   Idle      no request (or the last one is over)            -> Matched, Answered (HttpHeaders)
//   Matched   a route matched; its handler has seen nothing   -> Handling, Answered, Idle (HttpDone)
//   Handling  the handler has seen an event of the request    -> Answered (body limit), Idle, Upgraded (HttpDone)
//   Answered  the router or a filter answered; no handler     -> Idle (HttpDone)
//   Upgraded  the handler switched the connection to WebSocket (terminal: every event goes to it)
// Captures are ranges over the raw path, decoded only when asked; they can be read while the
// request is (HttpHeaders, HttpBody, HttpMessage), and the accessors say so when it is not.
using System.Buffers;
using System.Globalization;
using System.Text;

namespace Meerkat.Http.Routing;

/// <summary>Where a request stands for the router (see the file header for the successors).</summary>
internal enum RouteStage
{
    Idle,
    Matched,
    Handling,
    Answered,
    Upgraded,
}

/// <summary>
/// The route a request matched, its captures, and state that lives for one request. One object per
/// connection, reused for each request (so read it during the callback, or copy what you keep).
/// </summary>
public sealed class RouteContext
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly Range[] captures;
    private HttpRequest? request;

    internal RouteContext(int maxCaptures) => captures = new Range[Math.Max(maxCaptures, 1)];

    /// <summary>The matched route; null for requests the router answered itself (404, OPTIONS...).
    /// Still set during <see cref="EventKind.HttpDone"/>.</summary>
    public Route? Route { get; internal set; }

    /// <summary>The matched route's template, e.g. <c>/api/items/{id}</c> (a stable label for logs and metrics);
    /// null when no route matched.</summary>
    public string? Template => Route?.Template;

    /// <summary>
    /// The application's state for this request (an upload in progress, a job handle...). Cleared when
    /// the request's transaction ends (<see cref="EventKind.HttpDone"/>, or the connection's
    /// <see cref="EventKind.Close"/>), and disposed then if it is <see cref="IDisposable"/>, on every path.
    /// </summary>
    public object? State { get; set; }

    /// <summary>The authenticated user, set by an authentication filter (Basic: the user-id); null otherwise.</summary>
    public string? User { get; set; }

    /// <summary>How many captures the route has.</summary>
    public int CaptureCount => Route?.Pattern.CaptureNames.Length ?? 0;

    internal RouteStage Stage { get; set; }

    /// <summary>Body bytes counted so far (streamed bodies with a route body limit).</summary>
    internal long BodyBytes { get; set; }

    internal Span<Range> CaptureSlots => captures;

    /// <summary>The capture's text as sent (still percent-encoded).</summary>
    /// <exception cref="ArgumentException">The route has no capture of that name.</exception>
    /// <exception cref="InvalidOperationException">The request is not readable now (see the class remarks).</exception>
    public ReadOnlySpan<byte> GetRaw(string name) => RoutingPath()[captures[IndexOf(name)]];

    /// <summary>The capture percent-decoded as UTF-8 (allocates); null when its escapes or its UTF-8 are malformed.</summary>
    /// <exception cref="ArgumentException">The route has no capture of that name.</exception>
    /// <exception cref="InvalidOperationException">The request is not readable now.</exception>
    public string? GetString(string name)
    {
        ReadOnlySpan<byte> raw = GetRaw(name);
        if (!PercentDecoding.NeedsDecoding(raw)) return Decode(raw);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(raw.Length);
        try
        {
            return PercentDecoding.TryDecode(raw, buffer, out int written) ? Decode(buffer.AsSpan(0, written)) : null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The value of route capture <paramref name="name"/>: <see cref="GetString"/>.</summary>
    public string? this[string name] => GetString(name);

    /// <summary>Percent-decodes the capture into <paramref name="destination"/> (as long as the raw capture suffices).</summary>
    /// <returns>False when an escape is malformed or the destination is too short.</returns>
    public bool TryDecode(string name, Span<byte> destination, out int written)
    {
        ReadOnlySpan<byte> raw = GetRaw(name);
        written = 0;
        return destination.Length >= raw.Length && PercentDecoding.TryDecode(raw, destination, out written);
    }

    /// <summary>Parses the capture as a decimal integer without allocating (e.g. the <c>{id}</c> of <c>/items/{id}</c>).</summary>
    /// <returns>False when it is not an integer in range.</returns>
    public bool TryGetInt64(string name, out long value) =>
        long.TryParse(GetRaw(name), NumberStyles.None, CultureInfo.InvariantCulture, out value);

    /// <summary>Parses the capture as a decimal <see cref="int"/> without allocating.</summary>
    /// <returns>False when it is not an integer in range.</returns>
    public bool TryGetInt32(string name, out int value) =>
        int.TryParse(GetRaw(name), NumberStyles.None, CultureInfo.InvariantCulture, out value);

    /// <inheritdoc/>
    public override string ToString() => Route is null ? "(no route)" : Route.ToString();

    /// <summary>Makes the request readable through the captures for the duration of a callback.</summary>
    internal void Bind(HttpRequest? current) => request = current;

    /// <summary>Ends the request: the state is disposed and cleared, the stage goes back to Idle.</summary>
    internal void EndRequest(RouteStage next)
    {
        var old = State;
        State = null;
        User = null;
        BodyBytes = 0;
        Stage = next;
        (old as IDisposable)?.Dispose();
    }

    private ReadOnlySpan<byte> RoutingPath()
    {
        if (request is null)
            throw new InvalidOperationException("route captures are readable only during HttpHeaders, HttpBody and HttpMessage; copy them (GetString) before answering later");
        return RouteTable.RoutingPath(request.Path);
    }

    private int IndexOf(string name)
    {
        var names = Route?.Pattern.CaptureNames ?? [];
        for (int i = 0; i < names.Length; i++)
            if (names[i] == name) return i;
        throw new ArgumentException($"route '{Route?.Template}' has no capture named '{name}'", nameof(name));
    }

    private static string? Decode(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }
}
