// How this file works
// -------------------
// Reads "Authorization: <scheme> <token68>" (RFC 9110 §11.4, §11.6.2) without allocating: the
// scheme is compared case-insensitively (§11.1), one or more spaces separate it from the
// credentials, and token68 is ALPHA / DIGIT / "-" "." "_" "~" "+" "/" followed by any "=".
// Anything else is malformed; an absent header or another scheme is "missing" to the caller.
namespace Meerkat.Http.Routing;

/// <summary>What an Authorization header holds for one scheme.</summary>
internal enum AuthorizationKind
{
    /// <summary>No Authorization header, or one for another scheme.</summary>
    Missing,

    /// <summary>The scheme matches but the credentials are not a token68.</summary>
    Malformed,

    /// <summary>The scheme matches and the credentials are a token68.</summary>
    Present,
}

internal static class AuthorizationHeader
{
    private const byte Space = (byte)' ';
    private const byte Equal = (byte)'=';

    /// <summary>Finds the credentials of <paramref name="scheme"/> in the request's Authorization header.</summary>
    public static AuthorizationKind Read(HttpRequest request, ReadOnlySpan<byte> scheme, out ReadOnlySpan<byte> credentials)
    {
        credentials = default;
        if (!request.TryGetHeader("Authorization"u8, out var value)) return AuthorizationKind.Missing;
        value = value.Trim(Space);
        if (value.Length < scheme.Length || !System.Text.Ascii.EqualsIgnoreCase(value[..scheme.Length], scheme)) return AuthorizationKind.Missing;
        var rest = value[scheme.Length..];
        if (rest.IsEmpty) return AuthorizationKind.Malformed;
        if (rest[0] != Space) return AuthorizationKind.Missing; // "Basicx ..." is another scheme
        credentials = rest.TrimStart(Space);
        return IsToken68(credentials) ? AuthorizationKind.Present : AuthorizationKind.Malformed;
    }

    /// <summary>token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" (RFC 9110 §11.2).</summary>
    private static bool IsToken68(ReadOnlySpan<byte> text)
    {
        int i = 0;
        while (i < text.Length && IsToken68Char(text[i])) i++;
        if (i == 0) return false;
        while (i < text.Length && text[i] == Equal) i++;
        return i == text.Length;
    }

    private static bool IsToken68Char(byte b) =>
        b is >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z' or >= (byte)'0' and <= (byte)'9'
            or (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~' or (byte)'+' or (byte)'/';

    /// <summary>A quoted-string for an auth-param value (RFC 9110 §5.6.4).</summary>
    public static string Quote(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
