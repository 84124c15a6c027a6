namespace Meerkat.Http2;

/// <summary>The frame types of RFC 9113 §6. Any other value is an extension frame, which a
/// receiver ignores (§4.1, §5.5) unless it interrupts a field block.</summary>
internal enum Http2FrameType : byte
{
    /// <summary>§6.1: a piece of a stream's content; flow controlled.</summary>
    Data = 0x0,

    /// <summary>§6.2: opens a stream or carries a field block (header or trailer section).</summary>
    Headers = 0x1,

    /// <summary>§6.3: deprecated priority signal; accepted and ignored (§5.3.2).</summary>
    Priority = 0x2,

    /// <summary>§6.4: terminates a stream with an error code.</summary>
    RstStream = 0x3,

    /// <summary>§6.5: connection parameters, or the acknowledgement of the peer's.</summary>
    Settings = 0x4,

    /// <summary>§6.6: server push; Meerkat never enables push, so receiving one is an error.</summary>
    PushPromise = 0x5,

    /// <summary>§6.7: round-trip measurement and liveness; answered with an ACK.</summary>
    Ping = 0x6,

    /// <summary>§6.8: starts shutting the connection down, naming the last stream processed.</summary>
    GoAway = 0x7,

    /// <summary>§6.9: flow-control credit for a stream or (stream 0) the connection.</summary>
    WindowUpdate = 0x8,

    /// <summary>§6.10: the rest of a field block that did not fit one frame.</summary>
    Continuation = 0x9,
}

/// <summary>Frame flag bits (RFC 9113 §6). A flag means something only for the frame types that
/// define it; undefined flags are ignored on receipt and left unset when sending (§4.1).</summary>
internal static class Http2FrameFlags
{
    /// <summary>DATA, HEADERS: the last frame the endpoint sends on the stream.</summary>
    public const byte EndStream = 0x1;

    /// <summary>SETTINGS, PING: this frame acknowledges the peer's.</summary>
    public const byte Ack = 0x1;

    /// <summary>HEADERS, PUSH_PROMISE, CONTINUATION: the field block ends in this frame.</summary>
    public const byte EndHeaders = 0x4;

    /// <summary>DATA, HEADERS, PUSH_PROMISE: a Pad Length octet and padding are present.</summary>
    public const byte Padded = 0x8;

    /// <summary>HEADERS: the deprecated Exclusive/Stream Dependency/Weight fields are present.</summary>
    public const byte Priority = 0x20;
}
