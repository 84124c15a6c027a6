// How this file works: decodes one whole field block (RFC 7541 §3, §6) into an HpackFieldList.
// Field representations by their first bits:
//   1xxxxxxx  indexed field (§6.1)                        index on 7 bits
//   01xxxxxx  literal, add to dynamic table (§6.2.1)      name index on 6 bits, 0 = literal name
//   001xxxxx  dynamic table size update (§6.3)            new maximum on 5 bits
//   0001xxxx  literal, never indexed (§6.2.3)             name index on 4 bits
//   0000xxxx  literal, not indexed (§6.2.2)               name index on 4 bits
// Size updates are only allowed before the first field of a block (§4.2), at most our
// advertised SETTINGS_HEADER_TABLE_SIZE; after we lower that setting and the peer acknowledges
// it, the next block must begin with an update that fits (§4.2). Any violation is a decoding
// error, which the connection turns into COMPRESSION_ERROR (RFC 9113 §4.3). Blocks are decoded
// whole (the connection collects HEADERS and CONTINUATION first), so running out of input in the
// middle of a representation is an error too, never "need more".
namespace Meerkat.Http2.Hpack;

/// <summary>Why a field block could not be decoded; every one is a COMPRESSION_ERROR.</summary>
internal enum HpackError
{
    /// <summary>The block decoded.</summary>
    None,

    /// <summary>The block ended inside a representation.</summary>
    Truncated,

    /// <summary>An integer larger than 2^31-1.</summary>
    IntegerOverflow,

    /// <summary>Index 0, or an index past the end of the dynamic table (§2.3.3).</summary>
    InvalidIndex,

    /// <summary>A Huffman string containing EOS or with invalid padding (§5.2).</summary>
    InvalidHuffman,

    /// <summary>A dynamic table size update after the first field of the block (§4.2).</summary>
    SizeUpdateNotAtStart,

    /// <summary>A dynamic table size update above SETTINGS_HEADER_TABLE_SIZE (§6.3).</summary>
    SizeUpdateTooLarge,

    /// <summary>The first block after SETTINGS_HEADER_TABLE_SIZE was lowered did not start with a fitting size update.</summary>
    SizeUpdateMissing,
}

/// <summary>An HPACK decoder: one per connection, fed every field block the peer sends, in order.</summary>
internal sealed class HpackDecoder
{
    private readonly HpackDynamicTable _table;
    private int _maxSizeLimit;
    private bool _isSizeUpdateRequired;

    /// <summary>Creates a decoder whose table may grow to <paramref name="maxTableSize"/> (our SETTINGS_HEADER_TABLE_SIZE).</summary>
    public HpackDecoder(int maxTableSize = 4096)
    {
        _maxSizeLimit = maxTableSize;
        _table = new HpackDynamicTable(maxTableSize);
    }

    /// <summary>The dynamic table (read by tests).</summary>
    public HpackDynamicTable Table => _table;

    /// <summary>
    /// Applies a SETTINGS_HEADER_TABLE_SIZE the peer has acknowledged. Lowered below the
    /// table's current maximum, the peer's next block must start with a size update (§4.2).
    /// </summary>
    public void SetMaxTableSizeLimit(int limit)
    {
        _maxSizeLimit = limit;
        if (_table.MaxSize > limit) _isSizeUpdateRequired = true;
    }

    /// <summary>Decodes a whole field block into <paramref name="fields"/> (cleared first).</summary>
    public HpackError Decode(ReadOnlySpan<byte> block, HpackFieldList fields)
    {
        fields.Clear();
        bool isAtStart = true;
        int at = 0;
        while (at < block.Length)
        {
            byte first = block[at];
            HpackError error;
            if ((first & 0xe0) == 0x20)
            {
                error = isAtStart ? DecodeSizeUpdate(block, ref at) : HpackError.SizeUpdateNotAtStart;
            }
            else if (_isSizeUpdateRequired)
            {
                error = HpackError.SizeUpdateMissing;
            }
            else
            {
                isAtStart = false;
                error = (first & 0x80) != 0 ? DecodeIndexed(block, ref at, fields)
                    : (first & 0xc0) == 0x40 ? DecodeLiteral(block, ref at, 6, fields, isIndexed: true, isNeverIndexed: false)
                    : DecodeLiteral(block, ref at, 4, fields, isIndexed: false, isNeverIndexed: (first & 0x10) != 0);
            }

            if (error != HpackError.None) return error;
        }

        return HpackError.None;
    }

