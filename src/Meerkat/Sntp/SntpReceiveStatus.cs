namespace Meerkat.Sntp;

/// <summary>What <see cref="SntpExchange.Receive"/> made of a datagram.</summary>
internal enum SntpReceiveStatus
{
    /// <summary>Not an acceptable answer (malformed, not a reply to a request of this exchange,
    /// unsynchronized server...): it was dropped and the exchange still waits.
    /// <see cref="SntpExchange.LastRejection"/> says why.</summary>
    Ignored,
    /// <summary>A valid answer: <see cref="SntpExchange.Result"/> holds it. The exchange is over.</summary>
    Answered,
    /// <summary>A Kiss-o'-Death that ends the exchange (<c>RATE</c>, <c>DENY</c>, <c>RSTR</c>):
    /// <see cref="SntpExchange.KissCode"/> holds the code.</summary>
    KissOfDeath,
}
