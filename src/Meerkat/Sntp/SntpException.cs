namespace Meerkat.Sntp;

/// <summary>
/// An SNTP server refused to give the time: it sent a Kiss-o'-Death (RFC 5905 §7.4).
/// </summary>
/// <remarks>
/// <see cref="KissCode"/> says what to do next: <c>DENY</c> and <c>RSTR</c> mean this server
/// will not serve this client, so stop asking it (<see cref="MustStopAsking"/>); <c>RATE</c> means
/// the client asks too often, so ask much less often (at least twice the previous interval).
/// </remarks>
public sealed class SntpException : MeerkatException
{
    /// <summary>Creates the exception for a kiss code.</summary>
    public SntpException(string message, string kissCode) : base(message) => KissCode = kissCode;

    /// <summary>The four-letter kiss code: <c>RATE</c>, <c>DENY</c> or <c>RSTR</c>.</summary>
    public string KissCode { get; }

    /// <summary>True for <c>DENY</c> and <c>RSTR</c>: never send this server another request.</summary>
    public bool MustStopAsking => KissCode is KissCodes.Deny or KissCodes.Restrict;
}
