// How this file works: the prefixed integers of RFC 7541 §5.1. A value that fits in the N-bit
// prefix is stored there; otherwise the prefix is all ones and the rest follows 7 bits per
// octet, least significant group first, the high bit saying "more follows". Decoding stops at
// int.MaxValue: longer or larger encodings are errors (§5.1: "exceed implementation limits").

namespace Meerkat.Http2.Hpack;

/// <summary>What decoding an integer found.</summary>
internal enum HpackIntegerStatus
{
    /// <summary>A value was read.</summary>
    Done,

    /// <summary>The input ended inside the integer.</summary>
    Truncated,

    /// <summary>The value does not fit in 31 bits (or uses more octets than such a value needs).</summary>
    Overflow,
}

/// <summary>Encodes and decodes HPACK prefixed integers.</summary>
internal static class HpackInteger
{
    /// <summary>Most continuation octets a value up to int.MaxValue needs after the prefix (5 × 7 = 35 bits ≥ 31).</summary>
    private const int MaxContinuationOctets = 5;

    /// <summary>
    /// Reads an integer whose prefix is the low <paramref name="prefixBits"/> bits of
    /// <c>source[0]</c> (the high bits belong to the representation and are ignored here).
    /// </summary>
    public static HpackIntegerStatus Decode(ReadOnlySpan<byte> source, int prefixBits, out int value, out int consumed)
    {
        value = 0;
        consumed = 0;
        if (source.IsEmpty) return HpackIntegerStatus.Truncated;
        int prefixMax = (1 << prefixBits) - 1;
        int prefix = source[0] & prefixMax;
        if (prefix < prefixMax)
        {
            value = prefix;
            consumed = 1;
            return HpackIntegerStatus.Done;
        }

        long result = prefixMax;
        for (int i = 1; i <= MaxContinuationOctets; i++)
        {
            if (i >= source.Length) return HpackIntegerStatus.Truncated;
            byte octet = source[i];
            result += (long)(octet & 0x7f) << (7 * (i - 1));
            if (result > int.MaxValue) return HpackIntegerStatus.Overflow;
            if ((octet & 0x80) == 0)
            {
                value = (int)result;
                consumed = i + 1;
                return HpackIntegerStatus.Done;
            }
        }

        return HpackIntegerStatus.Overflow;
    }

    /// <summary>Octets <paramref name="value"/> takes with an N-bit prefix.</summary>
    public static int EncodedLength(int value, int prefixBits)
    {
        int prefixMax = (1 << prefixBits) - 1;
        if (value < prefixMax) return 1;
        int length = 1;
        for (uint rest = (uint)(value - prefixMax); ; rest >>= 7)
        {
            length++;
            if (rest < 0x80) return length;
        }
    }

    /// <summary>
    /// Writes <paramref name="value"/> (≥ 0) with an N-bit prefix; <paramref name="firstOctetBits"/>
    /// are the representation's pattern bits above the prefix. Returns the octets written.
    /// </summary>
    public static int Encode(int value, int prefixBits, byte firstOctetBits, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        int prefixMax = (1 << prefixBits) - 1;
        if (value < prefixMax)
        {
            destination[0] = (byte)(firstOctetBits | value);
            return 1;
        }

        destination[0] = (byte)(firstOctetBits | prefixMax);
        uint rest = (uint)(value - prefixMax);
        int at = 1;
        while (rest >= 0x80)
        {
            destination[at++] = (byte)(rest | 0x80);
            rest >>= 7;
        }

        destination[at++] = (byte)rest;
        return at;
    }
}
