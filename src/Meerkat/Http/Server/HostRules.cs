// How this file works: RFC 9112 §3.2's rule for the Host field, checked once per request head.
// "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1 request message that
// lacks a Host header field and to any request message that contains more than one Host header
// field line or a Host header field with an invalid field value."
// Host = uri-host [ ":" port ] (RFC 9110 §7.2), uri-host = IP-literal / IPv4address / reg-name
// (RFC 3986 §3.2.2). An empty value is valid (a target without an authority, §3.2).
using System.Buffers;
using static Meerkat.Http.HttpSyntax;

namespace Meerkat.Http;

/// <summary>The Host field rules of RFC 9112 §3.2.</summary>
internal static class HostRules
{
    private const byte OpenBracket = (byte)'[', CloseBracket = (byte)']', Percent = (byte)'%';

    /// <summary>Every byte a reg-name may hold (unreserved, sub-delims, and '%' of pct-encoded).</summary>
    private static readonly SearchValues<byte> RegNameBytes =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=%"u8);

    /// <summary>None, or why the request must get 400. The head's fields were counted by
    /// <see cref="MessageFraming.Decide"/> (<see cref="HttpHead.HostFields"/>).</summary>
    public static HttpError Check(HttpHead head)
    {
        var (count, index) = head.HostFields;
        if (count > 1) return HttpError.DuplicateHost;
        if (count == 0) return head.VersionMinor >= 1 ? HttpError.MissingHost : HttpError.None;
        return IsValidHost(head.Headers.GetValue(index)) ? HttpError.None : HttpError.InvalidHost;
    }

    /// <summary>uri-host [ ":" port ].</summary>
    public static bool IsValidHost(ReadOnlySpan<byte> value)
    {
        if (value.IsEmpty) return true;
        ReadOnlySpan<byte> port;
        if (value[0] == OpenBracket)
        {
            int close = value.IndexOf(CloseBracket);
            if (close < 0 || !IsIpLiteral(value[1..close])) return false;
            var rest = value[(close + 1)..];
            if (rest.IsEmpty) return true;
            if (rest[0] != Colon) return false;
            port = rest[1..];
        }
        else
        {
            int colon = value.IndexOf(Colon);
            var host = colon < 0 ? value : value[..colon];
            if (host.IsEmpty || !IsRegName(host)) return false; // IPv4address is a reg-name too
            port = colon < 0 ? default : value[(colon + 1)..];
        }
        return !port.ContainsAnyExceptInRange((byte)'0', (byte)'9');
    }

    /// <summary>reg-name = *( unreserved / pct-encoded / sub-delims ).</summary>
    private static bool IsRegName(ReadOnlySpan<byte> host)
    {
        if (host.ContainsAnyExcept(RegNameBytes)) return false;
        if (!host.Contains(Percent)) return true;
        for (int i = 0; i < host.Length; i++)
        {
            byte b = host[i];
            if (b == Percent)
            {
                if (i + 2 >= host.Length || HexValue(host[i + 1]) < 0 || HexValue(host[i + 2]) < 0) return false;
                i += 2;
            }
            else if (!IsUnreserved(b) && !IsSubDelimiter(b)) return false;
        }
        return true;
    }

    /// <summary>The inside of "[...]": an IPv6address (hex digits, ':' and '.') or an IPvFuture
    /// ("v" HEXDIG "." then unreserved / sub-delims / ":").</summary>
    private static bool IsIpLiteral(ReadOnlySpan<byte> inside)
    {
        if (inside.IsEmpty) return false;
        if (inside[0] is (byte)'v' or (byte)'V')
        {
            foreach (byte b in inside[1..])
                if (!IsUnreserved(b) && !IsSubDelimiter(b) && b != Colon) return false;
            return inside.Contains(Dot);
        }
        foreach (byte b in inside)
            if (HexValue(b) < 0 && b != Colon && b != Dot) return false;
        return inside.Contains(Colon);
    }

    private static bool IsUnreserved(byte b) => char.IsAsciiLetterOrDigit((char)b) || b is (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~';

    private static bool IsSubDelimiter(byte b) => b is (byte)'!' or (byte)'$' or (byte)'&' or (byte)'\'' or (byte)'(' or (byte)')'
        or (byte)'*' or (byte)'+' or (byte)',' or (byte)';' or (byte)'=';
}
