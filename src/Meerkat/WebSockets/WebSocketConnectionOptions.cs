// How this file works: the settings of WebSocket connections on the loop, one plain class per
// side over a shared base. Every value has a safe default; zero TimeSpans switch a feature off.
using Meerkat.Tls;

namespace Meerkat.WebSockets;

/// <summary>Settings shared by WebSocket server and client connections.</summary>
public abstract class WebSocketConnectionOptions
{
    /// <summary>Default <see cref="CloseTimeout"/>: 5 seconds.</summary>
    public static readonly TimeSpan DefaultCloseTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Largest message accepted, counted after decompression (default 16 MiB); a bigger one fails
    /// the connection with 1009 (RFC 6455 §7.4.1). In streaming mode it applies to the sum of the pieces.
    /// </summary>
    public long MaxMessageSize { get; init; } = WebSocketOptions.DefaultMaxMessageSize;

    /// <summary>
    /// True (default): one <see cref="EventKind.WsMessage"/> per whole message. False: one per piece
    /// as it arrives (<see cref="WebSocketEventInfo.IsEndOfMessage"/> marks the last, which may be
    /// empty), for messages too big to hold.
    /// </summary>
    public bool IsWholeMessageMode { get; init; } = true;

    /// <summary>
    /// How long the closing handshake may take (default 5 s): after we send Close, the wait for the
    /// peer's Close; then, on a client, the wait for the server to close TCP. The connection is
    /// closed when it runs out.
    /// </summary>
    public TimeSpan CloseTimeout { get; init; } = DefaultCloseTimeout;

    /// <summary>
    /// Send a Ping when nothing was received for this long (default zero: off). See <see cref="KeepAliveTimeout"/>.
    /// </summary>
    public TimeSpan KeepAliveInterval { get; init; }

    /// <summary>
    /// With <see cref="KeepAliveInterval"/>: when nothing at all arrives this long after a keep-alive
    /// Ping, the peer is taken for dead: <see cref="EventKind.Error"/> (a <see cref="TimeoutException"/>),
    /// then <see cref="EventKind.Close"/>. Default 10 s.
    /// </summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>permessage-deflate (RFC 7692) to offer (client) or accept (server); null (default) for none.</summary>
    public PerMessageDeflateOptions? Deflate { get; init; }

    internal WebSocketOptions EngineOptions => new() { MaxMessageSize = MaxMessageSize, IsWholeMessageMode = IsWholeMessageMode };

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxMessageSize, nameof(MaxMessageSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(CloseTimeout, TimeSpan.Zero, nameof(CloseTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(KeepAliveInterval, TimeSpan.Zero, nameof(KeepAliveInterval));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(KeepAliveTimeout, TimeSpan.Zero, nameof(KeepAliveTimeout));
    }
}

/// <summary>How a server accepts a WebSocket upgrade (<c>connection.UpgradeToWebSocket</c>).</summary>
public sealed class WebSocketServerOptions : WebSocketConnectionOptions
{
    /// <summary>Subprotocols this server speaks; the first the client offered (in its order of
    /// preference, RFC 6455 §4.1) that is in this list is chosen. Null or empty: none.</summary>
    public IReadOnlyCollection<string>? Subprotocols { get; init; }

    /// <summary>Chooses the subprotocol from those the client offered (in its order); return null for
    /// none. When set, it replaces <see cref="Subprotocols"/>. Runs on the loop thread.</summary>
    public Func<IReadOnlyList<string>, string?>? SelectSubprotocol { get; init; }

    /// <summary>A handler for the WebSocket's events from <see cref="EventKind.WsOpen"/> on; null keeps
    /// the connection's HTTP handler.</summary>
    public ConnectionHandler? Handler { get; init; }
}

/// <summary>How a client opens a WebSocket (<c>manager.ConnectWebSocket</c>).</summary>
public sealed class WebSocketClientOptions : WebSocketConnectionOptions
{
    /// <summary>Default <see cref="HandshakeTimeout"/>: 10 seconds.</summary>
    public static readonly TimeSpan DefaultHandshakeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Extra request headers (Origin, Authorization, cookies...). The handshake's own
    /// headers (Host, Upgrade, Connection, Sec-WebSocket-*) are set by the client.</summary>
    public IReadOnlyList<KeyValuePair<string, string>>? Headers { get; init; }

    /// <summary>Subprotocols to offer, most preferred first.</summary>
    public IReadOnlyList<string>? Subprotocols { get; init; }

    /// <summary>TLS settings for <c>wss://</c> (default: verify against the system store for the URL's host).</summary>
    public TlsClientOptions? Tls { get; init; }

    /// <summary>How long from the TCP connection to the server's 101 (default 10 s); then Error and Close.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = DefaultHandshakeTimeout;
}
