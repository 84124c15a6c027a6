namespace Meerkat.WebSockets;

/// <summary>A client's opening handshake failed (RFC 6455 §4.1): raised with <see cref="EventKind.Error"/>,
/// then <see cref="EventKind.Close"/>. The message names the reason (status, missing header, bad accept value...).</summary>
public sealed class WebSocketHandshakeException : MeerkatException
{
    /// <summary>Creates the exception with a message that names the reason.</summary>
    public WebSocketHandshakeException(string message) : base(message) { }
}
