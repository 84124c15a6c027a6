namespace Meerkat.Sntp;

/// <summary>
/// When to ask an NTP server again, as a sans-I/O rule (RFC 4330 §10, RFC 5905 §7.4): the poll
/// interval after each query's outcome, or that the client must stop asking.
/// </summary>
/// <remarks>
/// An answer sets the interval back to <see cref="BaseInterval"/>. No answer (a timeout, a network
/// error) doubles it: a client backs off from a server in trouble instead of hammering it. A
/// <c>RATE</c> kiss doubles it too, and every further one again. <c>DENY</c> and <c>RSTR</c> stop the
/// polling for good. The interval never exceeds <see cref="MaxInterval"/>.
/// </remarks>
public sealed class SntpPollSchedule
{
    /// <summary>The shortest poll interval a client may use (RFC 4330 §10: never below 15 s).</summary>
    public static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(15);

    /// <summary>Creates a schedule.</summary>
    /// <param name="baseInterval">The interval while the server answers; at least <see cref="MinInterval"/>.</param>
    /// <param name="maxInterval">The longest interval backing off reaches; default 2^17 s (about 36 h, NTP's maximum poll).</param>
    /// <exception cref="ArgumentOutOfRangeException">An interval is below 15 s, or the maximum below the base.</exception>
    public SntpPollSchedule(TimeSpan baseInterval, TimeSpan? maxInterval = null)
    {
        var max = maxInterval ?? TimeSpan.FromSeconds(1 << 17);
        ArgumentOutOfRangeException.ThrowIfLessThan(baseInterval, MinInterval);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, baseInterval);
        BaseInterval = baseInterval;
        MaxInterval = max;
        Interval = baseInterval;
    }

    /// <summary>The interval while the server answers.</summary>
    public TimeSpan BaseInterval { get; }

    /// <summary>The longest interval.</summary>
    public TimeSpan MaxInterval { get; }

    /// <summary>How long to wait before the next query.</summary>
    public TimeSpan Interval { get; private set; }

    /// <summary>True once a <c>DENY</c> or <c>RSTR</c> kiss said never to ask this server again.</summary>
    public bool IsStopped { get; private set; }

    /// <summary>Takes a query's outcome into account.</summary>
    /// <param name="answered">True when the server answered.</param>
    /// <param name="error">Why it did not (null when it did): an <see cref="SntpException"/> for a kiss.</param>
    /// <returns>The interval until the next query, or null when polling must stop.</returns>
    public TimeSpan? OnOutcome(bool answered, Exception? error)
    {
        if (IsStopped) return null;
        if (answered)
        {
            Interval = BaseInterval;
            return Interval;
        }
        if (error is SntpException { MustStopAsking: true })
        {
            IsStopped = true;
            return null;
        }
        Interval = Interval * 2 > MaxInterval ? MaxInterval : Interval * 2;
        return Interval;
    }
}
