// How this file works: the loop-level client API, as extension members on Manager and
// Connection. It only checks arguments and forwards to the connection's HttpClientProtocol;
// for https:// the TLS layer (Meerkat.Tls) runs under that protocol.
using Meerkat.Http2;
using Meerkat.Tls;

namespace Meerkat.Http.Client;

/// <summary>
/// HTTP/1.1 client connections on a <see cref="Manager"/>'s loop: open one with
/// <c>manager.ConnectHttp(url, handler)</c>, send requests with <c>connection.SendRequest(...)</c>,
/// and receive each response as events (<see cref="EventKind.HttpHeaders"/>,
/// <see cref="EventKind.HttpBody"/> pieces, <see cref="EventKind.HttpMessage"/>,
/// <see cref="EventKind.HttpDone"/>; read <c>e.Response</c>). All members run on the loop thread.
/// </summary>
public static class HttpClientExtensions
{
    extension(Manager manager)
    {
        /// <summary>Opens an HTTP connection to the origin of <paramref name="url"/> (<c>http://host[:port]</c> or
        /// <c>https://host[:port]</c>; the path is ignored). Events: as <see cref="Manager.Connect(string, ConnectionHandler?)"/>
        /// (for https://, then <see cref="EventKind.TlsHandshake"/>), then one transaction per request. Requests may be
        /// sent at once: they are queued until connected (and, for https://, until the handshake is done).
        /// A refused certificate or a failed handshake raises <see cref="EventKind.Error"/> with a
        /// <see cref="TlsException"/> naming the reason, then <see cref="EventKind.Close"/>.</summary>
        /// <exception cref="NotSupportedException">The URL is neither http:// nor https://.</exception>
        public Connection ConnectHttp(string url, ConnectionHandler? handler, HttpClientConnectionOptions? options = null) =>
            manager.ConnectHttp(new Uri(url, UriKind.Absolute), handler, options);

        /// <summary>Opens an HTTP connection to the origin of <paramref name="uri"/>.</summary>
        /// <exception cref="NotSupportedException">The URL is neither http:// nor https://.</exception>
        public Connection ConnectHttp(Uri uri, ConnectionHandler? handler, HttpClientConnectionOptions? options = null)
        {
            ArgumentNullException.ThrowIfNull(uri);
            RequireHttp(uri);
            options ??= HttpClientConnectionOptions.Default;
            var address = new NetworkAddress("tcp", uri.DnsSafeHost, uri.Port);
            bool https = uri.Scheme == Uri.UriSchemeHttps;
            bool http2 = https ? options.EnableHttp2 : options.Http2PriorKnowledge;
            Protocol protocol = http2 ? new Http2ClientProtocol(options, isTls: https) : new HttpClientProtocol(options);
            return https
                ? manager.ConnectTls(address, handler, options.Tls ?? new TlsClientOptions(), protocol, http2 ? Http2ClientProtocol.AlpnProtocols : null)
                : manager.Connect(address, datagram: false, handler, protocol);
        }
    }

    extension(Connection connection)
    {
        /// <summary>True for a connection made by <c>ConnectHttp</c>.</summary>
        public bool IsHttpClient => connection.Protocol is IHttpClientProtocol;

        /// <summary>Requests sent on this connection whose responses have not ended.</summary>
        public int PendingHttpRequests => Client(connection).PendingCount;

        /// <summary>Sends a request with its whole body (<see cref="HttpClientRequest.Content"/>). With
        /// <c>Expect: 100-continue</c> the body waits for <c>100 Continue</c> (or
        /// <see cref="HttpClientConnectionOptions.ExpectContinueTimeout"/>). Requests may be pipelined;
        /// responses are raised in order.</summary>
        /// <returns>False when the connection is closing, its send buffer is full, or it takes no more requests
        /// (an earlier request asked <c>Connection: close</c>, or a response said the connection ends: RFC 9112 §9.6).</returns>
        /// <exception cref="ArgumentException">The request carries a field the client writes (Host, Content-Length,
        /// Transfer-Encoding) or one with CR, LF or NUL; or it is CONNECT, TRACE with content, or
        /// <c>Expect: 100-continue</c> without content.</exception>
        /// <exception cref="InvalidOperationException">A request body is still being sent (or held for 100 Continue).</exception>
        public bool SendRequest(HttpClientRequest request)
        {
            ArgumentNullException.ThrowIfNull(request);
            RequireHttp(request.Uri);
            return Client(connection).SendRequest(connection, request);
        }

        /// <summary>Sends a request head whose body follows with <c>SendRequestBody</c> and ends with
        /// <c>EndRequestBody</c>: <paramref name="contentLength"/> bytes exactly, or chunked when it is -1.
        /// Returns false as <c>SendRequest</c> does.</summary>
        /// <exception cref="InvalidOperationException">A body is still being sent, or chunked was asked of a server
        /// that answered HTTP/1.0 on this connection (RFC 9112 §6.1).</exception>
        public bool SendRequestHead(HttpClientRequest request, long contentLength)
        {
            ArgumentNullException.ThrowIfNull(request);
            ArgumentOutOfRangeException.ThrowIfLessThan(contentLength, -1);
            RequireHttp(request.Uri);
            return Client(connection).SendRequestHead(connection, request, contentLength);
        }

        /// <summary>Sends a piece of a streamed request body. Watch <see cref="Connection.IsWritable"/> and
        /// <see cref="EventKind.Write"/> events to pace a large upload.</summary>
        public bool SendRequestBody(ReadOnlySpan<byte> data) => Client(connection).SendRequestBody(connection, data);

        /// <summary>Ends a streamed request body; <paramref name="trailers"/> are sent only with chunked bodies.</summary>
        /// <exception cref="InvalidOperationException">Fewer bytes were sent than the Content-Length announced.</exception>
        public bool EndRequestBody(IEnumerable<KeyValuePair<string, string>>? trailers = null) =>
            Client(connection).EndRequestBody(connection, trailers);

        /// <summary>Stops raising <see cref="EventKind.HttpBody"/> until <c>ResumeResponseBody</c>; the
        /// receive buffer then fills and the loop stops reading (backpressure). May be called inside a handler.</summary>
        public void PauseResponseBody() => Client(connection).Pause();

        /// <summary>Continues after <c>PauseResponseBody</c>. No event is raised inside this call: the buffered
        /// response continues in the loop's work phase of the current iteration (or the next, when called
        /// from another phase's handler).</summary>
        public void ResumeResponseBody() => Client(connection).Resume(connection);
    }

    internal static void RequireHttp(Uri uri)
    {
        if (!uri.IsAbsoluteUri) throw new ArgumentException($"'{uri}' is not an absolute URL", nameof(uri));
        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            throw new NotSupportedException($"only http:// and https:// URLs are supported, not {uri.Scheme}://");
    }

    private static IHttpClientProtocol Client(Connection connection) =>
        connection.Protocol as IHttpClientProtocol
        ?? throw new InvalidOperationException($"connection #{connection.Id} is not an HTTP client connection (open it with ConnectHttp)");
}
