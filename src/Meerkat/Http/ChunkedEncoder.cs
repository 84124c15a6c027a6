// How this file works: writes the chunked transfer coding (RFC 9112 §7.1): "size-in-hex CRLF data
// CRLF" per chunk, then "0 CRLF", optional trailer fields, and a final CRLF. Allocation-free.
using System.Buffers;
using System.Buffers.Text;
using static Meerkat.Http.HeadWriting;

namespace Meerkat.Http;

/// <summary>Writes chunked bodies. Stateless: the caller decides the order (chunks, then the last chunk).</summary>
internal static class ChunkedEncoder
{
    /// <summary>Writes one whole chunk (header, data, CRLF). An empty <paramref name="data"/> writes nothing:
    /// an empty chunk would end the body.</summary>
    public static void WriteChunk(IBufferWriter<byte> output, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) return;
        WriteChunkHeader(output, data.Length);
        Write(output, data);
        WriteCrlf(output);
    }

    /// <summary>Writes <c>size-in-hex\r\n</c>; the caller then writes <paramref name="size"/> bytes and <see cref="WriteChunkEnd"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is not positive (0 is the last chunk).</exception>
    public static void WriteChunkHeader(IBufferWriter<byte> output, long size)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        Span<byte> span = output.GetSpan(18);
        Utf8Formatter.TryFormat(size, span, out int written, new StandardFormat('x'));
        output.Advance(written);
        WriteCrlf(output);
    }

    /// <summary>Writes the CRLF that ends a chunk's data.</summary>
    public static void WriteChunkEnd(IBufferWriter<byte> output) => WriteCrlf(output);

    /// <summary>Writes the last chunk and the end of the body, without trailers: <c>0\r\n\r\n</c>.</summary>
    public static void WriteLastChunk(IBufferWriter<byte> output) => Write(output, "0\r\n\r\n"u8);

    /// <summary>Writes <c>0\r\n</c>; follow with <see cref="WriteTrailer"/> calls and <see cref="WriteEnd"/>.</summary>
    public static void WriteLastChunkStart(IBufferWriter<byte> output) => Write(output, "0\r\n"u8);

    /// <summary>Writes one trailer field <c>name: value\r\n</c> (RFC 9112 §7.1.2).</summary>
    /// <exception cref="ArgumentException">The name is not a token or the value contains CR, LF or another control character.</exception>
    public static void WriteTrailer(IBufferWriter<byte> output, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => WriteField(output, name, value);

    /// <summary>Writes the blank line that ends the trailer section and the message.</summary>
    public static void WriteEnd(IBufferWriter<byte> output) => WriteCrlf(output);
}
