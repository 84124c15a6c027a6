using System.Net.Security;
using System.Text;
using Meerkat.Tls;

namespace Meerkat.Http;

/// <summary>
/// The HTTP/1.1 server API: listen, read the request from the transaction events, answer with
/// one call or stream the answer. All of it runs on the loop thread.
/// </summary>
/// <example>
/// <code>
/// manager.ListenHttp("http://127.0.0.1:8000", (c, e) =>
/// {
///     if (e.Kind == EventKind.HttpMessage) c.Reply(200, "Hello, World!"u8, "text/plain");
/// });
/// </code>
/// </example>
public static class HttpServerExtensions
{
    extension(Event e)
    {
        /// <summary>The request of an <see cref="EventKind.HttpHeaders"/>, <see cref="EventKind.HttpBody"/>,
        /// <see cref="EventKind.HttpMessage"/> or <see cref="EventKind.HttpDone"/> event on a server
        /// connection; null for other events.</summary>
        public HttpRequest? Request => e.Subject as HttpRequest;
    }

    /// <summary>Listens for HTTP on <c>http://host:port</c>, or HTTPS on <c>https://host:port</c> with
    /// <see cref="HttpServerOptions.Tls"/> (port 0 picks one). Accepted connections raise
    /// <see cref="EventKind.HttpHeaders"/>, <see cref="EventKind.HttpBody"/> (when the handler streams
    /// the body), <see cref="EventKind.HttpMessage"/> and <see cref="EventKind.HttpDone"/> per request,
    /// in order; over HTTPS, after <see cref="EventKind.TlsHandshake"/>.</summary>
    /// <exception cref="ArgumentException">The URL is not http/https, or https lacks <see cref="HttpServerOptions.Tls"/>.</exception>
    public static Connection ListenHttp(this Manager manager, string url, ConnectionHandler? handler, HttpServerOptions? options = null, ListenOptions? listenOptions = null)
    {
        var address = NetworkAddress.Parse(url, defaultPort: url.StartsWith("https:", StringComparison.OrdinalIgnoreCase) ? 443 : 80);
        if (address.Scheme is not ("http" or "https"))
            throw new ArgumentException($"ListenHttp takes http:// or https:// URLs, not '{address.Scheme}://'", nameof(url));
        options = (options ?? new HttpServerOptions()).Snapshot();
        if (address.Scheme == "https" && options.Tls is null)
            throw new ArgumentException("an https:// listener needs HttpServerOptions.Tls (a certificate)", nameof(options));
        // The listener's connections lease their per-request state from one pool: the listener and its
        // connections live on this manager's loop, so the pool needs no lock.
        var pool = new HttpServerWorkspacePool(options, options.TimeProvider);
        var listener = address.Scheme == "https"
            ? manager.ListenTls(address, handler, options.Tls!, listenOptions, c => new HttpServerProtocol(options, c.Manager.Ticks, pool, isTls: true),
                options.EnableHttp2 ? [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11] : [SslApplicationProtocol.Http11])
            : manager.Listen(address, datagram: false, handler, listenOptions, c => new HttpServerProtocol(options, c.Manager.Ticks, pool));
        StartDeadlineSweep(manager, listener, options);
        return listener;
    }

    /// <summary>Answers the pending request in one call: status, body, content type, extra headers. On an
    /// HTTP/2 connection, the request addressed is the one whose event is being raised (docs/http2.md).</summary>
    /// <exception cref="InvalidOperationException">No request is waiting, or it was already answered.</exception>
    public static void Reply(this Connection connection, int status, ReadOnlySpan<byte> body, string? contentType = null, params ReadOnlySpan<(string Name, string Value)> headers) =>
        Pending(connection).Reply(connection, status, body, contentType, headers);

    /// <summary>Answers the pending request with a UTF-8 text body.</summary>
    public static void Reply(this Connection connection, int status, string body, string contentType = "text/plain; charset=utf-8", params ReadOnlySpan<(string Name, string Value)> headers) =>
        connection.Reply(status, Encoding.UTF8.GetBytes(body), contentType, headers);

