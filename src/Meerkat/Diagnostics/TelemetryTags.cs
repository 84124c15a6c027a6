// How this file works: attribute names (OpenTelemetry semantic conventions where one exists,
// "meerkat." otherwise) and their values, cached so that recording a measurement allocates nothing:
// methods map to constant strings (others to "_OTHER", as the conventions ask), status codes are
// boxed once each, outcomes and roles are constant strings.
using System.Text;
using Meerkat.Http;

namespace Meerkat.Diagnostics;

/// <summary>Attribute names and allocation-free attribute values.</summary>
internal static class TelemetryTags
{
    public const string Method = "http.request.method";
    public const string MethodOriginal = "http.request.method_original";
    public const string StatusCode = "http.response.status_code";
    public const string Route = "http.route";
    public const string ProtocolVersion = "network.protocol.version";
    public const string Scheme = "url.scheme";
    public const string ErrorType = "error.type";
    public const string ServerAddress = "server.address";
    public const string ServerPort = "server.port";
    public const string ClientAddress = "client.address";
    public const string UrlPath = "url.path";
    public const string UrlQuery = "url.query";
    public const string UrlFull = "url.full";
    public const string UserAgent = "user_agent.original";
    public const string ConnectionState = "http.connection.state";
    public const string Role = "meerkat.connection.role";
    public const string Transport = "network.transport";
    public const string Direction = "network.io.direction";
    public const string TlsVersion = "tls.protocol.version";
    public const string MessageType = "meerkat.websocket.message.type";

    /// <summary>What <c>MethodOf</c> returns for a method outside RFC 9110 and RFC 5789.</summary>
    public const string OtherMethod = "_OTHER";

    private static readonly object?[] StatusBoxes = new object?[600];
    private static readonly string?[] StatusTexts = new string?[600];

    /// <summary>The method as the conventions name it: one of the known methods, or <c>_OTHER</c>.</summary>
    public static string MethodOf(ReadOnlySpan<byte> method) => method switch
    {
        _ when method.SequenceEqual("GET"u8) => "GET",
        _ when method.SequenceEqual("POST"u8) => "POST",
        _ when method.SequenceEqual("PUT"u8) => "PUT",
        _ when method.SequenceEqual("DELETE"u8) => "DELETE",
        _ when method.SequenceEqual("HEAD"u8) => "HEAD",
        _ when method.SequenceEqual("OPTIONS"u8) => "OPTIONS",
        _ when method.SequenceEqual("PATCH"u8) => "PATCH",
        _ when method.SequenceEqual("CONNECT"u8) => "CONNECT",
        _ when method.SequenceEqual("TRACE"u8) => "TRACE",
        _ => OtherMethod,
    };

    /// <summary>As <see cref="MethodOf(ReadOnlySpan{byte})"/>, for a method held as a string.</summary>
    public static string MethodOf(string method) => method switch
    {
        "GET" or "POST" or "PUT" or "DELETE" or "HEAD" or "OPTIONS" or "PATCH" or "CONNECT" or "TRACE" => method,
        _ => OtherMethod,
    };

    /// <summary>The status code boxed once (status codes are 100–599; others are boxed each time).</summary>
    public static object StatusCodeOf(int status) =>
        (uint)status < (uint)StatusBoxes.Length ? StatusBoxes[status] ??= status : status;

    /// <summary>The status code as text, for <c>error.type</c> of a 5xx response.</summary>
    public static string StatusTextOf(int status) =>
        (uint)status < (uint)StatusTexts.Length ? StatusTexts[status] ??= status.ToString(System.Globalization.CultureInfo.InvariantCulture) : status.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary><c>network.protocol.version</c> of an HTTP/2 message.</summary>
    public const string Http2Version = "2";

    /// <summary><c>network.protocol.version</c> of an HTTP/1.x message.</summary>
    public static string Http1VersionOf(int minor) => minor == 0 ? "1.0" : "1.1";

    /// <summary><c>meerkat.connection.role</c>.</summary>
    public static string RoleOf(ConnectionRole role) => role switch
    {
        ConnectionRole.Listener => "listener",
        ConnectionRole.Accepted => "accepted",
        ConnectionRole.Outbound => "outbound",
        _ => "internal",
    };

    /// <summary><c>network.transport</c>.</summary>
    public static string TransportOf(Connection connection) => connection.IsDatagram ? "udp" : "tcp";

    /// <summary><c>error.type</c> of a transaction that did not complete.</summary>
    public static string OutcomeOf(HttpOutcome outcome) => outcome switch
    {
        HttpOutcome.Completed => "completed",
        HttpOutcome.PeerClosed => "peer_closed",
        HttpOutcome.Reset => "reset",
        HttpOutcome.Deadline => "deadline",
        HttpOutcome.ProtocolError => "protocol_error",
        HttpOutcome.HandlerError => "handler_error",
        HttpOutcome.Shutdown => "shutdown",
        HttpOutcome.Disposed => "disposed",
        HttpOutcome.Cancelled => "cancelled",
        _ => "_OTHER",
    };

    /// <summary><c>error.type</c> of a request head the server refused before any transaction began.</summary>
    public static string RejectionOf(int status) => status switch
    {
        408 => "request_timeout",
        414 or 431 => "request_too_large",
        501 or 505 => "not_supported",
        _ => "bad_request",
    };

    /// <summary><c>error.type</c> of a connection that failed (<see cref="CloseCause"/> and the exception behind it).</summary>
    internal static string FailureOf(CloseCause cause, Exception error) => cause switch
    {
        CloseCause.HandlerError => "handler_error",
        _ => error switch
        {
            Tls.TlsException => "tls",
            TimeoutException => "timeout",
            _ when error.InnerException is System.Net.Sockets.SocketException socket => SocketErrorOf(socket.SocketErrorCode),
            _ => "io",
        },
    };

    private static string SocketErrorOf(System.Net.Sockets.SocketError error) => error switch
    {
        System.Net.Sockets.SocketError.ConnectionRefused => "connection_refused",
        System.Net.Sockets.SocketError.ConnectionReset => "connection_reset",
        System.Net.Sockets.SocketError.TimedOut => "timeout",
        System.Net.Sockets.SocketError.HostUnreachable or System.Net.Sockets.SocketError.NetworkUnreachable => "unreachable",
        _ => "io",
    };

    /// <summary>A Latin-1 string of a header's bytes (traces only, never on the metrics path).</summary>
    public static string Text(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);
}
