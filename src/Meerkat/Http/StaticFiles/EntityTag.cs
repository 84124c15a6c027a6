// How this file works
// -------------------
// Entity tags (RFC 9110 §8.8.3). A file's tag is made from its length and last-write time,
// both in hex: "<len>-<ticks>"; a precompressed variant appends its content coding, so that
// the variant and the identity representation never share a tag (§8.8.3.3). We generate
// strong tags: a file rewritten within the same tick with the same length is the one case
// this misses, which every file server built on stat() accepts.
//
// Matching works on the raw header text without allocating a list: an entity-tag list
// (§13.1.1, §13.1.2) is scanned element by element, with OWS and empty elements allowed
// (§5.6.1). An element that is not a valid entity-tag is skipped.
namespace Meerkat.Http.StaticFiles;

/// <summary>Creates and compares HTTP entity tags (RFC 9110 §8.8.3).</summary>
internal static class EntityTag
{
    private const char Quote = '"';
    private const char ListSeparator = ',';
    private const string WeakPrefix = "W/";
    private const string Any = "*";

    /// <summary>Creates a strong entity tag from a file's length and last-write time.</summary>
    /// <param name="length">The length in bytes of the representation.</param>
    /// <param name="lastWriteUtc">The last-write time of the file.</param>
    /// <param name="contentCoding">A content coding (e.g. <c>br</c>) for a precompressed variant, or null.</param>
    /// <returns>A quoted tag such as <c>"1a2b-8dc4f3b2a1c0e00"</c>.</returns>
    public static string Create(long length, DateTimeOffset lastWriteUtc, string? contentCoding = null)
    {
        string core = $"{length:x}-{lastWriteUtc.UtcTicks:x}";
        return contentCoding is null ? $"\"{core}\"" : $"\"{core}-{contentCoding}\"";
    }

    /// <summary>
    /// Evaluates an If-Match style list against <paramref name="current"/> with the strong
    /// comparison function (RFC 9110 §8.8.3.2, §13.1.1). <c>*</c> matches any current tag.
    /// </summary>
    /// <param name="headerValue">The field value: <c>*</c> or a comma-separated entity-tag list.</param>
    /// <param name="current">The current strong tag of the representation, quoted.</param>
    /// <returns>True when some listed tag matches.</returns>
    public static bool MatchesStrong(string headerValue, string current) =>
        Matches(headerValue, current, weak: false);

    /// <summary>
    /// Evaluates an If-None-Match style list against <paramref name="current"/> with the weak
    /// comparison function (RFC 9110 §8.8.3.2, §13.1.2). <c>*</c> matches any current tag.
    /// </summary>
    /// <param name="headerValue">The field value: <c>*</c> or a comma-separated entity-tag list.</param>
    /// <param name="current">The current tag of the representation, quoted.</param>
    /// <returns>True when some listed tag matches.</returns>
    public static bool MatchesWeak(string headerValue, string current) =>
        Matches(headerValue, current, weak: true);

    /// <summary>Whether <paramref name="value"/> is one syntactically valid strong entity-tag.</summary>
    /// <param name="value">A trimmed field value such as the one of If-Range.</param>
    /// <returns>True for <c>"abc"</c>, false for <c>W/"abc"</c> or a date.</returns>
    public static bool IsStrongTag(ReadOnlySpan<char> value) =>
        value.Length >= 2 && value[0] == Quote && value[^1] == Quote && IsOpaqueTagText(value[1..^1]);

    private static bool Matches(string headerValue, string current, bool weak)
    {
        ReadOnlySpan<char> rest = headerValue.AsSpan().Trim();
        if (rest.SequenceEqual(Any))
        {
            return true;
        }
        ReadOnlySpan<char> currentOpaque = Opaque(current, out bool currentIsWeak);
        if (currentIsWeak && !weak)
        {
            return false;
        }
        while (!rest.IsEmpty)
        {
            int comma = rest.IndexOf(ListSeparator);
            ReadOnlySpan<char> element = (comma < 0 ? rest : rest[..comma]).Trim();
            rest = comma < 0 ? [] : rest[(comma + 1)..];
            ReadOnlySpan<char> opaque = Opaque(element, out bool isWeak);
            bool comparable = weak || !isWeak;
            if (comparable && IsStrongTag(opaque) && opaque.SequenceEqual(currentOpaque))
            {
                return true;
            }
        }
        return false;
    }

    // Returns the quoted opaque-tag part of an entity-tag and whether it had the W/ prefix.
    private static ReadOnlySpan<char> Opaque(ReadOnlySpan<char> tag, out bool isWeak)
    {
        isWeak = tag.StartsWith(WeakPrefix, StringComparison.Ordinal);
        return isWeak ? tag[WeakPrefix.Length..] : tag;
    }

    // etagc = %x21 / %x23-7E / obs-text (RFC 9110 §8.8.3).
    private static bool IsOpaqueTagText(ReadOnlySpan<char> text)
    {
        foreach (char c in text)
        {
            bool valid = c == '!' || (c >= '#' && c <= '~') || (c >= '\u0080' && c <= '\u00FF');
            if (!valid)
            {
                return false;
            }
        }
        return true;
    }
}
