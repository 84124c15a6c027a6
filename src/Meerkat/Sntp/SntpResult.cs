using System.Net;

namespace Meerkat.Sntp;

/// <summary>
/// What an SNTP server answered, and what it means for the local clock (RFC 5905 §8): with T1 the
/// request's departure and T4 the reply's arrival by the local clock, T2 and T3 the server's receipt
/// and reply by its clock, <see cref="Offset"/> is ((T2 − T1) + (T3 − T4)) / 2 and
/// <see cref="RoundTripDelay"/> is (T4 − T1) − (T3 − T2).
/// </summary>
public sealed record SntpResult
{
    /// <summary>How far the local clock is behind the server's: add it to local time to get the
    /// server's time. Positive when the local clock is slow. Its error is at most half the
    /// <see cref="RoundTripDelay"/>.</summary>
    public required TimeSpan Offset { get; init; }

    /// <summary>The round trip through the network, without the server's own processing time.</summary>
    public required TimeSpan RoundTripDelay { get; init; }

    /// <summary>The server's stratum: 1 for a primary server, up to 15.</summary>
    public required int Stratum { get; init; }

    /// <summary>The server's time when it sent the reply (T3).</summary>
    public required DateTimeOffset ServerTime { get; init; }

    /// <summary>The local clock's time when the reply arrived (T4).</summary>
    public required DateTimeOffset LocalTime { get; init; }

    /// <summary>The server's estimate of the time when the reply arrived: <see cref="LocalTime"/> plus <see cref="Offset"/>.</summary>
    public DateTimeOffset CorrectedTime => LocalTime + Offset;

    /// <summary>A leap second the server announced, if any.</summary>
    public required NtpLeapIndicator LeapIndicator { get; init; }

    /// <summary>The server's reference: a clock source at stratum 1 (<c>GPS</c>, <c>PPS</c>...), else the
    /// address of its own server.</summary>
    public required string ReferenceId { get; init; }

    /// <summary>The server's round trip to its reference clock.</summary>
    public required TimeSpan RootDelay { get; init; }

    /// <summary>The server's estimate of its own error against its reference clock.</summary>
    public required TimeSpan RootDispersion { get; init; }

    /// <summary>The protocol version of the reply.</summary>
    public required int Version { get; init; }

    /// <summary>Which request was answered (1 for the first; a retry's answer, or a slow answer to an
    /// earlier request, counts as its own number).</summary>
    public required int Attempt { get; init; }

    /// <summary>The address the answer came from; null from the sans-I/O core, which has no sockets.</summary>
    public IPEndPoint? Server { get; init; }
}
