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
    private readonly byte[] _value = new byte[ImfFixdateLength];
    private long _second = long.MinValue;

    /// <summary>The IMF-fixdate for <paramref name="now"/>; valid until the next call.</summary>
    public ReadOnlySpan<byte> GetValue(DateTimeOffset now)
    {
        long second = now.UtcTicks / TimeSpan.TicksPerSecond;
        if (second != _second)
        {
            Utf8Formatter.TryFormat(now.UtcDateTime, _value, out _, new StandardFormat('R'));
            _second = second;
        }
        return _value;
    }
}
