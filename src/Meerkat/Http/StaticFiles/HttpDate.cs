// How this file works
// -------------------
// HTTP dates (RFC 9110 §5.6.7). We always *send* IMF-fixdate
// ("Sun, 06 Nov 1994 08:49:37 GMT") and *accept* all three formats a recipient must
// understand: IMF-fixdate, the obsolete RFC 850 form and ANSI C asctime(). Parsing never
// throws: an invalid date is reported as false so that callers can ignore the header, as
// RFC 9110 §13.1.3/§13.1.4 require for If-Modified-Since and If-Unmodified-Since.
using System.Globalization;

namespace Meerkat.Http.StaticFiles;

/// <summary>Formats and parses HTTP dates (RFC 9110 §5.6.7).</summary>
internal static class HttpDate
{
    private const string ImfFixdate = "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'";
    private const string Rfc850Date = "dddd, dd-MMM-yy HH':'mm':'ss 'GMT'";
    private const string AsctimeDate = "ddd MMM d HH':'mm':'ss yyyy";
    private const string AsctimeDatePadded = "ddd MMM  d HH':'mm':'ss yyyy";

    private static readonly string[] AcceptedFormats = [ImfFixdate, Rfc850Date, AsctimeDate, AsctimeDatePadded];

    /// <summary>Formats <paramref name="time"/> as an IMF-fixdate, truncated to whole seconds.</summary>
    /// <param name="time">The instant to format; converted to UTC.</param>
    /// <returns>For example <c>Sun, 06 Nov 1994 08:49:37 GMT</c>.</returns>
    public static string Format(DateTimeOffset time) =>
        time.UtcDateTime.ToString(ImfFixdate, CultureInfo.InvariantCulture);

    /// <summary>Parses an HTTP date in any of the three RFC 9110 §5.6.7 formats.</summary>
    /// <param name="value">The header value; surrounding whitespace is ignored.</param>
    /// <param name="time">The parsed instant (UTC) when the method returns true.</param>
    /// <returns>False when <paramref name="value"/> is null or not a valid HTTP date.</returns>
    public static bool TryParse(string? value, out DateTimeOffset time)
    {
        time = default;
        if (value is null)
        {
            return false;
        }
        bool parsed = DateTime.TryParseExact(
            value.Trim(),
            AcceptedFormats,
            CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal,
            out DateTime utc);
        if (parsed)
        {
            time = new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Utc));
        }
        return parsed;
    }

    /// <summary>Truncates <paramref name="time"/> to whole seconds, the resolution of HTTP dates.</summary>
    /// <param name="time">Any instant.</param>
    /// <returns>The same instant in UTC without its sub-second part.</returns>
    public static DateTimeOffset TruncateToSeconds(DateTimeOffset time)
    {
        long utcTicks = time.UtcTicks;
        return new DateTimeOffset(utcTicks - (utcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
    }
}
