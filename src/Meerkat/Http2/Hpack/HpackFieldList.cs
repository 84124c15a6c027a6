// How this file works: the decoded field lines of one field block, copied into one byte array
// that is reused block after block (a warm list allocates nothing). The decoder writes a field's
// name and value into the free space after the committed bytes, then commits it, or, when the
// list is over its size limit, leaves it uncommitted: the decoder still has to decode every
// field to keep its dynamic table in step with the peer's encoder (RFC 9113 §10.5.1), but a
// field block cannot make us store more than the limit.
namespace Meerkat.Http2.Hpack;

/// <summary>Decoded field lines, in order, as views over one reusable buffer.</summary>
internal sealed class HpackFieldList
{
    private byte[] _bytes;
    private Field[] _fields = new Field[16];

    private readonly record struct Field(int Start, int NameLength, int ValueLength, bool IsNeverIndexed);

    /// <summary>Creates an empty list that stores at most <paramref name="maxSize"/> (as RFC 9113 §6.5.2 counts).</summary>
    public HpackFieldList(int maxSize, int initialCapacity = 1024)
    {
        MaxSize = maxSize;
        _bytes = new byte[initialCapacity];
    }

    /// <summary>Largest field section stored, counted as name + value + 32 per field (SETTINGS_MAX_HEADER_LIST_SIZE).</summary>
    public int MaxSize { get; set; }

    /// <summary>Fields stored.</summary>
    public int Count { get; private set; }

    /// <summary>The section's size as §6.5.2 counts it, including fields not stored once over the limit.</summary>
    public long Size { get; private set; }

    /// <summary>True when the section exceeded <see cref="MaxSize"/>: the fields past the limit were decoded but not stored.</summary>
    public bool IsOverLimit => Size > MaxSize;

    /// <summary>Octets of names and values stored.</summary>
    public int ByteLength { get; private set; }

    /// <summary>The storage the names and values view; valid until the next <see cref="Clear"/>.</summary>
    public ReadOnlyMemory<byte> Buffer => _bytes.AsMemory(0, ByteLength);

    /// <summary>The name of field <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> GetName(int index)
    {
        Field f = At(index);
        return _bytes.AsSpan(f.Start, f.NameLength);
    }

    /// <summary>The value of field <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> GetValue(int index)
    {
        Field f = At(index);
        return _bytes.AsSpan(f.Start + f.NameLength, f.ValueLength);
    }

    /// <summary>Where field <paramref name="index"/>'s name starts in <see cref="Buffer"/>.</summary>
    public int GetNameStart(int index) => At(index).Start;

    /// <summary>True when the peer sent the field as "never indexed" (RFC 7541 §6.2.3): re-encode it so.</summary>
    public bool IsNeverIndexed(int index) => At(index).IsNeverIndexed;

    /// <summary>Forgets every field; the storage is kept for the next block.</summary>
    public void Clear()
    {
        Count = 0;
        ByteLength = 0;
        Size = 0;
    }

    /// <summary>Free space of at least <paramref name="length"/> octets starting <paramref name="offset"/> octets after the stored bytes.</summary>
    internal Span<byte> GetFreeSpan(int offset, int length)
    {
        int needed = ByteLength + offset + length;
        if (needed > _bytes.Length) Array.Resize(ref _bytes, Math.Max(needed, 2 * _bytes.Length));
        return _bytes.AsSpan(ByteLength + offset, length);
    }

    /// <summary>The bytes written after the stored ones (name then value), before <see cref="Commit"/>.</summary>
    internal ReadOnlySpan<byte> GetFree(int offset, int length) => _bytes.AsSpan(ByteLength + offset, length);

    /// <summary>
    /// Counts a field whose name and value were written to the free space (name first), and stores
    /// it unless that takes the section over <see cref="MaxSize"/>.
    /// </summary>
    internal void Commit(int nameLength, int valueLength, bool isNeverIndexed)
    {
        Size += nameLength + valueLength + HpackDynamicTable.EntryOverhead;
        if (IsOverLimit) return;
        if (Count == _fields.Length) Array.Resize(ref _fields, 2 * _fields.Length);
        _fields[Count++] = new Field(ByteLength, nameLength, valueLength, isNeverIndexed);
        ByteLength += nameLength + valueLength;
    }

    private Field At(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        return _fields[index];
    }
}
