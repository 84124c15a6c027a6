// How this file works
// -------------------
// Checks a request's Content-Type against the media type a body reader understands (RFC 9110
// §8.3.1: type and subtype are case-insensitive; parameters follow ";"). A structured-syntax
// suffix (RFC 6838 §4.2.8) widens the match: "application/problem+json" is JSON. A charset
// parameter, when present, must be UTF-8 (or US-ASCII, a subset), the only encoding the readers
// decode; anything else is refused like a wrong type (415).
using Meerkat.Http.Multipart;

namespace Meerkat.Http;

internal static class ContentType
{
    /// <summary>True when <paramref name="contentType"/> is <paramref name="mediaType"/> (or <c>*/*</c> +
    /// <paramref name="suffix"/>) with no charset or a UTF-8 one; otherwise <paramref name="problem"/> says why.</summary>
    public static bool Accepts(string? contentType, string mediaType, string? suffix, out string problem)
    {
        problem = "";
        if (contentType is null)
        {
            problem = $"The request has no Content-Type; expected {mediaType}.";
            return false;
        }
        var main = HeaderParameters.MainValue(contentType);
        bool typeMatches = main.Equals(mediaType, StringComparison.OrdinalIgnoreCase)
            || suffix is not null && main.EndsWith(suffix, StringComparison.OrdinalIgnoreCase) && main.IndexOf('/') > 0;
        if (!typeMatches)
        {
            problem = $"The Content-Type is {main}; expected {mediaType}.";
            return false;
        }
        if (HeaderParameters.TryGet(contentType, "charset", out string charset)
            && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !charset.Equals("us-ascii", StringComparison.OrdinalIgnoreCase))
        {
            problem = $"The charset {charset} is not supported; send UTF-8.";
            return false;
        }
        return true;
    }
}
