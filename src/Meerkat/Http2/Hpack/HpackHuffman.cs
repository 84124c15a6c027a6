// How this file works: the static Huffman code of RFC 7541 Appendix B. The RFC's code is
// canonical (Appendix B says so), so the code of every symbol follows from the code lengths
// alone: symbols sorted by (length, value) take consecutive codes, shifted left whenever the
// length grows. Only those 257 lengths are written here; the codes are derived once.
//
// Decoding reads bits through a 64-bit window. Codes of up to FastBits bits (every symbol
// common in headers: letters, digits, most punctuation) are resolved with one table lookup;
// longer ones by the canonical rule (for each length L, the first L bits are a code of length L
// when they fall in [first code of L, first code of L + count of L)). Bits past the end of the
// input read as ones, which is what lets the end-of-string rules of §5.2 fall out of one check:
// a code that needs more bits than remain is padding, valid only when it is at most 7 bits and
// all ones (a prefix of EOS). EOS itself inside a string is an error.
namespace Meerkat.Http2.Hpack;

/// <summary>HPACK Huffman coding (RFC 7541 §5.2, Appendix B).</summary>
internal static class HpackHuffman
{
    private const int EndOfString = 256;
    private const int FastBits = 11;
    private const int MaxCodeLength = 30;

    private static readonly uint[] Codes = new uint[257];
    private static readonly ushort[] FastTable = new ushort[1 << FastBits];
    private static readonly uint[] FirstCode = new uint[MaxCodeLength + 1];
    private static readonly int[] CountOfLength = new int[MaxCodeLength + 1];
    private static readonly int[] OffsetOfLength = new int[MaxCodeLength + 1];
    private static readonly ushort[] SymbolsByCode = new ushort[257];

    /// <summary>Code length in bits of each symbol 0–255 and EOS (256), from RFC 7541 Appendix B.</summary>
    private static ReadOnlySpan<byte> CodeLengths =>
    [
        13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,  // 0-15
        28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,  // 16-31
        6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,          // 32-47
        5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,               // 48-63
        13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,                 // 64-79
        7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,              // 80-95
        15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,                 // 96-111
        6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,             // 112-127
        20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,  // 128-143
        24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,  // 144-159
        22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,  // 160-175
        21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,  // 176-191
        26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,  // 192-207
        19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,  // 208-223
        20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,  // 224-239
        26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,  // 240-255
        30,                                                              // EOS
    ];

    static HpackHuffman()
    {
        // Canonical assignment: symbols in (length, value) order take consecutive codes.
        ReadOnlySpan<byte> lengths = CodeLengths;
        int next = 0;
        uint code = 0;
        for (int length = 1; length <= MaxCodeLength; length++)
        {
            FirstCode[length] = code;
            OffsetOfLength[length] = next;
            for (int symbol = 0; symbol <= EndOfString; symbol++)
            {
                if (lengths[symbol] != length) continue;
                Codes[symbol] = code++;
                SymbolsByCode[next++] = (ushort)symbol;
                CountOfLength[length]++;
            }

            code <<= 1;
        }

        for (int symbol = 0; symbol < EndOfString; symbol++)
        {
            int length = lengths[symbol];
            if (length > FastBits) continue;
            int first = (int)(Codes[symbol] << (FastBits - length));
            for (int i = 0; i < 1 << (FastBits - length); i++) FastTable[first + i] = (ushort)(length << 9 | symbol);
        }
    }

    /// <summary>The code of <paramref name="symbol"/> (0–256), right-aligned, and its length in bits.</summary>
    public static (uint Code, int Length) CodeOf(int symbol) => (Codes[symbol], CodeLengths[symbol]);

    /// <summary>Octets the Huffman encoding of <paramref name="source"/> takes.</summary>
    public static int EncodedLength(ReadOnlySpan<byte> source)
    {
        ReadOnlySpan<byte> lengths = CodeLengths;
        long bits = 0;
        foreach (byte octet in source) bits += lengths[octet];
        return (int)((bits + 7) >> 3);
    }

    /// <summary>The most octets <paramref name="encodedLength"/> octets can decode to (the shortest code is 5 bits).</summary>
    public static int MaxDecodedLength(int encodedLength) => (int)((long)encodedLength * 8 / 5);

    /// <summary>
    /// Encodes <paramref name="source"/>; <paramref name="destination"/> must hold
    /// <see cref="EncodedLength"/> octets. The last octet is padded with the high bits of EOS (ones).
    /// </summary>
    public static int Encode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        ReadOnlySpan<byte> lengths = CodeLengths;
        ulong bits = 0;
        int bitCount = 0;
        int written = 0;
        foreach (byte octet in source)
        {
            int length = lengths[octet];
            bits = bits << length | Codes[octet];
            bitCount += length;
            while (bitCount >= 8)
            {
                bitCount -= 8;
                destination[written++] = (byte)(bits >> bitCount);
            }
        }

        if (bitCount > 0) destination[written++] = (byte)(bits << (8 - bitCount) | (0xffu >> bitCount));
        return written;
    }

    /// <summary>
    /// Decodes <paramref name="source"/> into <paramref name="destination"/> (sized with
    /// <see cref="MaxDecodedLength"/>). False when the string contains EOS, or ends with padding
    /// longer than 7 bits or not all ones (RFC 7541 §5.2).
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> source, Span<byte> destination, out int written)
    {
        written = 0;
        ulong bits = 0; // unread bits, left-aligned
        int bitCount = 0;
        int next = 0;
        while (true)
        {
            while (bitCount <= 56 && next < source.Length)
            {
                bits |= (ulong)source[next++] << (56 - bitCount);
                bitCount += 8;
            }

            if (bitCount == 0) return true;
            ulong window = bitCount < 64 ? bits | ulong.MaxValue >> bitCount : bits;
            Lookup(window, out int symbol, out int length);
            if (length > bitCount)
            {
                // What remains is padding: at most 7 bits, all ones.
                return bitCount <= 7 && bits >> (64 - bitCount) == (1UL << bitCount) - 1;
            }

            if (symbol == EndOfString || written == destination.Length) return false;
            destination[written++] = (byte)symbol;
            bits <<= length;
            bitCount -= length;
        }
    }

    private static void Lookup(ulong window, out int symbol, out int length)
    {
        int fast = FastTable[(int)(window >> (64 - FastBits))];
        if (fast != 0)
        {
            symbol = fast & 0x1ff;
            length = fast >> 9;
            return;
        }

        uint top = (uint)(window >> 32);
        for (length = FastBits + 1; length <= MaxCodeLength; length++)
        {
            uint code = top >> (32 - length);
            uint index = code - FirstCode[length];
            if (index < (uint)CountOfLength[length])
            {
                symbol = SymbolsByCode[OffsetOfLength[length] + (int)index];
                return;
            }
        }

        // Unreachable: the code is complete, so 30 bits always hold a code (EOS at worst).
        symbol = EndOfString;
        length = MaxCodeLength;
    }
}