    /// <summary>Starts a streamed response: Content-Length framing when <paramref name="contentLength"/>
    /// is known, else chunked (HTTP/1.1) or until close (HTTP/1.0). Continue with
    /// <see cref="WriteBody"/> (ideally while <see cref="Connection.IsWritable"/>, resuming on
    /// <see cref="EventKind.Write"/>) and finish with <see cref="EndResponse(Connection)"/>, or with
    /// <see cref="EndResponse(Connection, ReadOnlySpan{ValueTuple{string, string}})"/> to send trailer fields.</summary>
    public static void BeginResponse(this Connection connection, int status, long contentLength = -1, string? contentType = null, params ReadOnlySpan<(string Name, string Value)> headers) =>
        Pending(connection).BeginResponse(connection, status, contentLength, contentType, headers, null);

    /// <summary>Appends a piece of the streamed response body.</summary>
    /// <returns><see cref="Connection.IsWritable"/>: false means wait for <see cref="EventKind.Write"/>.</returns>
    public static bool WriteBody(this Connection connection, ReadOnlySpan<byte> data) => Transaction(connection).WriteBody(connection, data);

    /// <summary>Finishes the streamed response.</summary>
    public static void EndResponse(this Connection connection) => connection.EndResponse([]);

    /// <summary>Finishes the streamed response with trailer fields after its body (RFC 9112 §7.1.2). Only a
    /// chunked response can carry them: one started with an unknown length (-1) to an HTTP/1.1 client.
    /// Announce them with a <c>Trailer</c> header field in <see cref="BeginResponse"/> (RFC 9110 §6.6.2).
    /// A response to HEAD has no body, and its trailers are dropped with it.</summary>
    /// <exception cref="InvalidOperationException">The response has a Content-Length, or the client speaks HTTP/1.0 (no chunked coding).</exception>
    /// <exception cref="ArgumentException">A trailer names a field that frames or routes the message (Content-Length, Transfer-Encoding, Host...).</exception>
    public static void EndResponse(this Connection connection, params ReadOnlySpan<(string Name, string Value)> trailers) =>
        Transaction(connection).EndResponse(connection, trailers);

    /// <summary>Starts a response whose body <paramref name="producer"/> writes piece by piece, called
    /// whenever the connection can take more, in bounded memory, until it returns 0.</summary>
    public static void StreamResponse(this Connection connection, int status, long contentLength, string? contentType, HttpBodyProducer producer, params ReadOnlySpan<(string Name, string Value)> headers)
    {
        ArgumentNullException.ThrowIfNull(producer);
        Pending(connection).BeginResponse(connection, status, contentLength, contentType, headers, producer);
    }

    /// <summary>Starts a Server-Sent Events stream (<c>text/event-stream</c>, chunked). Send events
    /// with <see cref="SendEvent"/>, end with <see cref="EndResponse(Connection)"/>.</summary>
    public static void BeginEventStream(this Connection connection) =>
        connection.BeginResponse(200, -1, "text/event-stream", ("Cache-Control", "no-cache"));

    /// <summary>Sends one Server-Sent Event; multi-line data becomes several <c>data:</c> lines.</summary>
    public static void SendEvent(this Connection connection, string data, string? eventName = null, string? id = null)
    {
        var text = new StringBuilder();
        if (eventName is not null) text.Append("event: ").Append(eventName).Append('\n');
        if (id is not null) text.Append("id: ").Append(id).Append('\n');
        foreach (var line in data.Split('\n')) text.Append("data: ").Append(line.TrimEnd('\r')).Append('\n');
        text.Append('\n');
        connection.WriteBody(Encoding.UTF8.GetBytes(text.ToString()));
    }

