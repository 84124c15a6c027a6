namespace Meerkat.Sntp;

/// <summary>Where an <see cref="SntpExchange"/> is.</summary>
internal enum SntpState
{
    /// <summary>Nothing sent yet. Next: Waiting.</summary>
    Idle,
    /// <summary>A request is out. Next: Waiting (a retry), Answered, KissOfDeath, TimedOut.</summary>
    Waiting,
    /// <summary>A valid answer arrived. Final.</summary>
    Answered,
    /// <summary>The server sent a Kiss-o'-Death that ends the exchange. Final.</summary>
    KissOfDeath,
    /// <summary>Every attempt went unanswered. Final.</summary>
    TimedOut,
}
