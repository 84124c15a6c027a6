// How this file works
// -------------------
// The delay before each reconnection attempt, with no clock and no random source inside (both
// are arguments): exponential growth from InitialDelay by Multiplier per consecutive failure,
// capped at MaxDelay, then spread by ±Jitter so that many clients dropped by one server restart
// do not all come back in the same millisecond (AWS Architecture Blog, "Exponential Backoff And
// Jitter"). A connection that opens resets the count.
namespace Meerkat.WebSockets;

/// <summary>How a reconnecting WebSocket waits between attempts and when it gives up. Every value has a safe default.</summary>
public sealed class WebSocketReconnectOptions
{
    /// <summary>The delay before the first reconnection attempt (default 500 ms).</summary>
    public TimeSpan InitialDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest delay between attempts (default 30 s).</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How much the delay grows after each failed attempt (default 2).</summary>
    public double Multiplier { get; init; } = 2;

    /// <summary>The fraction by which each delay is randomly shortened or lengthened, 0 to 1 (default 0.2: ±20 %).</summary>
    public double Jitter { get; init; } = 0.2;

    /// <summary>Consecutive failed attempts after which it gives up; null (default) never gives up.</summary>
    public int? MaxAttempts { get; init; }

    /// <summary>
    /// Decides whether to try again after a connection ended; null (default) reconnects after anything but a
    /// handshake refused with a client error (4xx other than 408 and 429), which a retry would only repeat.
    /// </summary>
    public Func<WebSocketDisconnect, bool>? ShouldReconnect { get; init; }

    /// <summary>Told when the WebSocket starts waiting to reconnect, reconnects, or gives up. Runs on the loop thread.</summary>
    public Action<ReconnectingWebSocket, WebSocketReconnectEvent>? OnReconnect { get; init; }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(InitialDelay, TimeSpan.Zero, nameof(InitialDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxDelay, InitialDelay, nameof(MaxDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(Multiplier, 1.0, nameof(Multiplier));
        if (Jitter is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(Jitter), Jitter, "Jitter is a fraction from 0 to 1");
        if (MaxAttempts is < 1) throw new ArgumentOutOfRangeException(nameof(MaxAttempts), MaxAttempts, "MaxAttempts is at least 1 (or null for no limit)");
    }
}

/// <summary>The delays of successive reconnection attempts (sans-I/O: the random number is an argument).</summary>
public sealed class ReconnectBackoff
{
    private readonly WebSocketReconnectOptions options;

    /// <summary>A backoff following <paramref name="options"/>.</summary>
    public ReconnectBackoff(WebSocketReconnectOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        this.options = options;
    }

    /// <summary>Failed attempts since the last successful connection.</summary>
    public int Failures { get; private set; }

    /// <summary>True when <see cref="WebSocketReconnectOptions.MaxAttempts"/> failures happened in a row.</summary>
    public bool IsExhausted => options.MaxAttempts is { } max && Failures >= max;

    /// <summary>Counts a failure and returns the delay before the next attempt.</summary>
    /// <param name="random">A number in [0, 1) that places the delay within the jitter band.</param>
    public TimeSpan NextDelay(double random)
    {
        double baseMs = options.InitialDelay.TotalMilliseconds * Math.Pow(options.Multiplier, Math.Min(Failures, 64));
        baseMs = Math.Min(baseMs, options.MaxDelay.TotalMilliseconds);
        Failures++;
        double spread = 1 + options.Jitter * (2 * Math.Clamp(random, 0, 1) - 1);
        return TimeSpan.FromMilliseconds(Math.Min(baseMs * spread, options.MaxDelay.TotalMilliseconds));
    }

    /// <summary>A connection opened: the next failure starts from <see cref="WebSocketReconnectOptions.InitialDelay"/> again.</summary>
    public void Reset() => Failures = 0;
}
