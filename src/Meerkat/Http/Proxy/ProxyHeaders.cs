// How this file works: which header fields cross the proxy. RFC 9110 §7.6.1: a proxy removes the
// hop-by-hop fields (Connection, the fields Connection names, and the known connection-specific
// ones: Keep-Alive, Proxy-Connection, TE, Transfer-Encoding, Upgrade) before forwarding. Framing
// (Content-Length, Transfer-Encoding) and Host are rewritten by each side's own writer; Date is
// the downstream server's. The request gets X-Forwarded-For/-Proto/-Host and Via (§7.6.3).
using System.Text;
using Meerkat.Http.Client;

namespace Meerkat.Http.Proxy;

/// <summary>Header filtering and the forwarding fields of <see cref="ReverseProxy"/>.</summary>
internal static class ProxyHeaders
{
    private static readonly string[] HopByHop =
        ["Connection", "Keep-Alive", "Proxy-Connection", "TE", "Transfer-Encoding", "Upgrade", "Proxy-Authenticate", "Proxy-Authorization"];

    /// <summary>Copies the downstream request's end-to-end fields to <paramref name="upstream"/>, adds the
    /// forwarding fields, and for a tunnelled upgrade the Upgrade and Connection fields.</summary>
    public static void CopyRequest(HttpRequest request, HttpClientRequest upstream, ReverseProxyOptions options, string clientAddress, bool isHttps, string? upgrade)
    {
        var headers = request.Headers;
        string? connection = headers.GetString("Connection");
        string? forwardedFor = null, via = null;
        for (int i = 0; i < headers.Count; i++)
        {
            var name = headers.GetName(i);
            if (IsHopByHop(name, connection) || Is(name, "Host") || Is(name, "Content-Length") || Is(name, "Expect")) continue;
            if (options.AddForwardedHeaders && Is(name, "X-Forwarded-For")) { forwardedFor = Join(forwardedFor, headers.GetValueString(i)); continue; }
            if (options.AddForwardedHeaders && (Is(name, "X-Forwarded-Proto") || Is(name, "X-Forwarded-Host"))) continue;
            if (options.AddForwardedHeaders && Is(name, "Via")) { via = Join(via, headers.GetValueString(i)); continue; }
            upstream.Headers.Add(new(headers.GetNameString(i), headers.GetValueString(i)));
        }
        if (upgrade is not null)
        {
            upstream.Headers.Add(new("Connection", "Upgrade"));
            upstream.Headers.Add(new("Upgrade", upgrade));
        }
        if (!options.AddForwardedHeaders) return;
        upstream.Headers.Add(new("X-Forwarded-For", Join(forwardedFor, clientAddress)));
        upstream.Headers.Add(new("X-Forwarded-Proto", isHttps ? "https" : "http"));
        if (headers.GetString("Host") is { } host) upstream.Headers.Add(new("X-Forwarded-Host", host));
        upstream.Headers.Add(new("Via", Join(via, $"1.{request.VersionMinor} {options.ViaName}")));
    }

    /// <summary>The upstream response's end-to-end fields for the downstream response (Content-Type goes
    /// separately). For a 101, Upgrade and <c>Connection: Upgrade</c> are kept: they are the switch itself.</summary>
    public static (string Name, string Value)[] ResponseFields(HttpResponse response, out string? contentType)
    {
        contentType = null;
        string? connection = response.GetHeader("Connection");
        bool switching = response.StatusCode == 101;
        var kept = new List<(string, string)>(response.Headers.Count + 1);
        foreach (var (name, value) in response.Headers)
        {
            if (switching && name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase)) { kept.Add((name, value)); continue; }
            if (IsHopByHop(name, connection) || name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
                || name.Equals("Date", StringComparison.OrdinalIgnoreCase)) continue;
            if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase) && !switching) { contentType = value; continue; }
            kept.Add((name, value));
        }
        if (switching) kept.Add(("Connection", "Upgrade"));
        return [.. kept];
    }

    /// <summary>The protocol a request asks to switch to (RFC 9110 §7.8), when it asks with
    /// <c>Connection: upgrade</c>; null otherwise.</summary>
    public static string? RequestedUpgrade(HttpRequest request)
    {
        if (request.GetHeader("Upgrade") is not { Length: > 0 } upgrade) return null;
        return ListContains(request.GetHeader("Connection"), "upgrade") ? upgrade : null;
    }

    private static bool IsHopByHop(ReadOnlySpan<byte> name, string? connection)
    {
        Span<char> chars = stackalloc char[Math.Min(name.Length, 256)];
        if (name.Length > chars.Length) return false;
        Encoding.Latin1.GetChars(name, chars);
        return IsHopByHop(chars, connection);
    }

    private static bool IsHopByHop(ReadOnlySpan<char> name, string? connection)
    {
        foreach (var field in HopByHop)
            if (name.Equals(field, StringComparison.OrdinalIgnoreCase)) return true;
        return ListContains(connection, name);
    }

    /// <summary>Whether a comma-separated field value lists <paramref name="token"/> (case-insensitive).</summary>
    private static bool ListContains(string? list, ReadOnlySpan<char> token)
    {
        if (list is null) return false;
        foreach (var range in list.AsSpan().Split(','))
            if (list.AsSpan()[range].Trim(" \t").Equals(token, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    private static bool Is(ReadOnlySpan<byte> name, string field) => Ascii.EqualsIgnoreCase(name, field);

    private static string Join(string? list, string value) => list is null ? value : $"{list}, {value}";
}
