// How this file works: a server writes the same few header fields from strings on every response
// (the Content-Type of its handler, its Server name), and they are the same string instances each
// time. This keeps the last few such lines, encoded and checked, keyed by the references of their
// name and value (a string never changes, so the same two references always make the same line).
// A miss encodes and checks as before and then overwrites the oldest slot in place: the cache
// allocates its slots once per thread and nothing after, whatever strings a handler passes.
namespace Meerkat.Http;

/// <summary>Recently written <c>name: value\r\n</c> lines from strings, one cache per thread.</summary>
internal sealed class FieldLineCache
{
    private const int Slots = 4;
    private const int MaxLineLength = 128;

    [ThreadStatic] private static FieldLineCache? t_current;

    private readonly string?[] _names = new string?[Slots];
    private readonly string?[] _values = new string?[Slots];
    private readonly byte[] _lines = new byte[Slots * MaxLineLength];
    private readonly int[] _lengths = new int[Slots];
    private int _oldest;

    /// <summary>This thread's cache.</summary>
    public static FieldLineCache Current => t_current ??= new FieldLineCache();

    /// <summary>The line for exactly these two string instances, if it is cached.</summary>
    public bool TryGet(string name, string value, out ReadOnlySpan<byte> line)
    {
        for (int i = 0; i < Slots; i++)
        {
            if (ReferenceEquals(_names[i], name) && ReferenceEquals(_values[i], value))
            {
                line = _lines.AsSpan(i * MaxLineLength, _lengths[i]);
                return true;
            }
        }
        line = default;
        return false;
    }

    /// <summary>Keeps the checked line <paramref name="name"/>: <paramref name="value"/> (Latin-1 bytes) for
    /// these two strings, unless it is too long to be worth a slot.</summary>
    public void Add(string name, string value, ReadOnlySpan<byte> nameBytes, ReadOnlySpan<byte> valueBytes)
    {
        int length = nameBytes.Length + valueBytes.Length + 4;
        if (length > MaxLineLength) return;
        int slot = _oldest;
        _oldest = (_oldest + 1) % Slots;
        Span<byte> line = _lines.AsSpan(slot * MaxLineLength, MaxLineLength);
        nameBytes.CopyTo(line);
        ": "u8.CopyTo(line[nameBytes.Length..]);
        valueBytes.CopyTo(line[(nameBytes.Length + 2)..]);
        "\r\n"u8.CopyTo(line[(length - 2)..]);
        (_names[slot], _values[slot], _lengths[slot]) = (name, value, length);
    }
}
