// How this file works: writes a response head (RFC 9112 §4, §5) into an IBufferWriter: status
// line, fields, a Date field from a per-second cache, and the blank line. Allocation-free.
using System.Buffers;
using static Meerkat.Http.HeadWriting;

namespace Meerkat.Http;

/// <summary>Writes response heads. Call <see cref="WriteStatusLine"/>, then fields, then <see cref="WriteEnd"/>.
/// It keeps no state of its own: the Date cache is per thread, the status lines are shared.</summary>
internal sealed class ResponseHeadWriter
{
    [ThreadStatic] private static HttpDateCache? t_date;

    /// <summary>"HTTP/1.x NNN Reason\r\n" of each standard status, built on first use (index: status and version).</summary>
    private static readonly byte[]?[] StatusLines = new byte[2 * 900][];

    /// <summary>Writes <c>HTTP/1.1 200 OK\r\n</c>. An empty <paramref name="reason"/> uses the standard phrase.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The status code is not in 100–999.</exception>
    /// <exception cref="ArgumentException">The reason contains CR, LF or another control character.</exception>
    public void WriteStatusLine(IBufferWriter<byte> output, int statusCode, ReadOnlySpan<byte> reason = default, bool http11 = true)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfLessThan(statusCode, 100);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(statusCode, 999);
        if (reason.IsEmpty)
        {
            int index = (statusCode - 100) * 2 + (http11 ? 1 : 0);
            Write(output, StatusLines[index] ??= BuildStatusLine(statusCode, http11));
            return;
        }
        WriteStatusLineBytes(output, statusCode, reason, http11, check: true);
    }

    private static byte[] BuildStatusLine(int statusCode, bool http11)
    {
        var line = new ArrayBufferWriter<byte>(64);
        WriteStatusLineBytes(line, statusCode, ReasonPhrases.Get(statusCode), http11, check: false);
        return line.WrittenSpan.ToArray();
    }

    private static void WriteStatusLineBytes(IBufferWriter<byte> output, int statusCode, ReadOnlySpan<byte> reason, bool http11, bool check)
    {
        if (check && reason.ContainsAnyExcept(HttpSyntax.FieldValueChars)) throw new ArgumentException("The reason phrase must not contain control characters.", nameof(reason));
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
    public void WriteDate(IBufferWriter<byte> output, DateTimeOffset now) => Write(output, (t_date ??= new HttpDateCache()).GetLine(now));

    /// <summary>Writes the Date line as <paramref name="time"/> tells it; <paramref name="monotonic"/> is
    /// the caller's last monotonic reading, if any (see <see cref="HttpDateCache.GetLine(TimeProvider, long)"/>).</summary>
    public void WriteDate(IBufferWriter<byte> output, TimeProvider time, long monotonic) => Write(output, (t_date ??= new HttpDateCache()).GetLine(time, monotonic));

    /// <summary>Writes the blank line that ends the head.</summary>
    public void WriteEnd(IBufferWriter<byte> output) => WriteCrlf(output);
}
