using System.Text;

namespace Meerkat.Http;

/// <summary>
/// The request of the current HTTP transaction on a server connection, as seen from
/// <see cref="EventKind.HttpHeaders"/>, <see cref="EventKind.HttpBody"/> and
/// <see cref="EventKind.HttpMessage"/>. One object per HTTP/1.1 connection (per HTTP/2 stream),
/// reused for every request: its spans are valid only during the callback; copy what a deferred
/// response needs, and keep <see cref="Id"/> to address the request later.
/// </summary>
public sealed class HttpRequest
{
    private static readonly HttpHeaders NoTrailers = new();
    private long id;

    /// <summary>The connection and the protocol's unit of work (the HTTP/1.1 connection, an HTTP/2
    /// stream) that a Wakeup sent to <see cref="Id"/> is delivered to. Set by the protocol.</summary>
    internal (Connection Connection, object Target) Owner { get; set; }

    internal HttpHead Head { get; private set; } = null!;

    internal ReadOnlyMemory<byte> BodyMemory { get; private set; }

    /// <summary>A transaction begins with this head.</summary>
    internal void Start(HttpHead head)
    {
        Head = head;
        BodyMemory = default;
        Trailers = NoTrailers;
        StreamBody = false;
        ResponseStatus = 0;
        Route = null;
        ProtocolVersion = Diagnostics.TelemetryTags.Http1VersionOf(head.VersionMinor);
    }

    /// <summary>The transaction is over (after its HttpDone): its <see cref="Id"/> stops addressing it.</summary>
    internal void EndTransaction()
    {
        if (id == 0) return;
        Owner.Connection.Manager.UnregisterWakeupTarget(id);
        id = 0;
    }

    /// <summary>The request goes back to its pool (HttpServerWorkspacePool): it forgets the connection,
    /// the transaction and the body it served.</summary>
    internal void Clear()
    {
        if (Owner.Connection is not null) EndTransaction();
        Owner = default;
        BodyMemory = default;
        Trailers = NoTrailers;
        Route = null;
        Telemetry = default;
    }

    /// <summary>The metrics and span of this transaction (Diagnostics/HttpServerTelemetry).</summary>
    internal Diagnostics.ServerTransactionTelemetry Telemetry;

    /// <summary><c>network.protocol.version</c> of the request: <c>1.0</c> or <c>1.1</c> (an HTTP/2 stream sets <c>2</c>).</summary>
    internal string ProtocolVersion { get; set; } = "1.1";

    /// <summary>The whole request is read: its buffered body and trailer fields, for HttpMessage.</summary>
    internal void Finish(ReadOnlyMemory<byte> body, HttpHeaders? trailers)
    {
        BodyMemory = body;
        Trailers = trailers ?? NoTrailers;
    }

    /// <summary>The method, e.g. <c>GET</c>.</summary>
    public ReadOnlySpan<byte> Method => Head.Method;

    /// <summary>The request target as sent (origin-form: path and query).</summary>
    public ReadOnlySpan<byte> Target => Head.Target;

    /// <summary>The path part of the target, still percent-encoded.</summary>
    public ReadOnlySpan<byte> Path => Head.Path;

    /// <summary>The query after <c>?</c>, without it; empty when there is none.</summary>
    public ReadOnlySpan<byte> Query => Head.Query;

    /// <summary>1 for HTTP/1.1 (and 1.2 and above, read as 1.1), 0 for HTTP/1.0 and HTTP/2.</summary>
    public int VersionMinor => Head.VersionMinor;

    /// <summary>1 for HTTP/1.x, 2 for a request on an HTTP/2 stream.</summary>
    public int VersionMajor { get; internal set; } = 1;

    /// <summary>
    /// This request's address for <see cref="Manager.Wakeup(long, ReadOnlySpan{byte})"/>: a wakeup sent
    /// to it from any thread is raised as <see cref="EventKind.Wakeup"/> on the request's connection with
    /// <c>e.Request</c> set to this request, and the response calls made there (<c>c.Reply</c>,
    /// <c>c.BeginResponse</c>, ...) answer it, on HTTP/1.1 and on an HTTP/2 connection with several
    /// requests in progress alike. Unique within the process, never reused (the sequence of connection
    /// ids); valid until the request's <see cref="EventKind.HttpDone"/>, after which
    /// <c>Wakeup</c> returns false. Read it on the loop thread, during the request's events.
    /// </summary>
    public long Id => id != 0 ? id : id = Owner.Connection.Manager.RegisterWakeupTarget(Owner.Connection, Owner.Target);

