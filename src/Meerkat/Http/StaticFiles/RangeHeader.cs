// How this file works
// -------------------
// Parses a Range header (RFC 9110 §14.2) against a representation of known length.
//   Range: bytes=N-M     first-pos N to last-pos M (M clamped to length-1, §14.1.2)
//   Range: bytes=N-      from N to the end
//   Range: bytes=-N      the last N bytes (suffix; -0 is unsatisfiable, §14.1.3)
// Outcomes:
//   Ignore        -> send 200 with the whole representation. Used for an absent, malformed
//                    or invalid header (N > M), a unit other than "bytes" (§14.2: a server
//                    MAY ignore it), and for more than one range: we choose not to produce
//                    multipart/byteranges (§14.6), which §14.2 permits.
//   Satisfiable   -> 206 with Content-Range: bytes S-E/LEN.
//   Unsatisfiable -> 416 with Content-Range: bytes */LEN (§15.5.17).
// Numbers longer than a long saturate instead of overflowing: a huge first-pos is simply
// unsatisfiable, a huge last-pos or suffix-length covers the whole representation.
namespace Meerkat.Http.StaticFiles;

/// <summary>What a Range header asks for, evaluated against a length.</summary>
internal enum RangeKind
{
    /// <summary>No usable single byte range: send the whole representation (200).</summary>
    Ignore,

    /// <summary>One satisfiable range: send 206 with <see cref="ByteRange.Start"/> and <see cref="ByteRange.Length"/>.</summary>
    Satisfiable,

    /// <summary>The range cannot be satisfied: send 416 with <c>Content-Range: bytes */LEN</c>.</summary>
    Unsatisfiable,
}

/// <summary>The evaluation of a Range header against a representation of known length.</summary>
/// <param name="Kind">What to send.</param>
/// <param name="Start">First byte offset, meaningful when <paramref name="Kind"/> is <see cref="RangeKind.Satisfiable"/>.</param>
/// <param name="Length">Number of bytes, meaningful when <paramref name="Kind"/> is <see cref="RangeKind.Satisfiable"/>.</param>
internal readonly record struct ByteRange(RangeKind Kind, long Start, long Length)
{
    /// <summary>The offset of the last byte of a satisfiable range.</summary>
    public long End => Start + Length - 1;

    /// <summary>The Content-Range value for this range of a representation of <paramref name="totalLength"/> bytes (RFC 9110 §14.4).</summary>
    /// <param name="totalLength">The complete length of the representation.</param>
    /// <returns><c>bytes S-E/LEN</c> when satisfiable, otherwise <c>bytes */LEN</c>.</returns>
    public string ContentRange(long totalLength) =>
        Kind == RangeKind.Satisfiable ? $"bytes {Start}-{End}/{totalLength}" : $"bytes */{totalLength}";
}

/// <summary>Parses the Range request header (RFC 9110 §14.2).</summary>
internal static class RangeHeader
{
    /// <summary>The Range header field name.</summary>
    public const string Name = "Range";

    private const string BytesUnit = "bytes";
    private const char UnitSeparator = '=';
    private const char ListSeparator = ',';
    private const char PosSeparator = '-';

    private static readonly ByteRange Ignore = new(RangeKind.Ignore, 0, 0);
    private static readonly ByteRange Unsatisfiable = new(RangeKind.Unsatisfiable, 0, 0);

    /// <summary>Evaluates a Range field value against a representation of <paramref name="length"/> bytes.</summary>
    /// <param name="value">The Range field value, or null when absent.</param>
    /// <param name="length">The length of the selected representation.</param>
    /// <returns>Ignore, one satisfiable range, or unsatisfiable. Never throws on peer input.</returns>
    public static ByteRange Evaluate(string? value, long length)
    {
        if (value is null || !TrySplitUnit(value, out ReadOnlySpan<char> rangeSet))
        {
            return Ignore;
        }
        ReadOnlySpan<char> single = default;
        int count = 0;
        foreach (Range part in rangeSet.Split(ListSeparator))
        {
            ReadOnlySpan<char> element = rangeSet[part].Trim(' ').Trim('\t');
            if (!element.IsEmpty)
            {
                single = element;
                count++;
            }
        }
        return count == 1 ? EvaluateSpec(single, length) : Ignore;
    }

    private static bool TrySplitUnit(string value, out ReadOnlySpan<char> rangeSet)
    {
        ReadOnlySpan<char> span = value.AsSpan().Trim();
        int equals = span.IndexOf(UnitSeparator);
        rangeSet = equals < 0 ? default : span[(equals + 1)..];
        return equals >= 0 && span[..equals].Equals(BytesUnit, StringComparison.OrdinalIgnoreCase);
    }

    // int-range = first-pos "-" [ last-pos ]; suffix-range = "-" suffix-length (§14.1.1).
    private static ByteRange EvaluateSpec(ReadOnlySpan<char> spec, long length)
    {
        int dash = spec.IndexOf(PosSeparator);
        if (dash < 0)
        {
            return Ignore;
        }
        ReadOnlySpan<char> first = spec[..dash];
        ReadOnlySpan<char> last = spec[(dash + 1)..];
        if (first.IsEmpty)
        {
            return TryParseDigits(last, out long suffix) ? Suffix(suffix, length) : Ignore;
        }
        if (!TryParseDigits(first, out long firstPos))
        {
            return Ignore;
        }
        long lastPos = long.MaxValue;
        if (!last.IsEmpty && (!TryParseDigits(last, out lastPos) || lastPos < firstPos))
        {
            return Ignore;
        }
        if (firstPos >= length)
        {
            return Unsatisfiable;
        }
        long end = Math.Min(lastPos, length - 1);
        return new ByteRange(RangeKind.Satisfiable, firstPos, end - firstPos + 1);
    }

    private static ByteRange Suffix(long suffixLength, long length)
    {
        if (suffixLength == 0 || length == 0)
        {
            return Unsatisfiable;
        }
        long take = Math.Min(suffixLength, length);
        return new ByteRange(RangeKind.Satisfiable, length - take, take);
    }

    // 1*DIGIT, saturating at long.MaxValue rather than overflowing.
    private static bool TryParseDigits(ReadOnlySpan<char> digits, out long value)
    {
        value = 0;
        if (digits.IsEmpty)
        {
            return false;
        }
        foreach (char c in digits)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
            int digit = c - '0';
            value = value > (long.MaxValue - digit) / 10 ? long.MaxValue : (value * 10) + digit;
        }
        return true;
    }
}
