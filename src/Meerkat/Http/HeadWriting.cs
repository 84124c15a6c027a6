// How this file works: the byte-writing primitives shared by the head writers and the chunked
// encoder. Every method that takes a caller's name or value validates it (a CR or LF in a value
// would let a caller's data split the message) and throws at once on a mistake; the framing lines
// the writers set themselves (WriteContentLength, ChunkedLine) are trusted and written whole.
using System.Buffers;
using System.Buffers.Text;
using static Meerkat.Http.HttpSyntax;

namespace Meerkat.Http;

internal static class HeadWriting
{
    public static void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty) return;
        bytes.CopyTo(output.GetSpan(bytes.Length));
        output.Advance(bytes.Length);
    }

    public static void WriteCrlf(IBufferWriter<byte> output) => Write(output, "\r\n"u8);

    public static void WriteDecimal(IBufferWriter<byte> output, long value)
    {
        Span<byte> span = output.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out int written);
        output.Advance(written);
    }

    /// <summary>Writes <c>Content-Length: N\r\n</c> with one request for room: a framing field the writer
    /// sets itself, so there is nothing to check.</summary>
    public static void WriteContentLength(IBufferWriter<byte> output, long value)
    {
        ReadOnlySpan<byte> name = "Content-Length: "u8;
        Span<byte> span = output.GetSpan(name.Length + 20 + 2);
        name.CopyTo(span);
        Utf8Formatter.TryFormat(value, span[name.Length..], out int digits);
        int end = name.Length + digits;
        span[end] = (byte)'\r';
        span[end + 1] = (byte)'\n';
        output.Advance(end + 2);
    }

    /// <summary>The framing field of a chunked message (RFC 9112 §6.1), as one constant line.</summary>
    public static ReadOnlySpan<byte> ChunkedLine => "Transfer-Encoding: chunked\r\n"u8;

    /// <summary>field-line = field-name ":" SP field-value CRLF (RFC 9112 §5).</summary>
    public static void WriteField(IBufferWriter<byte> output, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (!IsToken(name)) throw new ArgumentException("A header name must be a non-empty token (RFC 9110 §5.1).", nameof(name));
        if (value.ContainsAnyExcept(FieldValueChars))
            throw new ArgumentException("A header value must not contain CR, LF or other control characters (RFC 9110 §5.5).", nameof(value));
        Write(output, name);
        Write(output, ": "u8);
        Write(output, value);
        WriteCrlf(output);
    }

    /// <summary>The same field line from strings (Latin-1, RFC 9110 §5.5), encoded without allocating
    /// for fields up to 512 bytes; the same rules apply. The last few lines are kept encoded
    /// (<see cref="FieldLineCache"/>): a handler's Content-Type is checked once, not per response.</summary>
    public static void WriteField(IBufferWriter<byte> output, string name, string value)
    {
        var cache = FieldLineCache.Current;
        if (cache.TryGet(name, value, out ReadOnlySpan<byte> line))
        {
            Write(output, line);
            return;
        }
        // As ushort: .NET 10's range search over char allocates 96 bytes per call; over ushort it does not.
        if (System.Runtime.InteropServices.MemoryMarshal.Cast<char, ushort>(value.AsSpan()).ContainsAnyExceptInRange((ushort)0, (ushort)255))
            throw new ArgumentException($"The value of header '{name}' has a character outside Latin-1.", nameof(value));
        int length = name.Length + value.Length;
        byte[]? rented = length > 512 ? ArrayPool<byte>.Shared.Rent(length) : null;
        Span<byte> bytes = rented ?? stackalloc byte[512];
        try
        {
            // Latin-1 turns a name character outside it into '?', which the token check then refuses.
            int nameLength = System.Text.Encoding.Latin1.GetBytes(name, bytes);
            int valueLength = System.Text.Encoding.Latin1.GetBytes(value, bytes[nameLength..]);
            WriteField(output, bytes[..nameLength], bytes.Slice(nameLength, valueLength));
            cache.Add(name, value, bytes[..nameLength], bytes.Slice(nameLength, valueLength)); // checked: WriteField did not throw
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public static void WriteField(IBufferWriter<byte> output, ReadOnlySpan<byte> name, long value)
    {
        if (!IsToken(name)) throw new ArgumentException("A header name must be a non-empty token (RFC 9110 §5.1).", nameof(name));
        Write(output, name);
        Write(output, ": "u8);
        WriteDecimal(output, value);
        WriteCrlf(output);
    }

    public static void WriteVersion(IBufferWriter<byte> output, bool http11) => Write(output, http11 ? "HTTP/1.1"u8 : "HTTP/1.0"u8);
}
