using System.Diagnostics;

namespace Meerkat.Http2;

/// <summary>
/// A token bucket over the caller's clock (Stopwatch ticks): starts full with Burst tokens,
/// refills at PerSecond, and says no when empty. One per kind of flood the connection guards.
/// </summary>
internal struct Http2RateLimiter
{
    private readonly double _burst;
    private readonly double _tokensPerTick;
    private double _tokens;
    private long _lastRefill;

    public Http2RateLimiter(Http2RateLimit limit, long now)
    {
        _burst = limit.Burst;
        _tokensPerTick = limit.PerSecond / Stopwatch.Frequency;
        _tokens = limit.Burst;
        _lastRefill = now;
    }

    /// <summary>Takes one token; false when the bucket is empty (the peer is over its rate).</summary>
    public bool TryTake(long now)
    {
        if (now > _lastRefill)
        {
            _tokens = Math.Min(_burst, _tokens + (now - _lastRefill) * _tokensPerTick);
            _lastRefill = now;
        }

        if (_tokens < 1) return false;
        _tokens--;
        return true;
    }
}
