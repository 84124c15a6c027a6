// How this file works
// -------------------
// Extracts and validates the boundary parameter of a multipart Content-Type
// (RFC 2046 §5.1.1): 1 to 70 "bchars" (digits, letters, '()+_,-./:=? and space), not ending
// in a space, quoted or not. Being strict here is what makes the streaming reader simple:
// a boundary never contains CR, so a delimiter can only begin at a CR.
namespace Meerkat.Http.Multipart;

/// <summary>Reads the boundary from a multipart Content-Type header (RFC 2046 §5.1.1).</summary>
internal static class MultipartBoundary
{
    /// <summary>The longest boundary RFC 2046 allows.</summary>
    public const int MaxLength = 70;

    private const string MultipartPrefix = "multipart/";
    private const string BoundaryParameter = "boundary";
    private const string OtherBChars = "'()+_,-./:=? ";

    /// <summary>Gets the boundary of a <c>multipart/*</c> Content-Type value.</summary>
    /// <param name="contentType">The request's Content-Type value, e.g. <c>multipart/form-data; boundary="abc"</c>.</param>
    /// <param name="boundary">The boundary without quotes when the method returns <see cref="MultipartError.None"/>.</param>
    /// <returns><see cref="MultipartError.None"/>, <see cref="MultipartError.NotMultipart"/>,
    /// <see cref="MultipartError.MissingBoundary"/> or <see cref="MultipartError.InvalidBoundary"/>.</returns>
    public static MultipartError TryParse(string? contentType, out string boundary)
    {
        boundary = "";
        if (contentType is null || !HeaderParameters.MainValue(contentType).StartsWith(MultipartPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return MultipartError.NotMultipart;
        }
        if (!HeaderParameters.TryGet(contentType, BoundaryParameter, out string value) || value.Length == 0)
        {
            return MultipartError.MissingBoundary;
        }
        if (!IsValid(value))
        {
            return MultipartError.InvalidBoundary;
        }
        boundary = value;
        return MultipartError.None;
    }

    /// <summary>Whether <paramref name="boundary"/> is 1-70 bchars not ending in a space (RFC 2046 §5.1.1).</summary>
    /// <param name="boundary">A candidate boundary, unquoted.</param>
    /// <returns>True when valid.</returns>
    public static bool IsValid(string boundary)
    {
        ArgumentNullException.ThrowIfNull(boundary);
        if (boundary.Length is 0 or > MaxLength || boundary[^1] == ' ')
        {
            return false;
        }
        foreach (char c in boundary)
        {
            if (!char.IsAsciiLetterOrDigit(c) && !OtherBChars.Contains(c, StringComparison.Ordinal))
            {
                return false;
            }
        }
        return true;
    }
}
