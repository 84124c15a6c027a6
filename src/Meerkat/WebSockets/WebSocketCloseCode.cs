// How this file works: the close status codes of RFC 6455 §7.4 and the one rule that decides
// which of them may appear in a Close frame on the wire (§7.4.1, §7.4.2, IANA registry).
//
// Choice: 1012-1014 (service restart, try again later, bad gateway) are registered with IANA
// after RFC 6455 and are sent by real servers (nginx, Kestrel behind proxies), so they are
// accepted when received and may be sent. 1004 is reserved, 1005/1006/1015 are "must never be
// sent" codes, 1016-2999 are unassigned, 3000-4999 belong to libraries and applications.
namespace Meerkat.WebSockets;

/// <summary>Status codes carried by a WebSocket Close frame (RFC 6455 §7.4.1).</summary>
public enum WebSocketCloseCode : ushort
{
    /// <summary>1000: the purpose of the connection has been fulfilled.</summary>
    NormalClosure = 1000,

    /// <summary>1001: the endpoint is going away (server shutdown, page navigation).</summary>
    GoingAway = 1001,

    /// <summary>1002: the peer broke the protocol.</summary>
    ProtocolError = 1002,

    /// <summary>1003: the endpoint received a data type it cannot accept.</summary>
    UnsupportedData = 1003,

    /// <summary>1005: reserved; reported locally when a Close frame carried no status code. Never sent.</summary>
    NoStatusReceived = 1005,

    /// <summary>1006: reserved; reported locally when the connection dropped without a Close frame. Never sent.</summary>
    AbnormalClosure = 1006,

    /// <summary>1007: message data inconsistent with its type (for example invalid UTF-8 in a text message).</summary>
    InvalidPayloadData = 1007,

    /// <summary>1008: a message violated the endpoint's policy.</summary>
    PolicyViolation = 1008,

    /// <summary>1009: a message was too big to process.</summary>
    MessageTooBig = 1009,

    /// <summary>1010: (client) the server did not negotiate an extension the client requires.</summary>
    MandatoryExtension = 1010,

    /// <summary>1011: (server) an unexpected condition prevented fulfilling the request.</summary>
    InternalError = 1011,

    /// <summary>1012: the service is restarting (IANA registry).</summary>
    ServiceRestart = 1012,

    /// <summary>1013: try again later (IANA registry).</summary>
    TryAgainLater = 1013,

    /// <summary>1014: a gateway received an invalid response (IANA registry).</summary>
    BadGateway = 1014,

    /// <summary>1015: reserved; reported locally when the TLS handshake failed. Never sent.</summary>
    TlsHandshakeFailure = 1015,
}

/// <summary>Rules about close codes shared by the reader and the writer.</summary>
public static class WebSocketCloseCodes
{
    private const ushort FirstDefined = 1000;
    private const ushort LastDefined = 1014;
    private const ushort FirstPrivate = 3000;
    private const ushort LastPrivate = 4999;

    /// <summary>
    /// True when <paramref name="code"/> may appear in a Close frame (RFC 6455 §7.4.1-§7.4.2):
    /// 1000-1003, 1007-1014 and 3000-4999.
    /// </summary>
    public static bool IsValidOnWire(int code) => code switch
    {
        >= FirstPrivate and <= LastPrivate => true,
        (int)WebSocketCloseCode.NoStatusReceived or (int)WebSocketCloseCode.AbnormalClosure => false,
        1004 => false, // reserved by RFC 6455 §7.4.1 for future use
        >= FirstDefined and <= LastDefined => true,
        _ => false,
    };
}
