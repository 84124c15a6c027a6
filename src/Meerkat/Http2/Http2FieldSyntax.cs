// How this file works: the character and field rules of RFC 9113 §8.2 shared by what we accept
// (Http2FieldValidation) and what we send (Http2HeaderList).
//   names   §8.2.1: not empty; no 0x00-0x20, no uppercase 0x41-0x5a, no 0x7f-0xff; a colon only
//           as the first character of a pseudo-header field
//   values  §8.2.1: no NUL, CR or LF; no leading or trailing space or tab
//   fields  §8.2.2: connection-specific fields are not allowed; TE only with "trailers"
using System.Text;

namespace Meerkat.Http2;

/// <summary>Field name and value rules of HTTP/2.</summary>
internal static class Http2FieldSyntax
{
    /// <summary>True for a valid regular field name (pseudo-header names are checked by name).</summary>
    public static bool IsValidName(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty) return false;
        foreach (byte c in name)
        {
            if (c <= 0x20 || c is >= 0x41 and <= 0x5a || c >= 0x7f || c == (byte)':') return false;
        }

        return true;
    }

    /// <summary>True for a valid field value.</summary>
    public static bool IsValidValue(ReadOnlySpan<byte> value)
    {
        if (value.IndexOfAny((byte)0, (byte)'\r', (byte)'\n') >= 0) return false;
        return value.IsEmpty || !IsWhitespace(value[0]) && !IsWhitespace(value[^1]);
    }

    /// <summary>
    /// True for the fields RFC 9113 §8.2.2 forbids: Connection and the fields it would name
    /// (Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade). Case-insensitive, so that a
    /// caller can filter HTTP/1.1 headers before sending.
    /// </summary>
    public static bool IsConnectionSpecific(ReadOnlySpan<byte> name) =>
        Ascii.EqualsIgnoreCase(name, "connection"u8) || Ascii.EqualsIgnoreCase(name, "keep-alive"u8)
        || Ascii.EqualsIgnoreCase(name, "proxy-connection"u8) || Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8)
        || Ascii.EqualsIgnoreCase(name, "upgrade"u8);

    /// <summary>True when a TE field may be sent or accepted: its only value is "trailers" (§8.2.2).</summary>
    public static bool IsAllowedTe(ReadOnlySpan<byte> value) => Ascii.EqualsIgnoreCase(value, "trailers"u8);

    /// <summary>Parses a content-length value: decimal digits only, no sign, no list; -1 when invalid.</summary>
    public static long ParseContentLength(ReadOnlySpan<byte> value)
    {
        if (value.IsEmpty || value.Length > 18) return -1;
        long result = 0;
        foreach (byte c in value)
        {
            if (c is < (byte)'0' or > (byte)'9') return -1;
            result = result * 10 + (c - '0');
        }

        return result;
    }

    private static bool IsWhitespace(byte c) => c is (byte)' ' or (byte)'\t';
}
