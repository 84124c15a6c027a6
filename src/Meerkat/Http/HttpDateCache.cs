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
    private TimeProvider? _fastFor;
    private long _secondStart;
    private long _secondLeft;

    /// <summary>The IMF-fixdate for <paramref name="now"/>; valid until the next call.</summary>
    public ReadOnlySpan<byte> GetValue(DateTimeOffset now) => GetLine(now).Slice(ValueStart, ImfFixdateLength);

    /// <summary>The whole field line <c>Date: ...\r\n</c> as <paramref name="time"/> tells it, without
    /// asking the clock while <paramref name="monotonic"/> is still inside the second the line shows.</summary>
    /// <param name="time">The wall clock.</param>
    /// <param name="monotonic">The system's monotonic clock (<see cref="System.Diagnostics.Stopwatch"/>
    /// ticks) as the caller last read it (the loop reads it once per iteration), or 0 when it has no
    /// such reading. With the system wall clock, the first call of a second remembers when, on the
    /// monotonic clock, that second ends; later calls before then skip the wall clock read (about 4 %
    /// of a pipelined request's CPU). The line may then lag the wall clock by the age of the caller's
    /// reading: one loop iteration.</param>
    public ReadOnlySpan<byte> GetLine(TimeProvider time, long monotonic)
    {
        if (monotonic != 0 && ReferenceEquals(time, _fastFor) && (ulong)(monotonic - _secondStart) < (ulong)_secondLeft) return _line;
        var now = time.GetUtcNow();
        var line = GetLine(now);
        _fastFor = null;
        if (monotonic != 0 && ReferenceEquals(time, TimeProvider.System))
        {
            _fastFor = time;
            _secondStart = monotonic;
            _secondLeft = (TimeSpan.TicksPerSecond - now.UtcTicks % TimeSpan.TicksPerSecond) * System.Diagnostics.Stopwatch.Frequency / TimeSpan.TicksPerSecond;
        }
        return line;
    }

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
