// How this file works: the clocks of a server connection, kept apart from its state machine. The
// core tells it when an idle period, a head and a body begin and when output moves; Check then
// says which deadline, if any, has passed for the core's state. Time is always an argument
// (Stopwatch ticks). A zero or negative option turns its deadline off. Deadlines, from HttpServerOptions:
//   Idle       no byte of a next request for IdleTimeout                      -> close
//   Head       a head not complete HeaderTimeout after its first byte          -> 408, close
//   BodyRate   after the grace period, the body's average rate under the minimum -> 408 or abort
//              (time while reading is paused by our own backed-up output is not charged)
//   SendStall  output pending and none of it sent for SendStallTimeout         -> abort
using System.Diagnostics;

namespace Meerkat.Http;

/// <summary>Which deadline passed.</summary>
internal enum ServerDeadline { None, Idle, Head, BodyRate, SendStall }

/// <summary>The deadlines of a listener's connections, in Stopwatch ticks (0: off); shared by all of them.</summary>
internal sealed class ServerDeadlineLimits(HttpServerOptions options)
{
    public long Head { get; } = Ticks(options.HeaderTimeout);

    public long Idle { get; } = Ticks(options.IdleTimeout);

    public long BodyRateGrace { get; } = Ticks(options.MinRequestBodyDataRateGracePeriod);

    public long SendStall { get; } = Ticks(options.SendStallTimeout);

    public double MinBodyBytesPerSecond { get; } = options.MinRequestBodyDataRate;

    private static long Ticks(TimeSpan span) => span <= TimeSpan.Zero ? 0 : (long)(span.TotalSeconds * Stopwatch.Frequency);
}

/// <summary>The deadline clocks of one server connection: a struct held in the connection's core, so
/// that an idle connection pays for its time stamps only (the limits are the listener's).</summary>
internal struct ServerDeadlines
{
    private readonly ServerDeadlineLimits limits;
    private long idleSince, headStartedAt, bodyStartedAt, lastProgressAt, lastCheckAt, lastPending;

    public ServerDeadlines(ServerDeadlineLimits limits, long now)
    {
        this.limits = limits;
        idleSince = lastProgressAt = lastCheckAt = now;
    }

    public void IdleStarted(long now) => idleSince = now;

    public void HeadStarted(long now) => headStartedAt = now;

    public void BodyStarted(long now) => bodyStartedAt = now;

    public void OutputProgressed(long now) => lastProgressAt = now;

    public ServerDeadline Check(HttpServerState state, long now, long pendingOutput, bool isReadPaused, long bodyBytes, bool inputEmpty)
    {
        long sinceLastCheck = now - lastCheckAt;
        lastCheckAt = now;
        // The stall clock runs only while output stays pending from one check to the next without
        // shrinking: output that appeared since the last check starts it now (a late check must not
        // blame the peer for bytes queued a moment ago).
        bool progressed = pendingOutput == 0 || lastPending == 0 || pendingOutput < lastPending;
        lastPending = pendingOutput;
        if (progressed) lastProgressAt = now;
        else if (limits.SendStall > 0 && now - lastProgressAt > limits.SendStall) return ServerDeadline.SendStall;
        switch (state)
        {
            case HttpServerState.Idle:
                return limits.Idle > 0 && inputEmpty && now - idleSince > limits.Idle ? ServerDeadline.Idle : ServerDeadline.None;
            case HttpServerState.ReadingHead:
                return limits.Head > 0 && now - headStartedAt > limits.Head ? ServerDeadline.Head : ServerDeadline.None;
            case HttpServerState.ReadingBody or HttpServerState.DiscardingBody:
                if (isReadPaused) bodyStartedAt += sinceLastCheck; // we stopped reading: not the peer's time
                return IsBodyTooSlow(now - bodyStartedAt, bodyBytes) ? ServerDeadline.BodyRate : ServerDeadline.None;
            default:
                return ServerDeadline.None;
        }
    }

    /// <summary>Kestrel's MinRequestBodyDataRate rule: after the grace period, the average rate since the body began.</summary>
    private readonly bool IsBodyTooSlow(long elapsed, long bodyBytes) =>
        limits.MinBodyBytesPerSecond > 0 && elapsed > limits.BodyRateGrace && bodyBytes * (double)Stopwatch.Frequency < limits.MinBodyBytesPerSecond * elapsed;
}
