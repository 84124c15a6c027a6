// How this file works: encodes field lines (RFC 7541 §6) one at a time into a block.
// For each field, in order of preference:
//   1. the whole field is in the static or dynamic table         -> indexed field (§6.1)
//   2. it is sensitive (authorization, short cookies, or the
//      caller says so)                                           -> literal never indexed (§6.2.3)
//   3. its value is unique per message (:path, content-length,
//      etag, location, set-cookie, ...) or too big for the table -> literal not indexed (§6.2.2)
//   4. otherwise                                                 -> literal added to the table (§6.2.1)
// A literal names its field by index when the name is in a table, and each string is Huffman
// coded unless that is longer (§5.2). The table's maximum follows the peer's
// SETTINGS_HEADER_TABLE_SIZE, capped by our own preference; a change is announced by a size
// update at the start of the next block, the smallest value first when it went down and back up
// in between (§4.2).
using System.Buffers;

namespace Meerkat.Http2.Hpack;

/// <summary>An HPACK encoder: one per connection, encoding every field block we send, in order.</summary>
internal sealed class HpackEncoder
{
    /// <summary>The table size every decoder starts with (SETTINGS_HEADER_TABLE_SIZE default).</summary>
    public const int DefaultTableSize = 4096;

    /// <summary>Cookies shorter than this are never indexed: guessing them is cheap (RFC 7541 §7.1.3).</summary>
    private const int ShortCookieLength = 20;

    private readonly HpackDynamicTable _table;
    private readonly int _preferredMaxSize;
    private int _smallestPendingSize = -1; // -1: no size update to announce

    /// <summary>Creates an encoder whose table is at most <paramref name="preferredMaxSize"/> octets.</summary>
    public HpackEncoder(int preferredMaxSize = DefaultTableSize)
    {
        _preferredMaxSize = preferredMaxSize;
        int size = Math.Min(preferredMaxSize, DefaultTableSize);
        _table = new HpackDynamicTable(size);
        if (size != DefaultTableSize) _smallestPendingSize = size;
    }

    /// <summary>The dynamic table (read by tests).</summary>
    public HpackDynamicTable Table => _table;

    /// <summary>Whether strings are Huffman coded unless that is longer (default); false sends them raw,
    /// trading bytes for CPU.</summary>
    public bool UsesHuffman { get; init; } = true;

    /// <summary>Whether fields whose values rarely repeat stay out of the table (default). False
    /// indexes every field that fits, as the examples of RFC 7541 Appendix C do.</summary>
    public bool IndexesSelectively { get; init; } = true;

    /// <summary>Applies the peer's SETTINGS_HEADER_TABLE_SIZE (RFC 9113 §6.5.2).</summary>
    public void SetPeerMaxTableSize(int peerMaxSize)
    {
        int size = Math.Min(peerMaxSize, _preferredMaxSize);
        if (size == _table.MaxSize && _smallestPendingSize < 0) return;
        _smallestPendingSize = _smallestPendingSize < 0 ? Math.Min(size, _table.MaxSize) : Math.Min(size, _smallestPendingSize);
        _table.SetMaxSize(size);
    }

    /// <summary>Starts a field block: writes the pending dynamic table size updates, if any.</summary>
    public void BeginBlock(IBufferWriter<byte> output)
    {
        if (_smallestPendingSize < 0) return;
        if (_smallestPendingSize < _table.MaxSize) WriteSizeUpdate(_smallestPendingSize, output);
        WriteSizeUpdate(_table.MaxSize, output);
        _smallestPendingSize = -1;
    }

    /// <summary>
    /// Encodes one field. The name must already be valid for HTTP/2 (lowercase, RFC 9113 §8.2.1).
    /// <paramref name="isSensitive"/> forces a never-indexed literal (§6.2.3).
    /// </summary>
    public void Encode(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool isSensitive, IBufferWriter<byte> output)
    {
        int staticIndex = HpackStaticTable.Find(name, value, out bool isStaticMatch);
        if (isStaticMatch)
        {
            WriteIndexed(staticIndex, output);
            return;
        }

        isSensitive |= IsSensitive(staticIndex, value);
        int dynamicIndex = isSensitive ? 0 : _table.Find(name, value, out bool isDynamicMatch) is int found && isDynamicMatch ? found : 0;
        if (dynamicIndex != 0)
        {
            WriteIndexed(HpackStaticTable.Count + dynamicIndex, output);
            return;
        }

        int nameIndex = staticIndex != 0 ? staticIndex : NameIndexInDynamicTable(name);
        int entrySize = name.Length + value.Length + HpackDynamicTable.EntryOverhead;
        if (isSensitive)
        {
            WriteLiteral(0x10, 4, nameIndex, name, value, output);
        }
        else if (IndexesSelectively && (IsUniquePerMessage(staticIndex) || entrySize > _table.MaxSize * 3 / 4) || entrySize > _table.MaxSize)
        {
            WriteLiteral(0x00, 4, nameIndex, name, value, output);
        }
        else
        {
            WriteLiteral(0x40, 6, nameIndex, name, value, output);
            _table.Add(name, value);
        }
    }

    private int NameIndexInDynamicTable(ReadOnlySpan<byte> name)
    {
        int index = _table.Find(name, default, out _);
        return index == 0 ? 0 : HpackStaticTable.Count + index;
    }

    /// <summary>authorization, proxy-authorization, short cookies (RFC 7541 §7.1.3).</summary>
    private static bool IsSensitive(int staticNameIndex, ReadOnlySpan<byte> value) =>
        staticNameIndex is 23 or 49 || staticNameIndex == 32 && value.Length < ShortCookieLength;

    /// <summary>Fields whose values rarely repeat, so that indexing them would only evict useful entries:
    /// :path, age, content-length, etag, if-modified-since, if-none-match, last-modified, location, set-cookie.</summary>
    private static bool IsUniquePerMessage(int staticNameIndex) => staticNameIndex is 4 or 5 or 21 or 28 or 34 or 40 or 41 or 44 or 46 or 55;

    private static void WriteIndexed(int index, IBufferWriter<byte> output)
    {
        Span<byte> span = output.GetSpan(6);
        output.Advance(HpackInteger.Encode(index, 7, 0x80, span));
    }

    private static void WriteSizeUpdate(int size, IBufferWriter<byte> output)
    {
        Span<byte> span = output.GetSpan(6);
        output.Advance(HpackInteger.Encode(size, 5, 0x20, span));
    }

    private void WriteLiteral(byte pattern, int prefixBits, int nameIndex, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, IBufferWriter<byte> output)
    {
        Span<byte> span = output.GetSpan(18 + name.Length + value.Length);
        int at = HpackInteger.Encode(nameIndex, prefixBits, pattern, span);
        if (nameIndex == 0) at += WriteString(name, span[at..]);
        at += WriteString(value, span[at..]);
        output.Advance(at);
    }

    /// <summary>A string literal (§5.2), Huffman coded unless that is longer (equal lengths go to Huffman, as in the RFC's examples).</summary>
    private int WriteString(ReadOnlySpan<byte> text, Span<byte> destination)
    {
        int huffmanLength = UsesHuffman ? HpackHuffman.EncodedLength(text) : int.MaxValue;
        if (huffmanLength <= text.Length)
        {
            int at = HpackInteger.Encode(huffmanLength, 7, 0x80, destination);
            return at + HpackHuffman.Encode(text, destination[at..]);
        }

        int start = HpackInteger.Encode(text.Length, 7, 0x00, destination);
        text.CopyTo(destination[start..]);
        return start + text.Length;
    }
}
