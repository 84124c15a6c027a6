namespace Meerkat.Sntp;

/// <summary>
/// How an SNTP query ended, called once on the loop thread: with the answer, or with the error
/// (a <see cref="TimeoutException"/> when no answer came in time, an <see cref="SntpException"/> for
/// a Kiss-o'-Death, a <see cref="MeerkatException"/> for a network failure such as an ICMP port
/// unreachable, an <see cref="OperationCanceledException"/> when the query's connection was closed first).
/// </summary>
/// <param name="result">The answer; null on failure.</param>
/// <param name="error">Why there is no answer; null on success.</param>
public delegate void SntpCallback(SntpResult? result, Exception? error);
