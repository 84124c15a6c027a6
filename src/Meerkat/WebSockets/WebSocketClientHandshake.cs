// How this file works: the client half of the RFC 6455 §4.1 opening handshake. Construct it with
// what to offer; send RequestHeaders with "GET <path> HTTP/1.1" and Host; give ValidateResponse
// the response's status and header values. A failure means the client must fail the WebSocket
// connection (§4.1: "the client MUST _Fail the WebSocket Connection_").
namespace Meerkat.WebSockets;

/// <summary>The outcome of checking a server's handshake response.</summary>
/// <param name="Error">Why the response is unacceptable, or null on success.</param>
/// <param name="Subprotocol">The subprotocol the server chose, or null.</param>
/// <param name="Deflate">The permessage-deflate agreement, or null.</param>
internal sealed record WebSocketClientHandshakeResult(string? Error, string? Subprotocol = null, PerMessageDeflateParameters? Deflate = null)
{
    /// <summary>True when the connection is open.</summary>
    public bool IsSuccess => Error is null;
}

/// <summary>One client opening handshake: a fresh key, the request headers, the response check.</summary>
internal sealed class WebSocketClientHandshake
{
    private readonly IReadOnlyList<string> _subprotocols;
    private readonly PerMessageDeflateOptions? _deflate;

    /// <summary>Prepares a handshake with a fresh random key.</summary>
    /// <param name="subprotocols">Subprotocols to offer, most preferred first, or null.</param>
    /// <param name="deflate">permessage-deflate to offer, or null.</param>
    /// <exception cref="ArgumentException">The deflate options ask for a window we cannot compress with.</exception>
    public WebSocketClientHandshake(IReadOnlyList<string>? subprotocols = null, PerMessageDeflateOptions? deflate = null)
    {
        _subprotocols = subprotocols ?? [];
        _deflate = deflate;
        Key = WebSocketHandshake.CreateKey();
        var headers = new List<KeyValuePair<string, string>>
        {
            new("Upgrade", "websocket"),
            new("Connection", "Upgrade"),
            new("Sec-WebSocket-Key", Key),
            new("Sec-WebSocket-Version", WebSocketHandshake.Version),
        };
        if (_subprotocols.Count > 0)
        {
            headers.Add(new("Sec-WebSocket-Protocol", string.Join(", ", _subprotocols)));
        }

        if (deflate is not null)
        {
            headers.Add(new("Sec-WebSocket-Extensions", PerMessageDeflate.CreateOffer(deflate)));
        }

        RequestHeaders = headers;
    }

    /// <summary>The Sec-WebSocket-Key sent.</summary>
    public string Key { get; }

    /// <summary>Headers to send besides the request line and Host.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> RequestHeaders { get; }

    /// <summary>Checks the server's response (RFC 6455 §4.1, the numbered checks after "If the server's response").</summary>
    public WebSocketClientHandshakeResult ValidateResponse(int statusCode, string? upgrade, string? connection, string? secWebSocketAccept, string? secWebSocketProtocol, string? secWebSocketExtensions)
    {
        string? subprotocol = string.IsNullOrWhiteSpace(secWebSocketProtocol) ? null : secWebSocketProtocol.Trim();
        string? error = statusCode != WebSocketHandshake.SwitchingProtocols ? $"the server answered {statusCode}, not 101"
            : !WebSocketHandshake.HasToken(upgrade, "websocket") ? "the response lacks 'Upgrade: websocket'"
            : !WebSocketHandshake.HasToken(connection, "upgrade") ? "the response lacks 'Connection: upgrade'"
            : secWebSocketAccept?.Trim() != WebSocketHandshake.ComputeAccept(Key) ? "Sec-WebSocket-Accept does not match the key"
            : subprotocol is not null && !_subprotocols.Contains(subprotocol, StringComparer.Ordinal) ? $"the server chose subprotocol '{subprotocol}', which was not offered"
            : null;
        if (error is not null)
        {
            return new WebSocketClientHandshakeResult(error);
        }

        return PerMessageDeflate.TryAcceptResponse(secWebSocketExtensions, _deflate, out PerMessageDeflateParameters? agreed, out string? extensionError)
            ? new WebSocketClientHandshakeResult(null, subprotocol, agreed)
            : new WebSocketClientHandshakeResult(extensionError);
    }
}
