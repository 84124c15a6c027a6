namespace Meerkat.Http.Client;

/// <summary>
/// An HTTP exchange failed on the client side: the server broke the protocol, closed the
/// connection before the response was complete, or a limit was exceeded.
/// </summary>
public sealed class HttpClientException : IOException
{
    /// <summary>Creates the exception.</summary>
    public HttpClientException(string message, bool isResponseStarted = false, Exception? innerException = null)
        : base(message, innerException) => IsResponseStarted = isResponseStarted;

    /// <summary>True when some of the response (its head at least) had arrived before the failure:
    /// retrying could then repeat a request the server already acted on.</summary>
    public bool IsResponseStarted { get; }

    /// <summary>The response status when the failure is an HTTP error status, else null.</summary>
    public int? StatusCode { get; init; }

    /// <summary>Sending again would fail the same way (the request body stream failed or cannot be rewound).</summary>
    internal bool IsFinal { get; init; }
}