    /// <summary>Stops raising <see cref="EventKind.HttpBody"/> for the current request until
    /// <see cref="ResumeRequestBody"/>: the receive buffer then fills, the loop stops reading and TCP flow
    /// control slows the client (a proxy or upload whose destination is slower than the client). The time
    /// paused is not charged to the client's minimum data rate. May be called inside a handler. On HTTP/2 it
    /// pauses the addressed stream only: its flow-control window is no longer credited back, so the client
    /// stops once the window is spent; what was in flight still arrives as <see cref="EventKind.HttpBody"/>
    /// (at most the stream's window, 256 KiB by default), and the other streams go on.</summary>
    /// <exception cref="InvalidOperationException">Not an HTTP server connection.</exception>
    public static void PauseRequestBody(this Connection connection)
    {
        switch (connection.Protocol)
        {
            case HttpServerProtocol http11:
                http11.PauseBody();
                break;
            case Http2.Http2ServerProtocol http2:
                http2.PauseBody();
                break;
            case IHttpServerConnection:
                break;
            default:
                throw new InvalidOperationException($"connection #{connection.Id} is not an HTTP server connection");
        }
    }

    /// <summary>Continues after <see cref="PauseRequestBody"/>. No event is raised inside this call: parsing
    /// continues in the loop's work phase.</summary>
    public static void ResumeRequestBody(this Connection connection)
    {
        if (connection.Protocol is HttpServerProtocol protocol) protocol.ResumeBody(connection);
        else if (connection.Protocol is Http2.Http2ServerProtocol http2) http2.ResumeBody(connection);
    }

    /// <summary>True when this server connection has a request waiting for its response (on HTTP/2: the
    /// request whose event is being raised, or the only one in progress).</summary>
    public static bool HasPendingRequest(this Connection connection) =>
        connection.Protocol is IHttpServerConnection server && server.Addressed(out _) is { IsAwaitingResponse: true };

    /// <summary>The transaction response calls on <paramref name="connection"/> address now.</summary>
    /// <exception cref="InvalidOperationException">Not an HTTP server connection, or (HTTP/2) no single request is addressed.</exception>
    internal static IServerTransaction Transaction(Connection connection)
    {
        var server = connection.Protocol as IHttpServerConnection
            ?? throw new InvalidOperationException($"connection #{connection.Id} is not an HTTP server connection");
        return server.Addressed(out string? reason) ?? throw new InvalidOperationException($"connection #{connection.Id} {reason}");
    }

    private static IServerTransaction Pending(Connection connection)
    {
        var transaction = Transaction(connection);
        if (connection.State >= ConnectionState.Draining) throw new InvalidOperationException($"connection #{connection.Id} is closing: the response cannot be sent");
        if (!transaction.IsAwaitingResponse)
            throw new InvalidOperationException(transaction.IsInTransaction
                ? $"connection #{connection.Id}: the response to this request was already started"
                : $"connection #{connection.Id} has no request waiting for a response");
        return transaction;
    }

    /// <summary>One repeating timer per listener enforces the deadlines of its connections (head, idle,
    /// body rate, send stall); it stops once the listener and all of its connections are gone.</summary>
    private static void StartDeadlineSweep(Manager manager, Connection listener, HttpServerOptions options)
    {
        var period = TimeSpan.FromMilliseconds(Math.Clamp(ShortestDeadline(options).TotalMilliseconds / 4, 10, 1000));
        manager.AddTimer(period, period, timer =>
        {
            long now = manager.Ticks;
            var connections = manager.Connections;
            bool any = false;
            for (int i = 0; i < connections.Count; i++)
            {
                if (connections[i].Protocol is not IHttpServerConnection protocol || !ReferenceEquals(protocol.Options, options)) continue;
                any = true;
                protocol.CheckDeadlines(connections[i], now);
            }
            if (!any && listener.State == ConnectionState.Closed) timer.Cancel();
        });
    }

    private static TimeSpan ShortestDeadline(HttpServerOptions options)
    {
        var shortest = options.HeaderTimeout < options.IdleTimeout ? options.HeaderTimeout : options.IdleTimeout;
        if (options.MinRequestBodyDataRate > 0 && options.MinRequestBodyDataRateGracePeriod < shortest) shortest = options.MinRequestBodyDataRateGracePeriod;
        if (options.SendStallTimeout > TimeSpan.Zero && options.SendStallTimeout < shortest) shortest = options.SendStallTimeout;
        return shortest;
    }
}
