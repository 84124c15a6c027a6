namespace Meerkat.Http2;

/// <summary>
/// The error codes of RFC 9113 §7, carried by RST_STREAM (a stream error) and GOAWAY (a
/// connection error). Codes this enum does not name are valid on the wire and must not trigger
/// special behaviour (§7): they are reported as their numeric value.
/// </summary>
public enum Http2ErrorCode : uint
{
    /// <summary>Not the result of an error; a graceful GOAWAY, or RST_STREAM after a complete response.</summary>
    NoError = 0x0,

    /// <summary>An unspecific protocol error; used when no more specific code applies.</summary>
    ProtocolError = 0x1,

    /// <summary>The endpoint hit an unexpected internal error.</summary>
    InternalError = 0x2,

    /// <summary>The peer violated the flow-control protocol (§5.2).</summary>
    FlowControlError = 0x3,

    /// <summary>SETTINGS were sent but not acknowledged in time (§6.5.3).</summary>
    SettingsTimeout = 0x4,

    /// <summary>A frame arrived after the stream was half-closed (remote) or closed.</summary>
    StreamClosed = 0x5,

    /// <summary>A frame had an invalid size.</summary>
    FrameSizeError = 0x6,

    /// <summary>The stream was refused before any application processing; it is safe to retry.</summary>
    RefusedStream = 0x7,

    /// <summary>The stream is no longer needed.</summary>
    Cancel = 0x8,

    /// <summary>The field section compression context (HPACK) cannot be maintained.</summary>
    CompressionError = 0x9,

    /// <summary>The connection of a CONNECT request was reset or abnormally closed.</summary>
    ConnectError = 0xa,

    /// <summary>The peer behaves in a way that might generate excessive load (floods, rapid reset).</summary>
    EnhanceYourCalm = 0xb,

    /// <summary>The transport does not meet minimum security requirements (§9.2).</summary>
    InadequateSecurity = 0xc,

    /// <summary>The endpoint requires HTTP/1.1 instead of HTTP/2.</summary>
    Http11Required = 0xd,
}
