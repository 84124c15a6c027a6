// How this file works: the opening handshake of RFC 6455 §4, on header values given as strings
// so that it does not depend on any HTTP parser's types. Several header lines of one name are
// passed joined with ", " (RFC 9110 §5.3).
//
// Server (§4.2.1, §4.2.2): GET, HTTP/1.1, an Upgrade list with the token "websocket", a
// Connection list with the token "upgrade", Sec-WebSocket-Version 13 (else 426 and
// "Sec-WebSocket-Version: 13"), a Sec-WebSocket-Key that is base64 of 16 octets. The subprotocol
// is the first one in the client's list (ordered by the client's preference, §4.1) that the
// server supports; permessage-deflate is negotiated by PerMessageDeflate.TryAcceptOffer.
// A method other than GET gets 405 with "Allow: GET"; other faults get 400.
//
// Client (§4.1): generates a random 16-octet key, builds the request headers (the HTTP layer adds
// the request line and Host), and checks the 101 response: Upgrade, Connection, the accept
// value, a subprotocol among those offered, extensions among those offered.
using System.Security.Cryptography;
using System.Text;

namespace Meerkat.WebSockets;

/// <summary>The header values of an upgrade request, as the HTTP layer parsed them (null = absent).</summary>
public sealed class WebSocketUpgradeRequest
{
    /// <summary>Request method; must be GET.</summary>
    public string? Method { get; init; }

    /// <summary>HTTP version, "HTTP/1.1" (or "1.1").</summary>
    public string? HttpVersion { get; init; }

    /// <summary>The Upgrade header.</summary>
    public string? Upgrade { get; init; }

    /// <summary>The Connection header.</summary>
    public string? Connection { get; init; }

    /// <summary>The Sec-WebSocket-Key header.</summary>
    public string? SecWebSocketKey { get; init; }

    /// <summary>The Sec-WebSocket-Version header.</summary>
    public string? SecWebSocketVersion { get; init; }

    /// <summary>The Sec-WebSocket-Protocol header (offered subprotocols).</summary>
    public string? SecWebSocketProtocol { get; init; }

    /// <summary>The Sec-WebSocket-Extensions header (offered extensions).</summary>
    public string? SecWebSocketExtensions { get; init; }
}

/// <summary>The server's answer to an upgrade request.</summary>
/// <param name="StatusCode">101 when accepted; otherwise 400, 405 or 426.</param>
/// <param name="Error">Why the request was refused, or null.</param>
/// <param name="ResponseHeaders">Headers to send with <paramref name="StatusCode"/>.</param>
/// <param name="Subprotocol">The selected subprotocol, or null.</param>
/// <param name="Deflate">The permessage-deflate agreement, or null.</param>
internal sealed record WebSocketServerHandshake(
    int StatusCode,
    string? Error,
    IReadOnlyList<KeyValuePair<string, string>> ResponseHeaders,
    string? Subprotocol = null,
    PerMessageDeflateParameters? Deflate = null)
{
    /// <summary>True when the server switches protocols (101).</summary>
    public bool IsAccepted => StatusCode == WebSocketHandshake.SwitchingProtocols;
}

/// <summary>Computes and checks the values of the RFC 6455 §4 opening handshake.</summary>
internal static class WebSocketHandshake
{
    /// <summary>The GUID appended to the key before hashing (RFC 6455 §1.3).</summary>
    public const string KeyGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    /// <summary>The only version defined (RFC 6455 §4.1).</summary>
    public const string Version = "13";

    /// <summary>101 Switching Protocols.</summary>
    public const int SwitchingProtocols = 101;

    internal const int KeyLength = 16;
    private const int BadRequest = 400;
    private const int MethodNotAllowed = 405;
    private const int UpgradeRequired = 426;

    /// <summary>Sec-WebSocket-Accept for <paramref name="key"/>: base64(SHA-1(key + GUID)) (RFC 6455 §4.2.2).</summary>
    public static string ComputeAccept(ReadOnlySpan<char> key)
    {
        Span<byte> input = stackalloc byte[Encoding.ASCII.GetMaxByteCount(key.Length + KeyGuid.Length)];
        int length = Encoding.ASCII.GetBytes(key.Trim(), input);
        length += Encoding.ASCII.GetBytes(KeyGuid, input[length..]);
        Span<byte> hash = stackalloc byte[SHA1.HashSizeInBytes];
        SHA1.HashData(input[..length], hash);
        return Convert.ToBase64String(hash);
    }

