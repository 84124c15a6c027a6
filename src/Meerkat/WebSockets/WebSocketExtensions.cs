// How this file works: the loop-level WebSocket API, as extension members on Manager, Connection
// and Event. It checks arguments and forwards to the connection's WebSocketConnectionProtocol
// (the glue) or, for the server's upgrade, to the HTTP server protocol.
using System.Text;
using Meerkat.Http;
using Meerkat.Tls;

namespace Meerkat.WebSockets;

/// <summary>
/// WebSocket connections on a <see cref="Manager"/>'s loop. A server upgrades an HTTP request with
/// <c>connection.UpgradeToWebSocket(options)</c>; a client opens one with
/// <c>manager.ConnectWebSocket("ws://host/path", handler)</c>. Then both raise
/// <see cref="EventKind.WsOpen"/>, <see cref="EventKind.WsMessage"/> and <see cref="EventKind.WsControl"/>
/// (read <c>e.WebSocket</c>), and send with <c>SendText</c>, <c>SendBinary</c>, <c>SendFragment</c>,
/// <c>SendPing</c> and <c>CloseWebSocket</c>. All members run on the loop thread.
/// </summary>
/// <example>
/// <code>
/// manager.ListenHttp("http://127.0.0.1:8000", (c, e) =>
/// {
///     if (e.Kind == EventKind.HttpHeaders &amp;&amp; e.Request!.PathIs("/ws"u8)) c.UpgradeToWebSocket();
///     else if (e.Kind == EventKind.WsMessage) c.SendMessage(e.WebSocket!.MessageKind, e.Data);
/// });
/// </code>
/// </example>
public static class WebSocketExtensions
{
    extension(Event e)
    {
        /// <summary>What a <see cref="EventKind.WsOpen"/>, <see cref="EventKind.WsMessage"/> or
        /// <see cref="EventKind.WsControl"/> event carries beside its data; null for other events.
        /// Valid only during the callback.</summary>
        public WebSocketEventInfo? WebSocket => e.Subject as WebSocketEventInfo;

        /// <summary>A text <see cref="EventKind.WsMessage"/>'s data as a string (allocates); null otherwise.</summary>
        public string? WebSocketText => e.Subject is WebSocketEventInfo { IsText: true, Control: WebSocketControl.None } && e.Kind == EventKind.WsMessage
            ? Encoding.UTF8.GetString(e.Data) : null;
    }

