// How this file works: the fields of a header section we are about to send, copied into one
// reusable byte array as they are added (so strings cost no allocation: chars are narrowed to
// Latin-1 in place). Names are lowercased on the way in, so handlers written for HTTP/1.1
// ("Content-Type") work unchanged; anything HTTP/2 cannot carry (connection-specific fields,
// invalid characters, pseudo-header fields after regular ones) throws at once, naming the
// field: it is the caller's mistake, not the peer's (STYLE.md §11).
using System.Text;

namespace Meerkat.Http2;

/// <summary>A header or trailer section to send on an HTTP/2 stream; reusable after <see cref="Clear"/>.</summary>
internal sealed class Http2HeaderList
{
    private byte[] _bytes = new byte[512];
    private Field[] _fields = new Field[16];
    private int _byteLength;
    private int _pseudoCount;

    private readonly record struct Field(int Start, int NameLength, int ValueLength, bool IsSensitive);

    /// <summary>Number of fields.</summary>
    public int Count { get; private set; }

    /// <summary>The (lowercase) name of field <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> GetName(int index) => _bytes.AsSpan(_fields[index].Start, _fields[index].NameLength);

    /// <summary>The value of field <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> GetValue(int index) => _bytes.AsSpan(_fields[index].Start + _fields[index].NameLength, _fields[index].ValueLength);

    /// <summary>True when field <paramref name="index"/> must never enter a compression table.</summary>
    public bool IsSensitive(int index) => _fields[index].IsSensitive;

    /// <summary>Removes every field; the storage is kept.</summary>
    public void Clear()
    {
        Count = 0;
        _byteLength = 0;
        _pseudoCount = 0;
    }

    /// <summary>Adds a field from strings (Latin-1); the name is lowercased.</summary>
    /// <exception cref="ArgumentException">The field cannot be sent in HTTP/2 (the message says why).</exception>
    public Http2HeaderList Add(string name, string value, bool isSensitive = false)
    {
        Span<byte> bytes = Reserve(name.Length + value.Length); // one reservation: a second could move the array
        if (!TryNarrow(name, bytes) || !TryNarrow(value, bytes[name.Length..]))
            throw new ArgumentException($"field '{name}' has characters outside Latin-1", nameof(name));
        return Commit(name.Length, value.Length, isSensitive);
    }

    /// <summary>Adds a field from bytes; the name is lowercased.</summary>
    /// <exception cref="ArgumentException">The field cannot be sent in HTTP/2 (the message says why).</exception>
    public Http2HeaderList Add(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool isSensitive = false)
    {
        Span<byte> bytes = Reserve(name.Length + value.Length);
        name.CopyTo(bytes);
        value.CopyTo(bytes[name.Length..]);
        return Commit(name.Length, value.Length, isSensitive);
    }

    /// <summary>Adds :status (a three-digit code, 101 excluded: HTTP/2 has no protocol switch, §8.6).</summary>
    public Http2HeaderList AddStatus(int status)
    {
        if (status is < 100 or > 599 or 101) throw new ArgumentOutOfRangeException(nameof(status), status, "an HTTP/2 :status is 100-599, and never 101");
        Span<byte> digits = [(byte)('0' + status / 100), (byte)('0' + status / 10 % 10), (byte)('0' + status % 10)];
        return Add(":status"u8, digits);
    }

    /// <summary>The value of pseudo-header field <paramref name="name"/>, or false.</summary>
    public bool TryGetPseudo(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        for (int i = 0; i < _pseudoCount; i++)
        {
            if (GetName(i).SequenceEqual(name))
            {
                value = GetValue(i);
                return true;
            }
        }

        value = default;
        return false;
    }

