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

/// <summary>The deadline clocks of one server connection.</summary>
internal sealed class ServerDeadlines
{
    private readonly long headTicks, idleTicks, graceTicks, stallTicks;
    private readonly double minBytesPerSecond;
    private long idleSince, headStartedAt, bodyStartedAt, lastProgressAt, lastCheckAt, lastPending;

    public ServerDeadlines(HttpServerOptions options, long now)
    {
        headTicks = Ticks(options.HeaderTimeout);
        idleTicks = Ticks(options.IdleTimeout);
        graceTicks = Ticks(options.MinRequestBodyDataRateGracePeriod);
        stallTicks = Ticks(options.SendStallTimeout);
        minBytesPerSecond = options.MinRequestBodyDataRate;
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
        else if (stallTicks > 0 && now - lastProgressAt > stallTicks) return ServerDeadline.SendStall;
        switch (state)
        {
            case HttpServerState.Idle:
                return idleTicks > 0 && inputEmpty && now - idleSince > idleTicks ? ServerDeadline.Idle : ServerDeadline.None;
            case HttpServerState.ReadingHead:
                return headTicks > 0 && now - headStartedAt > headTicks ? ServerDeadline.Head : ServerDeadline.None;
            case HttpServerState.ReadingBody or HttpServerState.DiscardingBody:
                if (isReadPaused) bodyStartedAt += sinceLastCheck; // we stopped reading: not the peer's time
                return IsBodyTooSlow(now - bodyStartedAt, bodyBytes) ? ServerDeadline.BodyRate : ServerDeadline.None;
            default:
                return ServerDeadline.None;
        }
    }

    /// <summary>Kestrel's MinRequestBodyDataRate rule: after the grace period, the average rate since the body began.</summary>
    private bool IsBodyTooSlow(long elapsed, long bodyBytes) =>
        minBytesPerSecond > 0 && elapsed > graceTicks && bodyBytes * (double)Stopwatch.Frequency < minBytesPerSecond * elapsed;

    private static long Ticks(TimeSpan span) => span <= TimeSpan.Zero ? 0 : (long)(span.TotalSeconds * Stopwatch.Frequency);
}
