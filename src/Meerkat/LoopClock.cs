using System.Diagnostics;

namespace Meerkat;

/// <summary>
/// The one clock of a manager's loop: every timer, deadline and measured duration of the manager,
/// its protocols and its telemetry reads it. The system's monotonic clock, or
/// <see cref="ManagerOptions.TimeProvider"/> when set (the virtual network's clock, which only moves
/// when the test's driver moves it, so durations are deterministic there).
/// </summary>
/// <remarks>
/// <para>Two readings: <see cref="Now"/> / <see cref="Ticks"/> read the clock; <see cref="IterationTicks"/>
/// is the reading taken once per loop iteration, after the wait for readiness
/// (<see cref="StartIteration"/>), which the protocols' hot paths give their sans-I/O cores as "now":
/// one clock read per iteration instead of several per request (deadlines are seconds, an iteration
/// is microseconds). Timers read the live clock.</para>
/// <para>Ticks are <see cref="Stopwatch"/> units (what the sans-I/O cores take as <c>now</c>);
/// <see cref="ToTicks"/> and <see cref="ToTimeSpan"/> are the conversions to and from
/// <see cref="TimeSpan"/>, in this one place. Only differences between readings mean anything.</para>
/// </remarks>
internal sealed class LoopClock
{
    /// <summary>Null: the system's clock, read without a virtual call.</summary>
    private readonly TimeProvider? provider;
    private readonly double toStopwatch;

    public LoopClock(TimeProvider? timeProvider)
    {
        provider = timeProvider is not null && !ReferenceEquals(timeProvider, TimeProvider.System) ? timeProvider : null;
        toStopwatch = provider is null ? 1 : (double)Stopwatch.Frequency / provider.TimestampFrequency;
        IterationTicks = Ticks;
    }

    /// <summary>True when this is the system's monotonic clock (no <see cref="ManagerOptions.TimeProvider"/>).</summary>
    public bool IsSystem => provider is null;

    /// <summary>The clock, read now.</summary>
    public TimeSpan Now => ToTimeSpan(Ticks);

    /// <summary>The clock, read now, in <see cref="Stopwatch"/> ticks.</summary>
    public long Ticks
    {
        get
        {
            if (provider is null) return Stopwatch.GetTimestamp();
            long stamp = provider.GetTimestamp();
            return toStopwatch == 1 ? stamp : (long)(stamp * toStopwatch);
        }
    }

    /// <summary><see cref="Ticks"/> as read at the start of this iteration's work (after the wait).</summary>
    public long IterationTicks { get; private set; }

    /// <summary>The loop thread, once per iteration after the wait: takes this iteration's reading.</summary>
    public void StartIteration() => IterationTicks = Ticks;

    /// <summary>A duration in the clock's ticks.</summary>
    public static long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    /// <summary>Ticks of the clock (a reading, or a difference of two) as a <see cref="TimeSpan"/>.</summary>
    public static TimeSpan ToTimeSpan(long ticks) => Stopwatch.GetElapsedTime(0, ticks);

    /// <summary>The seconds from <paramref name="start"/> to <paramref name="end"/> (telemetry's unit).</summary>
    public static double Seconds(long start, long end) => (end - start) / (double)Stopwatch.Frequency;

    /// <summary>Whole milliseconds from now until <paramref name="dueTicks"/>, rounded up, at most
    /// <paramref name="capMs"/> (-1: no cap); 0 when it is due.</summary>
    public int MillisecondsUntil(long dueTicks, int capMs)
    {
        long ticks = dueTicks - Ticks;
        if (ticks <= 0) return 0;
        long ms = (ticks * 1000 + Stopwatch.Frequency - 1) / Stopwatch.Frequency;
        return capMs < 0 ? (int)Math.Min(ms, int.MaxValue) : (int)Math.Min(ms, capMs);
    }
}