    /// <summary>Checks a request section (§8.3.1) before it is sent.</summary>
    /// <exception cref="ArgumentException">A required pseudo-header field is missing or one is out of place.</exception>
    public void CheckRequest()
    {
        if (TryGetPseudo(":status"u8, out _)) throw new ArgumentException("a request has no :status");
        if (!TryGetPseudo(":method"u8, out ReadOnlySpan<byte> method)) throw new ArgumentException("a request needs :method");
        bool isPlainConnect = method.SequenceEqual("CONNECT"u8) && !TryGetPseudo(":protocol"u8, out _);
        if (isPlainConnect)
        {
            if (TryGetPseudo(":scheme"u8, out _) || TryGetPseudo(":path"u8, out _)) throw new ArgumentException("a CONNECT request has no :scheme or :path");
            if (!TryGetPseudo(":authority"u8, out _)) throw new ArgumentException("a CONNECT request needs :authority");
            return;
        }

        if (!TryGetPseudo(":scheme"u8, out _)) throw new ArgumentException("a request needs :scheme");
        if (!TryGetPseudo(":path"u8, out ReadOnlySpan<byte> path) || path.IsEmpty) throw new ArgumentException("a request needs a non-empty :path");
    }

    /// <summary>Checks a response section (§8.3.2) before it is sent and returns its status.</summary>
    /// <exception cref="ArgumentException">:status is missing or a request pseudo-header field is present.</exception>
    public int CheckResponse()
    {
        if (_pseudoCount != 1 || !TryGetPseudo(":status"u8, out ReadOnlySpan<byte> status))
            throw new ArgumentException("a response carries exactly one pseudo-header field, :status (use AddStatus)");
        return (status[0] - '0') * 100 + (status[1] - '0') * 10 + (status[2] - '0');
    }

    /// <summary>Checks a trailer section (§8.1) before it is sent.</summary>
    /// <exception cref="ArgumentException">A pseudo-header field is present.</exception>
    public void CheckTrailers()
    {
        if (_pseudoCount != 0) throw new ArgumentException("trailers carry no pseudo-header fields");
    }

    /// <summary>Latin-1 narrowing that refuses characters above U+00FF instead of replacing them.</summary>
    private static bool TryNarrow(string text, Span<byte> destination)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c > 0xff) return false;
            destination[i] = (byte)c;
        }

        return true;
    }

    private Span<byte> Reserve(int length)
    {
        int needed = _byteLength + length;
        if (needed > _bytes.Length) Array.Resize(ref _bytes, Math.Max(needed, 2 * _bytes.Length));
        return _bytes.AsSpan(_byteLength, length);
    }

    private Http2HeaderList Commit(int nameLength, int valueLength, bool isSensitive)
    {
        Span<byte> name = _bytes.AsSpan(_byteLength, nameLength);
        Ascii.ToLowerInPlace(name, out _);
        ReadOnlySpan<byte> value = _bytes.AsSpan(_byteLength + nameLength, valueLength);
        bool isPseudo = !name.IsEmpty && name[0] == (byte)':';
        string? problem = isPseudo ? CheckPseudo(name) : CheckRegular(name, value);
        problem ??= Http2FieldSyntax.IsValidValue(value) ? null : "has NUL, CR or LF, or leading or trailing whitespace in its value";
        if (problem is not null) throw new ArgumentException($"field '{Encoding.Latin1.GetString(name)}' {problem}");
        if (Count == _fields.Length) Array.Resize(ref _fields, 2 * _fields.Length);
        _fields[Count++] = new Field(_byteLength, nameLength, valueLength, isSensitive);
        _byteLength += nameLength + valueLength;
        if (isPseudo) _pseudoCount++;
        return this;
    }

    private string? CheckPseudo(ReadOnlySpan<byte> name)
    {
        if (_pseudoCount != Count) return "comes after a regular field (pseudo-header fields go first, RFC 9113 §8.3)";
        if (!(name.SequenceEqual(":status"u8) || name.SequenceEqual(":method"u8) || name.SequenceEqual(":scheme"u8)
            || name.SequenceEqual(":authority"u8) || name.SequenceEqual(":path"u8) || name.SequenceEqual(":protocol"u8)))
            return "is not a pseudo-header field HTTP/2 defines";
        return TryGetPseudo(name, out _) ? "is already present" : null;
    }

    private static string? CheckRegular(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (!Http2FieldSyntax.IsValidName(name)) return "is not a valid field name";
        if (Http2FieldSyntax.IsConnectionSpecific(name)) return "is connection-specific and not allowed in HTTP/2 (RFC 9113 §8.2.2); leave it out";
        if (name.SequenceEqual("te"u8) && !Http2FieldSyntax.IsAllowedTe(value)) return "may only say \"trailers\" in HTTP/2";
        return null;
    }
}
