// How this file works: negotiation of the permessage-deflate extension (RFC 7692 §5, §7.1).
//
// Server: the offers in Sec-WebSocket-Extensions are tried in the client's order of preference;
// an offer with an unknown, duplicated or malformed parameter is declined (§5.1 "MUST decline"),
// and so is an offer with server_max_window_bits below 15, because .NET's DeflateStream can only
// compress with a 15-bit window and §7.1.2.1 would oblige us to compress with the smaller one.
// The first acceptable offer wins; none acceptable means the extension is not used.
//
// Client: the offer never carries client_max_window_bits, so a server cannot legally ask us for
// a window we cannot honour (§7.1.2.2: a server MUST NOT send it unless offered); a response that
// does anyway, or that breaks any other rule, fails the connection.
//
// Decompression always uses a 15-bit window, which handles any window the peer chose.
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Meerkat.WebSockets;

/// <summary>What an endpoint asks for when it negotiates permessage-deflate (RFC 7692).</summary>
public sealed class PerMessageDeflateOptions
{
    /// <summary>Largest window a peer may ask for (RFC 7692 §7.1.2).</summary>
    public const int MaxWindowBits = 15;

    /// <summary>Smallest window a peer may ask for (RFC 7692 §7.1.2).</summary>
    public const int MinWindowBits = 8;

    /// <summary>Ask the server to reset its compression context after each message. Default false.</summary>
    public bool ServerNoContextTakeover { get; init; }

    /// <summary>Ask (or, on a client, promise) that the client resets its context after each message. Default false.</summary>
    public bool ClientNoContextTakeover { get; init; }

    /// <summary>
    /// Client: ask the server to compress with at most this window (8-15, default 15 = no request).
    /// Server: must stay 15, since .NET cannot compress with a smaller window.
    /// </summary>
    public int ServerMaxWindowBits { get; init; } = MaxWindowBits;

    /// <summary>
    /// Server: ask the client to compress with at most this window when it offered to accept that
    /// (8-15, default 15 = no request). Client: must stay 15.
    /// </summary>
    public int ClientMaxWindowBits { get; init; } = MaxWindowBits;

    /// <summary>Compression level for outgoing messages. Default <see cref="CompressionLevel.Fastest"/>.</summary>
    public CompressionLevel CompressionLevel { get; init; } = CompressionLevel.Fastest;
}

/// <summary>The agreed permessage-deflate parameters of one connection.</summary>
/// <param name="ServerNoContextTakeover">The server resets its compressor after each message.</param>
/// <param name="ClientNoContextTakeover">The client resets its compressor after each message.</param>
/// <param name="ServerMaxWindowBits">Window the server compresses with (8-15).</param>
/// <param name="ClientMaxWindowBits">Window the client compresses with (8-15).</param>
/// <param name="CompressionLevel">Our compression level.</param>
public sealed record PerMessageDeflateParameters(
    bool ServerNoContextTakeover,
    bool ClientNoContextTakeover,
    int ServerMaxWindowBits = PerMessageDeflateOptions.MaxWindowBits,
    int ClientMaxWindowBits = PerMessageDeflateOptions.MaxWindowBits,
    CompressionLevel CompressionLevel = CompressionLevel.Fastest)
{
    /// <summary>True when the endpoint playing <paramref name="role"/> resets its compressor per message.</summary>
    public bool IsCompressorResetPerMessage(WebSocketRole role) =>
        role == WebSocketRole.Server ? ServerNoContextTakeover : ClientNoContextTakeover;

    /// <summary>True when the endpoint playing <paramref name="role"/> may drop its inflate window per message.</summary>
    public bool IsDecompressorResetPerMessage(WebSocketRole role) =>
        role == WebSocketRole.Server ? ClientNoContextTakeover : ServerNoContextTakeover;
}

/// <summary>Negotiates permessage-deflate in Sec-WebSocket-Extensions (RFC 7692 §7.1).</summary>
internal static class PerMessageDeflate
{
    /// <summary>The extension name.</summary>
    public const string ExtensionName = "permessage-deflate";

    private const string ServerNoContextTakeover = "server_no_context_takeover";
    private const string ClientNoContextTakeover = "client_no_context_takeover";
    private const string ServerMaxWindowBits = "server_max_window_bits";
    private const string ClientMaxWindowBits = "client_max_window_bits";

    /// <summary>The empty stored block a sync flush ends with (RFC 7692 §7.2.1).</summary>
    internal static ReadOnlySpan<byte> FlushMarker => [0x00, 0x00, 0xFF, 0xFF];