    /// <summary>A fresh Sec-WebSocket-Key: base64 of 16 random octets (RFC 6455 §4.1).</summary>
    public static string CreateKey()
    {
        Span<byte> nonce = stackalloc byte[KeyLength];
        RandomNumberGenerator.Fill(nonce);
        return Convert.ToBase64String(nonce);
    }

    /// <summary>Server: checks an upgrade request and builds the response headers.</summary>
    /// <param name="request">The request's header values.</param>
    /// <param name="subprotocols">Subprotocols this server speaks, or null.</param>
    /// <param name="deflate">permessage-deflate wishes, or null to never negotiate it.</param>
    public static WebSocketServerHandshake AcceptRequest(WebSocketUpgradeRequest request, IReadOnlyCollection<string>? subprotocols = null, PerMessageDeflateOptions? deflate = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!string.Equals(request.Method, "GET", StringComparison.Ordinal))
        {
            return Refuse(MethodNotAllowed, "the method must be GET (RFC 6455 §4.1)", new KeyValuePair<string, string>("Allow", "GET"));
        }

        if (request.HttpVersion is not ("HTTP/1.1" or "1.1"))
        {
            return Refuse(BadRequest, "the request must be HTTP/1.1 (RFC 6455 §4.1)");
        }

        if (!HasToken(request.Upgrade, "websocket") || !HasToken(request.Connection, "upgrade"))
        {
            return Refuse(BadRequest, "the request needs 'Upgrade: websocket' and 'Connection: upgrade' (RFC 6455 §4.2.1)");
        }

        if (request.SecWebSocketVersion?.Trim() != Version)
        {
            return Refuse(UpgradeRequired, "Sec-WebSocket-Version must be 13 (RFC 6455 §4.2.2)", new KeyValuePair<string, string>("Sec-WebSocket-Version", Version));
        }

        if (!IsValidKey(request.SecWebSocketKey))
        {
            return Refuse(BadRequest, "Sec-WebSocket-Key must be base64 of 16 bytes (RFC 6455 §4.2.1)");
        }

        return Accept(request, subprotocols, deflate);
    }

    /// <summary>True when <paramref name="key"/> is base64 of exactly 16 octets.</summary>
    public static bool IsValidKey(string? key)
    {
        Span<byte> decoded = stackalloc byte[KeyLength + 2];
        return key is not null && Convert.TryFromBase64String(key.Trim(), decoded, out int length) && length == KeyLength;
    }

    /// <summary>True when the comma-separated <paramref name="list"/> holds <paramref name="token"/> (case-insensitive).</summary>
    public static bool HasToken(string? list, string token)
    {
        foreach (string item in SplitList(list))
        {
            if (item.Equals(token, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    internal static IEnumerable<string> SplitList(string? list) =>
        list is null ? [] : list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    private static WebSocketServerHandshake Accept(WebSocketUpgradeRequest request, IReadOnlyCollection<string>? subprotocols, PerMessageDeflateOptions? deflate)
    {
        var headers = new List<KeyValuePair<string, string>>
        {
            new("Upgrade", "websocket"),
            new("Connection", "Upgrade"),
            new("Sec-WebSocket-Accept", ComputeAccept(request.SecWebSocketKey!)),
        };
        string? subprotocol = SplitList(request.SecWebSocketProtocol)
            .FirstOrDefault(offered => subprotocols?.Contains(offered, StringComparer.Ordinal) == true);
        if (subprotocol is not null)
        {
            headers.Add(new("Sec-WebSocket-Protocol", subprotocol));
        }

        PerMessageDeflateParameters? agreed = null;
        if (deflate is not null && PerMessageDeflate.TryAcceptOffer(request.SecWebSocketExtensions, deflate, out agreed, out string? response))
        {
            headers.Add(new("Sec-WebSocket-Extensions", response!));
        }

        return new WebSocketServerHandshake(SwitchingProtocols, null, headers, subprotocol, agreed);
    }

    private static WebSocketServerHandshake Refuse(int status, string error, params KeyValuePair<string, string>[] headers) =>
        new(status, error, headers);
}
