// How this file works
// -------------------
// Percent-decoding (RFC 3986 §2.1) of URL path segments and form fields, into a caller's buffer,
// without allocating. "%" must be followed by two hex digits, or the input is malformed. In
// application/x-www-form-urlencoded data "+" stands for a space (WHATWG URL, "urlencoded
// parsing"), so form decoding asks for that; paths do not. The decoded form is never longer than
// the encoded one, so a destination as long as the source always suffices.
namespace Meerkat.Http;

/// <summary>Percent-decoding of URL components into a caller's buffer.</summary>
internal static class PercentDecoding
{
    private const byte Percent = (byte)'%';
    private const byte Plus = (byte)'+';
    private const byte Space = (byte)' ';
    private const int EscapeLength = 3;

    /// <summary>Decodes <paramref name="source"/> into <paramref name="destination"/> (at least as long).</summary>
    /// <returns>False when an escape is not "%" and two hex digits.</returns>
    public static bool TryDecode(ReadOnlySpan<byte> source, Span<byte> destination, out int written, bool plusIsSpace = false)
    {
        written = 0;
        for (int i = 0; i < source.Length; i++)
        {
            byte b = source[i];
            if (b == Percent)
            {
                if (i + EscapeLength > source.Length) return false;
                int high = HexValue(source[i + 1]), low = HexValue(source[i + 2]);
                if ((high | low) < 0) return false;
                b = (byte)((high << 4) | low);
                i += EscapeLength - 1;
            }
            else if (b == Plus && plusIsSpace)
            {
                b = Space;
            }
            destination[written++] = b;
        }
        return true;
    }

    /// <summary>True when decoding would change <paramref name="source"/> (it has an escape, or a "+" in form data).</summary>
    public static bool NeedsDecoding(ReadOnlySpan<byte> source, bool plusIsSpace = false) =>
        plusIsSpace ? source.IndexOfAny(Percent, Plus) >= 0 : source.IndexOf(Percent) >= 0;

    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };
}