    /// <summary>Client: the Sec-WebSocket-Extensions value to offer.</summary>
    /// <exception cref="ArgumentException">The options ask for something we cannot honour.</exception>
    public static string CreateOffer(PerMessageDeflateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ClientMaxWindowBits != PerMessageDeflateOptions.MaxWindowBits)
        {
            throw new ArgumentException("A client cannot compress with a window smaller than 15 bits (.NET's DeflateStream).", nameof(options));
        }

        ValidateWindow(options.ServerMaxWindowBits, nameof(options));
        var offer = new StringBuilder(ExtensionName);
        AppendIf(offer, options.ClientNoContextTakeover, ClientNoContextTakeover);
        AppendIf(offer, options.ServerNoContextTakeover, ServerNoContextTakeover);
        if (options.ServerMaxWindowBits < PerMessageDeflateOptions.MaxWindowBits)
        {
            offer.Append("; ").Append(ServerMaxWindowBits).Append('=').Append(options.ServerMaxWindowBits.ToString(CultureInfo.InvariantCulture));
        }

        return offer.ToString();
    }

    /// <summary>
    /// Server: picks the first acceptable permessage-deflate offer in <paramref name="offers"/>
    /// (the request's Sec-WebSocket-Extensions value, several header lines joined with commas).
    /// </summary>
    /// <param name="offers">The offered extensions, or null.</param>
    /// <param name="options">What this server wants.</param>
    /// <param name="parameters">The agreement, when one was found.</param>
    /// <param name="response">The Sec-WebSocket-Extensions value to answer with, when one was found.</param>
    /// <returns>True when an offer was accepted.</returns>
    public static bool TryAcceptOffer(string? offers, PerMessageDeflateOptions options, out PerMessageDeflateParameters? parameters, out string? response)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ServerMaxWindowBits != PerMessageDeflateOptions.MaxWindowBits)
        {
            throw new ArgumentException("A server cannot compress with a window smaller than 15 bits (.NET's DeflateStream).", nameof(options));
        }

        ValidateWindow(options.ClientMaxWindowBits, nameof(options));
        foreach (ExtensionHeader.Extension offer in ExtensionHeader.Parse(offers))
        {
            if (offer.Name.Equals(ExtensionName, StringComparison.OrdinalIgnoreCase)
                && TryParseParameters(offer, out Agreement offered, out _)
                && TryAccept(offered, options, out parameters, out response))
            {
                return true;
            }
        }

        parameters = null;
        response = null;
        return false;
    }

    /// <summary>
    /// Client: checks the server's Sec-WebSocket-Extensions value against what was offered.
    /// </summary>
    /// <param name="response">The response's Sec-WebSocket-Extensions value, or null.</param>
    /// <param name="offered">The options the offer was made from, or null when nothing was offered.</param>
    /// <param name="parameters">The agreement; null when the server declined the extension.</param>
    /// <param name="error">Why the response is unacceptable.</param>
    /// <returns>False when the connection must fail.</returns>
    public static bool TryAcceptResponse(string? response, PerMessageDeflateOptions? offered, out PerMessageDeflateParameters? parameters, out string? error)
    {
        parameters = null;
        error = null;
        List<ExtensionHeader.Extension> extensions = ExtensionHeader.Parse(response);
        if (extensions.Count == 0)
        {
            return true;
        }

        if (offered is null || extensions.Count > 1 || !extensions[0].Name.Equals(ExtensionName, StringComparison.OrdinalIgnoreCase))
        {
            error = "the server accepted an extension that was not offered";
            return false;
        }

        if (!TryParseParameters(extensions[0], out Agreement agreed, out error))
        {
            return false;
        }

        error = CheckResponse(agreed, offered);
        if (error is not null)
        {
            return false;
        }

        parameters = new PerMessageDeflateParameters(
            agreed.ServerNoContextTakeover,
            agreed.ClientNoContextTakeover,
            agreed.ServerMaxWindowBits ?? PerMessageDeflateOptions.MaxWindowBits,
            PerMessageDeflateOptions.MaxWindowBits,
            offered.CompressionLevel);
        return true;
    }

    private static string? CheckResponse(Agreement agreed, PerMessageDeflateOptions offered)
    {
        if (agreed.HasClientMaxWindowBits)
        {
            return "the server sent client_max_window_bits, which was not offered (RFC 7692 §7.1.2.2)";
        }

        if (offered.ServerNoContextTakeover && !agreed.ServerNoContextTakeover)
        {
            return "the server dropped server_no_context_takeover from the offer (RFC 7692 §7.1.1.1)";
        }

        bool askedForWindow = offered.ServerMaxWindowBits < PerMessageDeflateOptions.MaxWindowBits;
        if (askedForWindow && (agreed.ServerMaxWindowBits is null || agreed.ServerMaxWindowBits > offered.ServerMaxWindowBits))
        {
            return "the server did not honour the offered server_max_window_bits (RFC 7692 §7.1.2.1)";
        }

        return null;
    }

    private static bool TryAccept(Agreement offered, PerMessageDeflateOptions options, out PerMessageDeflateParameters? parameters, out string? response)
    {
        parameters = null;
        response = null;
        if (offered.ServerMaxWindowBits < PerMessageDeflateOptions.MaxWindowBits)
        {
            return false; // we would have to compress with a smaller window: decline (see header)
        }

        bool serverReset = offered.ServerNoContextTakeover || options.ServerNoContextTakeover;
        bool clientReset = offered.ClientNoContextTakeover || options.ClientNoContextTakeover;
        int clientWindow = PerMessageDeflateOptions.MaxWindowBits;
        var answer = new StringBuilder(ExtensionName);
        AppendIf(answer, serverReset, ServerNoContextTakeover);
        AppendIf(answer, clientReset, ClientNoContextTakeover);
        if (offered.ServerMaxWindowBits is not null)
        {
            answer.Append("; ").Append(ServerMaxWindowBits).Append('=').Append(PerMessageDeflateOptions.MaxWindowBits.ToString(CultureInfo.InvariantCulture));
        }

        if (offered.HasClientMaxWindowBits && options.ClientMaxWindowBits < PerMessageDeflateOptions.MaxWindowBits)
        {
            clientWindow = Math.Min(options.ClientMaxWindowBits, offered.ClientMaxWindowBits ?? PerMessageDeflateOptions.MaxWindowBits);
            answer.Append("; ").Append(ClientMaxWindowBits).Append('=').Append(clientWindow.ToString(CultureInfo.InvariantCulture));
        }

        parameters = new PerMessageDeflateParameters(serverReset, clientReset, PerMessageDeflateOptions.MaxWindowBits, clientWindow, options.CompressionLevel);
        response = answer.ToString();
        return true;
    }

    /// <summary>Parses and checks parameters (RFC 7692 §7.1): unknown, duplicate or bad values fail.</summary>
    private static bool TryParseParameters(ExtensionHeader.Extension extension, out Agreement agreed, out string? error)
    {
        agreed = default;
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach ((string name, string? value) in extension.Parameters)
        {
            error = !seen.Add(name) ? $"duplicate parameter {name}" : ApplyParameter(ref agreed, name, value);
            if (error is not null)
            {
                return false;
            }
        }

        error = null;
        return true;
    }

    private static string? ApplyParameter(ref Agreement agreed, string name, string? value)
    {
        switch (name.ToLowerInvariant())
        {
            case ServerNoContextTakeover:
                agreed.ServerNoContextTakeover = true;
                return value is null ? null : $"{name} takes no value";
            case ClientNoContextTakeover:
                agreed.ClientNoContextTakeover = true;
                return value is null ? null : $"{name} takes no value";
            case ServerMaxWindowBits:
                agreed.ServerMaxWindowBits = ParseWindow(value);
                return agreed.ServerMaxWindowBits is null ? $"{name} needs a value from 8 to 15" : null;
            case ClientMaxWindowBits:
                agreed.HasClientMaxWindowBits = true;
                agreed.ClientMaxWindowBits = ParseWindow(value);
                return value is not null && agreed.ClientMaxWindowBits is null ? $"{name} needs a value from 8 to 15" : null;
            default:
                return $"unknown parameter {name}";
        }
    }

    /// <summary>A window size: 1*DIGIT from 8 to 15 without leading zeros (RFC 7692 §7.1.2.1).</summary>
    private static int? ParseWindow(string? value)
    {
        if (value is null || value.Length is 0 or > 2 || value[0] == '0' || !int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int bits))
        {
            return null;
        }

        return bits is >= PerMessageDeflateOptions.MinWindowBits and <= PerMessageDeflateOptions.MaxWindowBits ? bits : null;
    }

    private static void ValidateWindow(int bits, string parameterName)
    {
        if (bits is < PerMessageDeflateOptions.MinWindowBits or > PerMessageDeflateOptions.MaxWindowBits)
        {
            throw new ArgumentException($"A window must be 8 to 15 bits, not {bits}.", parameterName);
        }
    }

    private static void AppendIf(StringBuilder builder, bool condition, string parameter)
    {
        if (condition)
        {
            builder.Append("; ").Append(parameter);
        }
    }

    /// <summary>The parameters of one offer or response.</summary>
    private struct Agreement
    {
        public bool ServerNoContextTakeover;
        public bool ClientNoContextTakeover;
        public int? ServerMaxWindowBits;
        public bool HasClientMaxWindowBits;
        public int? ClientMaxWindowBits;
    }
}