    /// <summary>The header fields, in order.</summary>
    public HttpHeaders Headers => Head.Headers;

    /// <summary>Whether the client asked to keep the connection open.</summary>
    public bool KeepAlive => Head.KeepAlive;

    /// <summary>The declared body length, or -1 (chunked or none).</summary>
    public long ContentLength => Head.ContentLength;

    /// <summary>True when the request has a body (Content-Length above zero, or chunked).</summary>
    public bool HasBody => Head.Framing == HttpFraming.Chunked || Head.ContentLength > 0;

    /// <summary>The whole body, in <see cref="EventKind.HttpMessage"/> (empty when streamed).</summary>
    public ReadOnlySpan<byte> Body => BodyMemory.Span;

    /// <summary>The trailer fields of a chunked request body (RFC 9112 §7.1.2), in
    /// <see cref="EventKind.HttpMessage"/>; empty otherwise. Valid during that callback only.</summary>
    public HttpHeaders Trailers { get; private set; } = NoTrailers;

    /// <summary>A trailer field's value, in <see cref="EventKind.HttpMessage"/>, or false. Case-insensitive.</summary>
    public bool TryGetTrailer(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value) => Trailers.TryGetValue(name, out value);

    /// <summary>A trailer field's value as a string (allocates), in <see cref="EventKind.HttpMessage"/>, or null.</summary>
    public string? GetTrailer(string name) => Trailers.GetString(name);

    /// <summary>Set in <see cref="EventKind.HttpHeaders"/> to receive the body as
    /// <see cref="EventKind.HttpBody"/> pieces instead of buffered, in bounded memory.</summary>
    public bool StreamBody { get; set; }

    /// <summary>The route template that matched this request, e.g. <c>/items/{id}</c>: set by
    /// <see cref="Routing.Router"/>; a handler that routes by itself may set it (from
    /// <see cref="EventKind.HttpHeaders"/> to <see cref="EventKind.HttpDone"/>). It becomes the
    /// <c>http.route</c> attribute of <c>http.server.request.duration</c> and of the server span, whose
    /// name becomes <c>{method} {route}</c>, so it must be a template, never the path itself (one
    /// time series per distinct value). Null when the request was not routed.</summary>
    public string? Route { get; set; }

    /// <summary>In <see cref="EventKind.HttpDone"/>: the status the response was sent with.</summary>
    public int ResponseStatus { get; internal set; }

    /// <summary>True when the method is exactly <paramref name="method"/>.</summary>
    public bool IsMethod(ReadOnlySpan<byte> method) => Head.IsMethod(method);

    /// <summary>True when the path is exactly <paramref name="path"/>.</summary>
    public bool PathIs(ReadOnlySpan<byte> path) => Head.Path.SequenceEqual(path);

    /// <summary>A header's value, or false. Case-insensitive.</summary>
    public bool TryGetHeader(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value) => Head.TryGetHeader(name, out value);

    /// <summary>A header's value as a string (allocates), or null.</summary>
    public string? GetHeader(string name) => Head.Headers.GetString(name);

    /// <summary>The method as a string (allocates).</summary>
    public string MethodString => Head.MethodString;

    /// <summary>The path as a string, still percent-encoded (allocates).</summary>
    public string PathString => Encoding.Latin1.GetString(Head.Path);

    /// <summary>The query as a string (allocates).</summary>
    public string QueryString => Encoding.Latin1.GetString(Head.Query);

    /// <summary>The value of query parameter <paramref name="name"/>, percent-decoded, or null (allocates).</summary>
    public string? GetQueryParameter(string name)
    {
        foreach (var pair in QueryString.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int equals = pair.IndexOf('=');
            string key = Uri.UnescapeDataString((equals < 0 ? pair : pair[..equals]).Replace('+', ' '));
            if (key == name) return equals < 0 ? "" : Uri.UnescapeDataString(pair[(equals + 1)..].Replace('+', ' '));
        }
        return null;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{MethodString} {Encoding.Latin1.GetString(Target)} {(VersionMajor == 2 ? "HTTP/2" : $"HTTP/1.{VersionMinor}")}";
}
