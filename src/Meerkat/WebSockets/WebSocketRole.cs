namespace Meerkat.WebSockets;

/// <summary>Which end of a WebSocket connection an engine plays; it decides masking (RFC 6455 §5.1).</summary>
public enum WebSocketRole
{
    /// <summary>The end that opened the connection; it masks every frame it sends.</summary>
    Client,

    /// <summary>The end that accepted the connection; it never masks, and requires masked frames.</summary>
    Server,
}

/// <summary>The frame opcodes of RFC 6455 §5.2 (the others are reserved and rejected).</summary>
public enum WebSocketOpcode : byte
{
    /// <summary>0x0: continues a fragmented message.</summary>
    Continuation = 0x0,

    /// <summary>0x1: first frame of a text (UTF-8) message.</summary>
    Text = 0x1,

    /// <summary>0x2: first frame of a binary message.</summary>
    Binary = 0x2,

    /// <summary>0x8: Close control frame.</summary>
    Close = 0x8,

    /// <summary>0x9: Ping control frame.</summary>
    Ping = 0x9,

    /// <summary>0xA: Pong control frame.</summary>
    Pong = 0xA,
}

/// <summary>The type of a data message.</summary>
public enum WebSocketMessageKind : byte
{
    /// <summary>A text message; its payload is UTF-8.</summary>
    Text = WebSocketOpcode.Text,

    /// <summary>A binary message.</summary>
    Binary = WebSocketOpcode.Binary,
}
