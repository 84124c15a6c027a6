// How this file works: formats the IMF-fixdate for the Date header (RFC 9110 §5.6.7) at most once
// per second. The time is an argument: the core never reads a clock.
using System.Buffers;
using System.Buffers.Text;

namespace Meerkat.Http;

/// <summary>A cached <c>Date</c> header value, refreshed when the given time reaches a new second.
/// Not thread-safe: one per loop thread.</summary>
internal sealed class HttpDateCache
{
    private const int ImfFixdateLength = 29; // "Sun, 06 Nov 1994 08:49:37 GMT"
    private const int ValueStart = 6; // "Date: "
    private readonly byte[] _line = "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"u8.ToArray();
    private long _second = long.MinValue;

    /// <summary>The IMF-fixdate for <paramref name="now"/>; valid until the next call.</summary>
    public ReadOnlySpan<byte> GetValue(DateTimeOffset now) => GetLine(now).Slice(ValueStart, ImfFixdateLength);

    /// <summary>The whole field line <c>Date: ...\r\n</c> for <paramref name="now"/>; valid until the next call.</summary>
    public ReadOnlySpan<byte> GetLine(DateTimeOffset now)
    {
        long second = now.UtcTicks / TimeSpan.TicksPerSecond;
        if (second != _second)
        {
            Utf8Formatter.TryFormat(now.UtcDateTime, _line.AsSpan(ValueStart, ImfFixdateLength), out _, new StandardFormat('R'));
            _second = second;
        }
        return _line;
    }
}
