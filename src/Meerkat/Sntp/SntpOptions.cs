namespace Meerkat.Sntp;

/// <summary>Settings of an SNTP query. Every value has a safe default.</summary>
public sealed class SntpOptions
{
    internal static readonly SntpOptions Default = new();

    /// <summary>How long to wait for the answer to the first request; each retry waits twice as long
    /// as the one before (RFC 4330 §10 asks clients to back off). Default 1 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How many requests to send before giving up, the first included. Default 3 (with
    /// the default <see cref="Timeout"/>: no answer within 1 + 2 + 4 = 7 s).</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>The NTP version of requests: 4 (RFC 5905) or 3 (RFC 1305) for old servers. Default 4.</summary>
    public int Version { get; set; } = 4;

    /// <summary>The largest root distance (root delay / 2 + root dispersion: how far the server may
    /// be from true time) of an answer that is accepted. RFC 4330 §5 suggests about a second; a
    /// farther server's answer is ignored like a bogus one. Default 1 s.</summary>
    public TimeSpan MaxRootDistance { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Total time the query may take with these settings: the sum of every attempt's wait.</summary>
    public TimeSpan TotalTimeout
    {
        get
        {
            var total = TimeSpan.Zero;
            for (int i = 0; i < MaxAttempts; i++) total += AttemptTimeout(i + 1);
            return total;
        }
    }

    /// <summary>How long attempt <paramref name="attempt"/> (1-based) waits for its answer.</summary>
    internal TimeSpan AttemptTimeout(int attempt) => Timeout * Math.Pow(2, Math.Min(attempt - 1, 16));

    internal void Validate()
    {
        if (Timeout <= TimeSpan.Zero) throw new ArgumentException("SntpOptions.Timeout must be positive");
        if (MaxAttempts is < 1 or > 10) throw new ArgumentException("SntpOptions.MaxAttempts must be between 1 and 10");
        if (Version is not (3 or 4)) throw new ArgumentException("SntpOptions.Version must be 3 or 4");
        if (MaxRootDistance <= TimeSpan.Zero) throw new ArgumentException("SntpOptions.MaxRootDistance must be positive");
    }
}
