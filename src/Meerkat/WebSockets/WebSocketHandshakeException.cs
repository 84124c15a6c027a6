namespace Meerkat.WebSockets;

/// <summary>A client's opening handshake failed (RFC 6455 §4.1): raised with <see cref="EventKind.Error"/>,
/// then <see cref="EventKind.Close"/>. The message names the reason (status, missing header, bad accept value...).</summary>
public sealed class WebSocketHandshakeException : MeerkatException
{
    /// <summary>Creates the exception with a message that names the reason.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="statusCode">The server's status when it answered something other than 101; 0 otherwise.</param>
    public WebSocketHandshakeException(string message, int statusCode = 0) : base(message) => StatusCode = statusCode;

    /// <summary>The status the server answered instead of 101 (e.g. 403, 404), or 0 when the failure was something else.</summary>
    public int StatusCode { get; }
}
