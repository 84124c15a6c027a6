// How this file works: an ordered list of field lines stored as (start, length) ranges into one
// buffer, so parsing copies nothing. The arrays grow on demand and are reused across messages,
// so a warmed-up list allocates nothing. Spans handed out view the bound buffer directly.
using System.Text;

namespace Meerkat.Http;

/// <summary>
/// The header (or trailer) fields of one message, in the order received, as views over the
/// buffer the reader parsed. Names keep their original case; values are trimmed of leading and
/// trailing whitespace (RFC 9110 §5.5).
/// </summary>
/// <remarks>
/// Spans returned here are valid only while the caller's input buffer is unchanged: in practice
/// until the caller discards the bytes the reader reported as consumed, or calls the reader again.
/// Copy what must outlive that (for example with the allocating <c>string</c> conveniences).
/// </remarks>
public sealed class HttpHeaders
{
    private const int InitialCapacity = 16;
    private FieldRange[] _fields = new FieldRange[InitialCapacity];
    private ReadOnlyMemory<byte> _buffer;

    private readonly record struct FieldRange(int NameStart, int NameLength, int ValueStart, int ValueLength);

    /// <summary>Number of fields.</summary>
    public int Count { get; private set; }

    /// <summary>The name of field <paramref name="index"/> (0 ≤ index &lt; <see cref="Count"/>).</summary>
    public ReadOnlySpan<byte> GetName(int index)
    {
        FieldRange f = Field(index);
        return _buffer.Span.Slice(f.NameStart, f.NameLength);
    }

    /// <summary>The trimmed value of field <paramref name="index"/> (0 ≤ index &lt; <see cref="Count"/>).</summary>
    public ReadOnlySpan<byte> GetValue(int index)
    {
        FieldRange f = Field(index);
        return _buffer.Span.Slice(f.ValueStart, f.ValueLength);
    }

    /// <summary>Finds the first field named <paramref name="name"/> (ASCII case-insensitive). Allocation-free.</summary>
    public bool TryGetValue(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        ReadOnlySpan<byte> buffer = _buffer.Span;
        for (int i = 0; i < Count; i++)
        {
            FieldRange f = _fields[i];
            if (f.NameLength == name.Length && Ascii.EqualsIgnoreCase(buffer.Slice(f.NameStart, f.NameLength), name))
            {
                value = buffer.Slice(f.ValueStart, f.ValueLength);
                return true;
            }
        }
        value = default;
        return false;
    }

    /// <summary>True when a field named <paramref name="name"/> is present (ASCII case-insensitive).</summary>
    public bool Contains(ReadOnlySpan<byte> name) => TryGetValue(name, out _);

    /// <summary>The first value of <paramref name="name"/> as a new string (Latin-1), or null. Allocates.</summary>
    public string? GetString(string name)
    {
        Span<byte> ascii = name.Length <= 256 ? stackalloc byte[name.Length] : new byte[name.Length];
        if (Encoding.ASCII.GetBytes(name, ascii) != name.Length) return null;
        return TryGetValue(ascii, out ReadOnlySpan<byte> value) ? Encoding.Latin1.GetString(value) : null;
    }

    /// <summary>The name of field <paramref name="index"/> as a new string. Allocates.</summary>
    public string GetNameString(int index) => Encoding.Latin1.GetString(GetName(index));

    /// <summary>The value of field <paramref name="index"/> as a new string (Latin-1). Allocates.</summary>
    public string GetValueString(int index) => Encoding.Latin1.GetString(GetValue(index));

    internal void Clear()
    {
        Count = 0;
        _buffer = default;
    }

    internal void Bind(ReadOnlyMemory<byte> buffer) => _buffer = buffer;

    internal void Add(int nameStart, int nameLength, int valueStart, int valueLength)
    {
        if (Count == _fields.Length) Array.Resize(ref _fields, _fields.Length * 2);
        _fields[Count++] = new FieldRange(nameStart, nameLength, valueStart, valueLength);
    }

    /// <summary>Name and value of field <paramref name="index"/> over an explicit buffer (used while parsing, before binding).</summary>
    internal void Get(int index, ReadOnlySpan<byte> buffer, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        FieldRange f = _fields[index];
        name = buffer.Slice(f.NameStart, f.NameLength);
        value = buffer.Slice(f.ValueStart, f.ValueLength);
    }

    internal Range ValueRange(int index) => new(_fields[index].ValueStart, _fields[index].ValueStart + _fields[index].ValueLength);

    private FieldRange Field(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        return _fields[index];
    }
}
