using System.Diagnostics;

namespace Meerkat.Testing;

/// <summary>
/// The virtual network's clock: it moves only when the <see cref="VirtualNetwork"/> driving it
/// advances it (to the next timer or delivery, or by a scripted jump). Pass it as
/// <see cref="ManagerOptions.TimeProvider"/> (<see cref="VirtualNetwork.CreateManager"/> does) and
/// as <c>HttpServerOptions.TimeProvider</c> for a deterministic <c>Date</c> field.
/// </summary>
public sealed class VirtualClock : TimeProvider
{
    // Readings start well above zero: some code treats a zero timestamp as "never".
    private static readonly long Origin = Stopwatch.Frequency * 86_400;
    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private long elapsedTicks;

    /// <summary>Virtual time since the network was made.</summary>
    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(0, elapsedTicks);

    /// <inheritdoc/>
    public override long TimestampFrequency => Stopwatch.Frequency;

    /// <inheritdoc/>
    public override long GetTimestamp() => Origin + elapsedTicks;

    /// <summary>Wall-clock time: 2026-01-01T00:00:00Z plus <see cref="Elapsed"/>.</summary>
    public override DateTimeOffset GetUtcNow() => Epoch + Elapsed;

    /// <inheritdoc/>
    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <summary>The reading of <see cref="GetTimestamp"/> in <paramref name="span"/> from now.</summary>
    internal long After(TimeSpan span) => GetTimestamp() + ToTicks(span);

    internal void AdvanceTo(long timestamp)
    {
        long target = timestamp - Origin;
        if (target > elapsedTicks) elapsedTicks = target;
    }

    internal void Advance(TimeSpan span) => elapsedTicks += ToTicks(span);

    internal static long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);
}
