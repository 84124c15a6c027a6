// How this file works
// -------------------
// Evaluates the preconditions of a GET or HEAD on an existing representation, in the order
// RFC 9110 §13.2.2 prescribes:
//   1. If-Match            false -> 412
//   2. If-Unmodified-Since (only without If-Match; invalid date ignored) false -> 412
//   3. If-None-Match       false -> 304 for GET/HEAD (412 otherwise)
//   4. If-Modified-Since   (only without If-None-Match, only GET/HEAD; invalid date ignored) false -> 304
//   5. If-Range            decides whether a Range header applies (§13.1.5)
// Dates compare at one-second resolution because that is all an HTTP date carries.
namespace Meerkat.Http.StaticFiles;

/// <summary>The result of evaluating the preconditions of a request (RFC 9110 §13.2.2).</summary>
internal enum ConditionalOutcome
{
    /// <summary>All preconditions hold (or none were sent): perform the method.</summary>
    Proceed,

    /// <summary>Answer 304 Not Modified (RFC 9110 §15.4.5).</summary>
    NotModified,

    /// <summary>Answer 412 Precondition Failed (RFC 9110 §15.5.13).</summary>
    PreconditionFailed,
}

/// <summary>Evaluates conditional request header fields against a representation's validators.</summary>
internal static class ConditionalRequest
{
    /// <summary>Header field names read by <see cref="Evaluate"/> and <see cref="RangeApplies"/>.</summary>
    public const string IfMatch = "If-Match", IfNoneMatch = "If-None-Match",
        IfModifiedSince = "If-Modified-Since", IfUnmodifiedSince = "If-Unmodified-Since", IfRange = "If-Range";

    /// <summary>Evaluates If-Match, If-Unmodified-Since, If-None-Match and If-Modified-Since in RFC 9110 §13.2.2 order.</summary>
    /// <param name="method">The request method; GET and HEAD turn a failed If-None-Match into 304.</param>
    /// <param name="entityTag">The current quoted entity tag.</param>
    /// <param name="lastModified">The current last-modified time.</param>
    /// <param name="getRequestHeader">Returns a request header's (combined) value by name, or null.</param>
    /// <returns>What to answer.</returns>
    public static ConditionalOutcome Evaluate(
        string method, string entityTag, DateTimeOffset lastModified, Func<string, string?> getRequestHeader)
    {
        ArgumentNullException.ThrowIfNull(getRequestHeader);
        DateTimeOffset modified = HttpDate.TruncateToSeconds(lastModified);
        bool isGetOrHead = method is "GET" or "HEAD";

        string? ifMatch = getRequestHeader(IfMatch);
        if (ifMatch is not null)
        {
            if (!EntityTag.MatchesStrong(ifMatch, entityTag))
            {
                return ConditionalOutcome.PreconditionFailed;
            }
        }
        else if (HttpDate.TryParse(getRequestHeader(IfUnmodifiedSince), out DateTimeOffset unmodifiedSince)
            && modified > unmodifiedSince)
        {
            return ConditionalOutcome.PreconditionFailed;
        }

        string? ifNoneMatch = getRequestHeader(IfNoneMatch);
        if (ifNoneMatch is not null)
        {
            if (EntityTag.MatchesWeak(ifNoneMatch, entityTag))
            {
                return isGetOrHead ? ConditionalOutcome.NotModified : ConditionalOutcome.PreconditionFailed;
            }
        }
        else if (isGetOrHead
            && HttpDate.TryParse(getRequestHeader(IfModifiedSince), out DateTimeOffset modifiedSince)
            && modified <= modifiedSince)
        {
            return ConditionalOutcome.NotModified;
        }
        return ConditionalOutcome.Proceed;
    }

    /// <summary>
    /// Evaluates If-Range (RFC 9110 §13.1.5): a Range header applies only when If-Range is absent,
    /// or is a strong entity tag equal to <paramref name="entityTag"/>, or is an HTTP date exactly
    /// equal to <paramref name="lastModified"/>. A weak or malformed If-Range means "send it all".
    /// </summary>
    /// <param name="ifRange">The If-Range field value, or null.</param>
    /// <param name="entityTag">The current quoted entity tag.</param>
    /// <param name="lastModified">The current last-modified time.</param>
    /// <returns>True when the Range header should be honoured.</returns>
    public static bool RangeApplies(string? ifRange, string entityTag, DateTimeOffset lastModified)
    {
        if (ifRange is null)
        {
            return true;
        }
        ReadOnlySpan<char> value = ifRange.AsSpan().Trim();
        if (value.Length > 0 && (value[0] == '"' || value.StartsWith("W/", StringComparison.Ordinal)))
        {
            return EntityTag.IsStrongTag(value) && value.SequenceEqual(entityTag);
        }
        return HttpDate.TryParse(ifRange, out DateTimeOffset date) && date == HttpDate.TruncateToSeconds(lastModified);
    }
}
