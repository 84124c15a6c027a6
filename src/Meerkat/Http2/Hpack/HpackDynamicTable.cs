// How this file works: the dynamic table of RFC 7541 §2.3.2 and §4. Entries are FIFO: added at
// the newest end, evicted from the oldest, and addressed newest-first (index 1 = newest).
//   bytes:   the names and values, appended in insertion order; the live bytes are one run
//            [offset of the oldest entry, end). When the run reaches the end of the array it is
//            moved to the front. The array holds twice the maximum size, so that move happens at
//            most once per maximum size of bytes added: a warm table never allocates.
//   entries: a ring of (offset, name length, value length), oldest at `oldest`.
// Size is counted as §4.1 says: name length + value length + 32 per entry. Adding an entry
// larger than the maximum empties the table (§4.4). Callers pass names and values that do not
// live in this table (a name referenced from an entry this add evicts would be overwritten).
namespace Meerkat.Http2.Hpack;

/// <summary>An HPACK dynamic table, used by one decoder or one encoder.</summary>
internal sealed class HpackDynamicTable
{
    /// <summary>Octets each entry counts beyond its name and value (RFC 7541 §4.1).</summary>
    public const int EntryOverhead = 32;

    private byte[] _bytes = [];
    private int _end;
    private Entry[] _entries = [];
    private int _oldest;

    private readonly record struct Entry(int Offset, int NameLength, int ValueLength)
    {
        public int Size => NameLength + ValueLength + EntryOverhead;
    }

    /// <summary>Creates an empty table with a maximum size.</summary>
    public HpackDynamicTable(int maxSize) => SetMaxSize(maxSize);

    /// <summary>Number of entries.</summary>
    public int Count { get; private set; }

    /// <summary>The table size as §4.1 counts it.</summary>
    public int Size { get; private set; }

    /// <summary>The maximum size (§4.2), set by a dynamic table size update.</summary>
    public int MaxSize { get; private set; }

    /// <summary>Changes the maximum size, evicting the oldest entries until the table fits.</summary>
    public void SetMaxSize(int maxSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxSize);
        MaxSize = maxSize;
        EvictUntilFits(0);
        if (_bytes.Length < 2 * maxSize || _entries.Length < maxSize / EntryOverhead + 1) Reallocate(maxSize);
    }

    /// <summary>Adds an entry as the newest, evicting as needed (§4.4).</summary>
    public void Add(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        int size = name.Length + value.Length + EntryOverhead;
        if (size > MaxSize)
        {
            EvictUntilFits(MaxSize + 1); // empties the table
            return;
        }

        EvictUntilFits(size);
        int length = name.Length + value.Length;
        if (_bytes.Length - _end < length) MoveLiveBytesToFront();
        name.CopyTo(_bytes.AsSpan(_end));
        value.CopyTo(_bytes.AsSpan(_end + name.Length));
        _entries[(_oldest + Count) % _entries.Length] = new Entry(_end, name.Length, value.Length);
        _end += length;
        Count++;
        Size += size;
    }

    /// <summary>Entry <paramref name="index"/>, 1 being the newest (1 ≤ index ≤ <see cref="Count"/>).</summary>
    public void Get(int index, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        Entry entry = EntryAt(index);
        name = _bytes.AsSpan(entry.Offset, entry.NameLength);
        value = _bytes.AsSpan(entry.Offset + entry.NameLength, entry.ValueLength);
    }

    /// <summary>
    /// The newest entry equal to (<paramref name="name"/>, <paramref name="value"/>) with
    /// <paramref name="isExactMatch"/> true; else the newest with that name; else 0.
    /// </summary>
    public int Find(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, out bool isExactMatch)
    {
        isExactMatch = false;
        int nameMatch = 0;
        for (int index = 1; index <= Count; index++)
        {
            Entry entry = EntryAt(index);
            if (entry.NameLength != name.Length || !name.SequenceEqual(_bytes.AsSpan(entry.Offset, entry.NameLength))) continue;
            if (entry.ValueLength == value.Length && value.SequenceEqual(_bytes.AsSpan(entry.Offset + entry.NameLength, entry.ValueLength)))
            {
                isExactMatch = true;
                return index;
            }

            if (nameMatch == 0) nameMatch = index;
        }

        return nameMatch;
    }

    private Entry EntryAt(int index)
    {
        if ((uint)(index - 1) >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), "no such dynamic table entry");
        return _entries[(_oldest + Count - index) % _entries.Length];
    }

    /// <summary>Evicts the oldest entries until <paramref name="room"/> more octets fit under the maximum.</summary>
    private void EvictUntilFits(int room)
    {
        while (Count > 0 && Size + room > MaxSize)
        {
            Size -= _entries[_oldest].Size;
            _oldest = (_oldest + 1) % _entries.Length;
            Count--;
        }

        if (Count == 0) _end = 0;
    }

    private void MoveLiveBytesToFront()
    {
        int start = _entries[_oldest].Offset;
        _bytes.AsSpan(start, _end - start).CopyTo(_bytes);
        _end -= start;
        for (int i = 0; i < Count; i++)
        {
            int slot = (_oldest + i) % _entries.Length;
            _entries[slot] = _entries[slot] with { Offset = _entries[slot].Offset - start };
        }
    }

    private void Reallocate(int maxSize)
    {
        var bytes = new byte[2 * maxSize];
        var entries = new Entry[maxSize / EntryOverhead + 1];
        int end = 0;
        for (int i = 0; i < Count; i++)
        {
            Entry entry = _entries[(_oldest + i) % _entries.Length];
            _bytes.AsSpan(entry.Offset, entry.NameLength + entry.ValueLength).CopyTo(bytes.AsSpan(end));
            entries[i] = entry with { Offset = end };
            end += entry.NameLength + entry.ValueLength;
        }

        _bytes = bytes;
        _entries = entries;
        _oldest = 0;
        _end = end;
    }
}