    private HpackError DecodeSizeUpdate(ReadOnlySpan<byte> block, ref int at)
    {
        HpackError error = ReadInteger(block, ref at, 5, out int size);
        if (error != HpackError.None) return error;
        if (size > _maxSizeLimit) return HpackError.SizeUpdateTooLarge;
        _table.SetMaxSize(size);
        _isSizeUpdateRequired = false;
        return HpackError.None;
    }

    private HpackError DecodeIndexed(ReadOnlySpan<byte> block, ref int at, HpackFieldList fields)
    {
        HpackError error = ReadInteger(block, ref at, 7, out int index);
        if (error != HpackError.None) return error;
        if (!TryGetEntry(index, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)) return HpackError.InvalidIndex;
        if (fields.IsOverLimit)
        {
            fields.Commit(name.Length, value.Length, false); // counted, not stored
            return HpackError.None;
        }

        name.CopyTo(fields.GetFreeSpan(0, name.Length));
        value.CopyTo(fields.GetFreeSpan(name.Length, value.Length));
        fields.Commit(name.Length, value.Length, false);
        return HpackError.None;
    }

    private HpackError DecodeLiteral(ReadOnlySpan<byte> block, ref int at, int prefixBits, HpackFieldList fields, bool isIndexed, bool isNeverIndexed)
    {
        HpackError error = ReadInteger(block, ref at, prefixBits, out int nameIndex);
        if (error != HpackError.None) return error;
        int nameLength;
        if (nameIndex == 0)
        {
            error = ReadString(block, ref at, fields, 0, out nameLength);
            if (error != HpackError.None) return error;
        }
        else
        {
            if (!TryGetEntry(nameIndex, out ReadOnlySpan<byte> name, out _)) return HpackError.InvalidIndex;
            name.CopyTo(fields.GetFreeSpan(0, name.Length));
            nameLength = name.Length;
        }

        error = ReadString(block, ref at, fields, nameLength, out int valueLength);
        if (error != HpackError.None) return error;
        if (isIndexed) _table.Add(fields.GetFree(0, nameLength), fields.GetFree(nameLength, valueLength));
        fields.Commit(nameLength, valueLength, isNeverIndexed);
        return HpackError.None;
    }

    /// <summary>A string literal (§5.2) written into the list's free space at <paramref name="offset"/>.</summary>
    private static HpackError ReadString(ReadOnlySpan<byte> block, ref int at, HpackFieldList fields, int offset, out int length)
    {
        length = 0;
        if (at >= block.Length) return HpackError.Truncated;
        bool isHuffman = (block[at] & 0x80) != 0;
        HpackError error = ReadInteger(block, ref at, 7, out int encodedLength);
        if (error != HpackError.None) return error;
        if (encodedLength > block.Length - at) return HpackError.Truncated;
        ReadOnlySpan<byte> encoded = block.Slice(at, encodedLength);
        at += encodedLength;
        if (!isHuffman)
        {
            encoded.CopyTo(fields.GetFreeSpan(offset, encodedLength));
            length = encodedLength;
            return HpackError.None;
        }

        Span<byte> destination = fields.GetFreeSpan(offset, HpackHuffman.MaxDecodedLength(encodedLength));
        return HpackHuffman.TryDecode(encoded, destination, out length) ? HpackError.None : HpackError.InvalidHuffman;
    }

    private static HpackError ReadInteger(ReadOnlySpan<byte> block, ref int at, int prefixBits, out int value)
    {
        switch (HpackInteger.Decode(block[at..], prefixBits, out value, out int used))
        {
            case HpackIntegerStatus.Done:
                at += used;
                return HpackError.None;
            case HpackIntegerStatus.Truncated:
                return HpackError.Truncated;
            default:
                return HpackError.IntegerOverflow;
        }
    }

    private bool TryGetEntry(int index, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        if (index >= 1 && index <= HpackStaticTable.Count)
        {
            name = HpackStaticTable.Name(index);
            value = HpackStaticTable.Value(index);
            return true;
        }

        int dynamicIndex = index - HpackStaticTable.Count;
        if (index > HpackStaticTable.Count && dynamicIndex <= _table.Count)
        {
            _table.Get(dynamicIndex, out name, out value);
            return true;
        }

        name = value = default;
        return false;
    }
}
