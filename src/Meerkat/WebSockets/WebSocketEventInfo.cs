namespace Meerkat.WebSockets;

/// <summary>Which control frame a <see cref="EventKind.WsControl"/> event reports.</summary>
public enum WebSocketControl
{
    /// <summary>Not a control event (a <see cref="EventKind.WsMessage"/> or <see cref="EventKind.WsOpen"/>).</summary>
    None,

    /// <summary>A Ping arrived (already answered with a Pong); <see cref="Event.Data"/> is its payload.</summary>
    Ping,

    /// <summary>A Pong arrived; <see cref="Event.Data"/> is its payload.</summary>
    Pong,

    /// <summary>
    /// The closing handshake: the peer's Close (<see cref="WebSocketEventInfo.IsProtocolViolation"/>
    /// false), or the peer broke the protocol and we sent Close with the code given (true).
    /// </summary>
    Close,
}

/// <summary>
/// What a WebSocket event carries beside <see cref="Event.Data"/>: read it as <c>e.WebSocket</c> in
/// <see cref="EventKind.WsOpen"/>, <see cref="EventKind.WsMessage"/> and <see cref="EventKind.WsControl"/>.
/// One object per connection, reused: valid only during the callback.
/// </summary>
public sealed class WebSocketEventInfo
{
    /// <summary>Text or binary (<see cref="EventKind.WsMessage"/>).</summary>
    public WebSocketMessageKind MessageKind { get; internal set; }

    /// <summary>True for a text message: <see cref="Event.Data"/> is valid UTF-8 (checked, RFC 6455 §8.1).</summary>
    public bool IsText => MessageKind == WebSocketMessageKind.Text;

    /// <summary>
    /// True when this <see cref="EventKind.WsMessage"/> ends its message: always in whole-message mode;
    /// on the last piece when streaming.
    /// </summary>
    public bool IsEndOfMessage { get; internal set; }

    /// <summary>The control frame a <see cref="EventKind.WsControl"/> reports.</summary>
    public WebSocketControl Control { get; internal set; }

    /// <summary>For <see cref="WebSocketControl.Close"/>: the peer's code (1005 when its Close had none),
    /// or the code we sent for its violation.</summary>
    public WebSocketCloseCode CloseCode { get; internal set; }

    /// <summary>For <see cref="WebSocketControl.Close"/>: the peer's reason, or what it did wrong.</summary>
    public string CloseReason { get; internal set; } = string.Empty;

    /// <summary>For <see cref="WebSocketControl.Close"/>: true when the peer broke the protocol and we failed the connection.</summary>
    public bool IsProtocolViolation { get; internal set; }

    internal void Set(WebSocketMessageKind kind, bool isEnd, WebSocketControl control, WebSocketCloseCode code = default, string reason = "", bool isViolation = false)
    {
        MessageKind = kind;
        IsEndOfMessage = isEnd;
        Control = control;
        CloseCode = code;
        CloseReason = reason;
        IsProtocolViolation = isViolation;
    }
}
