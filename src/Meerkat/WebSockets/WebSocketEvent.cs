// How this file works: the closed vocabulary of what a WebSocket reader or engine reports.
//
// | kind              | when it fires                                   | data                                   |
// | ----------------- | ----------------------------------------------- | -------------------------------------- |
// | NeedMoreData      | all given input is consumed                     | none                                   |
// | MessageData       | (streaming) a piece of a data message arrived   | MessageKind, Payload = the piece       |
// | MessageEnd        | (streaming) the message is complete             | MessageKind                            |
// | Message           | (whole-message mode) a complete message         | MessageKind, Payload = whole message   |
// | Ping / Pong       | a control frame arrived                         | Payload = its application data (≤125)  |
// | Close             | the peer's Close frame arrived                  | CloseCode (1005 when absent), Payload = reason (UTF-8) |
// | ProtocolViolation | the peer broke RFC 6455/7692; fail the connection | CloseCode to send, Reason             |
//
// Lifetime: Payload points into the caller's input or into the reader's buffers and is valid
// only until the next call on the reader or engine (or until the input is changed); copy it to
// keep it. The event is a ref struct so that it cannot be stored by accident.
using System.Text;

namespace Meerkat.WebSockets;

/// <summary>What a <see cref="WebSocketEvent"/> reports; see the table in WebSocketEvent.cs.</summary>
public enum WebSocketEventKind
{
    /// <summary>All input was consumed; call again with more bytes.</summary>
    NeedMoreData,

    /// <summary>A piece of a data message (streaming mode); never empty.</summary>
    MessageData,

    /// <summary>The end of a data message (streaming mode).</summary>
    MessageEnd,

    /// <summary>A complete data message (whole-message mode).</summary>
    Message,

    /// <summary>A Ping frame.</summary>
    Ping,

    /// <summary>A Pong frame.</summary>
    Pong,

    /// <summary>The peer's Close frame.</summary>
    Close,

    /// <summary>The peer broke the protocol; the connection must be failed with <see cref="WebSocketEvent.CloseCode"/>.</summary>
    ProtocolViolation,
}

/// <summary>One event read from a WebSocket byte stream. Valid until the next call on its source.</summary>
public readonly ref struct WebSocketEvent
{
    private WebSocketEvent(WebSocketEventKind kind, WebSocketMessageKind messageKind, ReadOnlySpan<byte> payload, WebSocketCloseCode closeCode, string? reason)
    {
        Kind = kind;
        MessageKind = messageKind;
        Payload = payload;
        CloseCode = closeCode;
        Reason = reason;
    }

    /// <summary>What happened.</summary>
    public WebSocketEventKind Kind { get; }

    /// <summary>Text or binary, for <see cref="WebSocketEventKind.MessageData"/>, <see cref="WebSocketEventKind.MessageEnd"/> and <see cref="WebSocketEventKind.Message"/>.</summary>
    public WebSocketMessageKind MessageKind { get; }

    /// <summary>Message data, ping/pong data, or the UTF-8 close reason; valid until the next call.</summary>
    public ReadOnlySpan<byte> Payload { get; }

    /// <summary>The peer's close code (<see cref="WebSocketEventKind.Close"/>) or the code to send (<see cref="WebSocketEventKind.ProtocolViolation"/>).</summary>
    public WebSocketCloseCode CloseCode { get; }

    /// <summary>For a violation: what the peer did wrong, fit for a Close frame's reason.</summary>
    public string? Reason { get; }

    /// <summary>The close reason decoded from <see cref="Payload"/> (allocates).</summary>
    public string CloseReason => Kind == WebSocketEventKind.Close ? Encoding.UTF8.GetString(Payload) : Reason ?? string.Empty;

    internal static WebSocketEvent NeedMoreData => default;

    internal static WebSocketEvent Data(WebSocketEventKind kind, WebSocketMessageKind messageKind, ReadOnlySpan<byte> payload) =>
        new(kind, messageKind, payload, default, null);

    internal static WebSocketEvent Control(WebSocketEventKind kind, ReadOnlySpan<byte> payload, WebSocketCloseCode closeCode = default) =>
        new(kind, default, payload, closeCode, null);

    internal static WebSocketEvent Violation(WebSocketCloseCode closeCode, string reason) =>
        new(WebSocketEventKind.ProtocolViolation, default, default, closeCode, reason);
}