    extension(Manager manager)
    {
        /// <summary>Opens a WebSocket to <c>ws://host[:port]/path</c> or <c>wss://...</c> (over TLS,
        /// <see cref="WebSocketClientOptions.Tls"/>). Events: <see cref="EventKind.Open"/>,
        /// <see cref="EventKind.Resolve"/>, <see cref="EventKind.Connect"/> (and <see cref="EventKind.TlsHandshake"/>),
        /// then <see cref="EventKind.WsOpen"/> once the server answered 101, then messages; a refused or
        /// broken handshake raises <see cref="EventKind.Error"/> (a <see cref="WebSocketHandshakeException"/>
        /// naming the reason) and <see cref="EventKind.Close"/>.</summary>
        /// <exception cref="ArgumentException">The URL is not ws:// or wss://, or a header is malformed.</exception>
        public Connection ConnectWebSocket(string url, ConnectionHandler? handler, WebSocketClientOptions? options = null)
        {
            ArgumentNullException.ThrowIfNull(url);
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("ws" or "wss"))
                throw new ArgumentException($"ConnectWebSocket takes ws:// or wss:// URLs, not '{url}'", nameof(url));
            options ??= new WebSocketClientOptions();
            options.Validate();
            foreach (var (name, value) in options.Headers ?? [])
                if (name.AsSpan().IndexOfAny(" :\r\n") >= 0 || value.AsSpan().IndexOfAny('\r', '\n') >= 0)
                    throw new ArgumentException($"header '{name}' has a malformed name or a value with CR or LF", nameof(options));
            bool secure = uri.Scheme == "wss";
            var address = new NetworkAddress("tcp", uri.DnsSafeHost, uri.Port > 0 ? uri.Port : secure ? 443 : 80);
            var protocol = new WebSocketConnectionProtocol(options, uri);
            return secure
                ? manager.ConnectTls(address, handler, options.Tls ?? new TlsClientOptions(), protocol)
                : manager.Connect(address, datagram: false, handler, protocol);
        }
    }

    extension(Connection connection)
    {
        /// <summary>True once <see cref="EventKind.WsOpen"/> was raised on this connection.</summary>
        public bool IsWebSocket => connection.Protocol is WebSocketConnectionProtocol { Engine: not null };

        /// <summary>The subprotocol agreed in the handshake, or null.</summary>
        public string? WebSocketSubprotocol => (connection.Protocol as WebSocketConnectionProtocol)?.Subprotocol;

        /// <summary>The permessage-deflate agreement, or null when messages are not compressed.</summary>
        public PerMessageDeflateParameters? WebSocketDeflate => (connection.Protocol as WebSocketConnectionProtocol)?.Deflate;

        /// <summary>Where the closing handshake stands; null before <see cref="EventKind.WsOpen"/>.</summary>
        public WebSocketProtocolState? WebSocketState => (connection.Protocol as WebSocketConnectionProtocol)?.Engine?.State;

        /// <summary>
        /// Server: accepts the pending request's WebSocket upgrade (call from <see cref="EventKind.HttpHeaders"/>
        /// or <see cref="EventKind.HttpMessage"/>). On success it answers 101 (choosing the subprotocol and
        /// permessage-deflate per <paramref name="options"/>); after the request's <see cref="EventKind.HttpDone"/>
        /// the connection raises <see cref="EventKind.WsOpen"/> and WebSocket events, and no more HTTP.
        /// A request that is not a valid upgrade is answered with the core's 400, 405 or 426 (with a body
        /// naming the reason) and HTTP continues. To refuse a valid upgrade, reply with a normal status instead.
        /// </summary>
        /// <returns>True when the 101 was sent.</returns>
        /// <exception cref="InvalidOperationException">This is not an HTTP server connection with a request waiting for its response.</exception>
        public bool UpgradeToWebSocket(WebSocketServerOptions? options = null)
        {
            var http = connection.Protocol as HttpServerProtocol
                ?? throw new InvalidOperationException($"connection #{connection.Id} is not an HTTP server connection");
            if (!connection.HasPendingRequest())
                throw new InvalidOperationException($"connection #{connection.Id} has no request waiting for a response (upgrade from HttpHeaders or HttpMessage)");
            options ??= new WebSocketServerOptions();
            options.Validate();
            var request = http.Request;
            var upgrade = new WebSocketUpgradeRequest
            {
                Method = request.MethodString,
                HttpVersion = request.VersionMinor == 1 ? "HTTP/1.1" : "HTTP/1.0",
                Upgrade = WebSocketConnectionProtocol.Join(request.Headers, "Upgrade"),
                Connection = WebSocketConnectionProtocol.Join(request.Headers, "Connection"),
                SecWebSocketKey = WebSocketConnectionProtocol.Join(request.Headers, "Sec-WebSocket-Key"),
                SecWebSocketVersion = WebSocketConnectionProtocol.Join(request.Headers, "Sec-WebSocket-Version"),
                SecWebSocketProtocol = WebSocketConnectionProtocol.Join(request.Headers, "Sec-WebSocket-Protocol"),
                SecWebSocketExtensions = WebSocketConnectionProtocol.Join(request.Headers, "Sec-WebSocket-Extensions"),
            };
            var subprotocols = options.Subprotocols;
            if (options.SelectSubprotocol is { } select)
            {
                var offered = WebSocketHandshake.SplitList(upgrade.SecWebSocketProtocol).ToList();
                string? chosen = offered.Count > 0 ? select(offered) : null;
                subprotocols = chosen is null ? null : [chosen];
            }
            var answer = WebSocketHandshake.AcceptRequest(upgrade, subprotocols, options.Deflate);
            if (!answer.IsAccepted)
            {
                var headers = answer.ResponseHeaders.Select(h => (h.Key, h.Value)).ToArray();
                connection.Reply(answer.StatusCode, answer.Error + "\n", "text/plain; charset=utf-8", headers);
                return false;
            }
            var protocol = new WebSocketConnectionProtocol(options, answer.Subprotocol, answer.Deflate);
            http.SwitchProtocols(connection, answer.ResponseHeaders, c => protocol.OnSwitched(c, options.Handler));
            return true;
        }

        /// <summary>Sends a whole text message.</summary>
        /// <returns>False, sending nothing, when the WebSocket is not open, Close was sent, the connection is
        /// closing, or the send buffer has no room (<see cref="ManagerOptions.MaxSendBufferSize"/>). Pace big
        /// senders with <see cref="Connection.IsWritable"/> and <see cref="EventKind.Write"/>.</returns>
        public bool SendText(ReadOnlySpan<char> text)
        {
            var engine = Sendable(connection, (long)text.Length * 3);
            if (engine is null) return false;
            engine.SendText(text, connection.SendWriter);
            Diagnostics.WebSocketTelemetry.Message(connection, WebSocketMessageKind.Text, received: false);
            return true;
        }

        /// <summary>Sends a whole binary message. Returns as <c>SendText</c>.</summary>
        public bool SendBinary(ReadOnlySpan<byte> data) => connection.SendMessage(WebSocketMessageKind.Binary, data);

        /// <summary>Sends a whole message of the given kind. Returns as <c>SendText</c>.</summary>
        /// <exception cref="ArgumentException">A text payload is not valid UTF-8.</exception>
        public bool SendMessage(WebSocketMessageKind kind, ReadOnlySpan<byte> data)
        {
            var engine = Sendable(connection, data.Length);
            if (engine is null) return false;
            engine.SendMessage(kind, data, connection.SendWriter);
            Diagnostics.WebSocketTelemetry.Message(connection, kind, received: false);
            return true;
        }

        /// <summary>Sends one piece of a fragmented message (RFC 6455 §5.4): the first piece's kind names the
        /// message's; <paramref name="isEndOfMessage"/> ends it. Control frames (pings) may go between pieces;
        /// other messages may not. Returns as <c>SendText</c>.</summary>
        /// <exception cref="InvalidOperationException">Another message was started or the kind changed mid-message.</exception>
        public bool SendFragment(WebSocketMessageKind kind, ReadOnlySpan<byte> data, bool isEndOfMessage)
        {
            var engine = Sendable(connection, data.Length);
            if (engine is null) return false;
            engine.SendFragment(kind, data, isEndOfMessage, connection.SendWriter);
            if (isEndOfMessage) Diagnostics.WebSocketTelemetry.Message(connection, kind, received: false);
            return true;
        }

        /// <summary>Sends a Ping (at most 125 bytes); the peer's Pong arrives as <see cref="EventKind.WsControl"/>.
        /// Returns as <c>SendText</c>.</summary>
        /// <exception cref="ArgumentException">The payload is longer than 125 bytes.</exception>
        public bool SendPing(ReadOnlySpan<byte> data = default)
        {
            var engine = Sendable(connection, data.Length);
            if (engine is null) return false;
            engine.SendPing(data, connection.SendWriter);
            return true;
        }

        /// <summary>
        /// Starts the closing handshake (RFC 6455 §7.1.2): sends Close with <paramref name="code"/> and
        /// <paramref name="reason"/> (at most 123 UTF-8 bytes); nothing more may be sent. The peer's Close
        /// arrives as <see cref="EventKind.WsControl"/>; then the server closes TCP, and a client waits for it.
        /// If the handshake takes longer than <see cref="WebSocketConnectionOptions.CloseTimeout"/>, the
        /// connection is closed. Idempotent.
        /// </summary>
        /// <returns>False when the WebSocket is not open or Close was already sent.</returns>
        /// <exception cref="ArgumentException">The code may not be sent (1005, 1006, 1015, unassigned) or the reason is too long.</exception>
        public bool CloseWebSocket(WebSocketCloseCode code = WebSocketCloseCode.NormalClosure, string reason = "")
        {
            ArgumentNullException.ThrowIfNull(reason);
            return connection.Protocol is WebSocketConnectionProtocol protocol && protocol.Close(connection, code, reason);
        }
    }

    private static WebSocketProtocol? Sendable(Connection connection, long length) =>
        (connection.Protocol as WebSocketConnectionProtocol)?.SendableEngine(connection, length);
}
