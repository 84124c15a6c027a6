// How this file works: writes a response head (RFC 9112 §4, §5) into an IBufferWriter: status
// line, fields, a Date field from a per-second cache, and the blank line. Allocation-free.
using System.Buffers;
using static Meerkat.Http.HeadWriting;

namespace Meerkat.Http;

/// <summary>Writes response heads. Call <see cref="WriteStatusLine"/>, then fields, then <see cref="WriteEnd"/>.
/// Not thread-safe (it owns a <see cref="HttpDateCache"/>): one per loop thread or connection.</summary>
internal sealed class ResponseHeadWriter
{
    private readonly HttpDateCache _date = new();

    /// <summary>Writes <c>HTTP/1.1 200 OK\r\n</c>. An empty <paramref name="reason"/> uses the standard phrase.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The status code is not in 100–999.</exception>
    /// <exception cref="ArgumentException">The reason contains CR, LF or another control character.</exception>
    public void WriteStatusLine(IBufferWriter<byte> output, int statusCode, ReadOnlySpan<byte> reason = default, bool http11 = true)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfLessThan(statusCode, 100);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(statusCode, 999);
        if (reason.IsEmpty) reason = ReasonPhrases.Get(statusCode);
        if (reason.ContainsAnyExcept(HttpSyntax.FieldValueChars)) throw new ArgumentException("The reason phrase must not contain control characters.", nameof(reason));
        WriteVersion(output, http11);
        Write(output, " "u8);
        WriteDecimal(output, statusCode);
        Write(output, " "u8);
        Write(output, reason);
        WriteCrlf(output);
    }

    /// <summary>Writes <c>name: value\r\n</c>.</summary>
    /// <exception cref="ArgumentException">The name is not a token or the value contains CR, LF or another control character.</exception>
    public void WriteHeader(IBufferWriter<byte> output, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => WriteField(output, name, value);

    /// <summary>Writes <c>name: 123\r\n</c> (e.g. Content-Length).</summary>
    public void WriteHeader(IBufferWriter<byte> output, ReadOnlySpan<byte> name, long value) => WriteField(output, name, value);

    /// <summary>Writes <c>Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n</c> for <paramref name="now"/>, formatted at most once per second.</summary>
    public void WriteDate(IBufferWriter<byte> output, DateTimeOffset now) => WriteField(output, "Date"u8, _date.GetValue(now));

    /// <summary>Writes the blank line that ends the head.</summary>
    public void WriteEnd(IBufferWriter<byte> output) => WriteCrlf(output);
}
