namespace Meerkat.Http;

/// <summary>
/// Headers added to a server response from outside the call that sends it: a filter or a router
/// setting (CORS, security headers) adds them while the request is pending, and they go out with
/// whatever response the handler then sends (<c>Reply</c>, <c>BeginResponse</c>, <c>ServeStatic</c>...).
/// Runs on the loop thread.
/// </summary>
public static class HttpResponseHeaderExtensions
{
    /// <summary>Adds a header to the response of the pending request, after the ones the handler passes.
    /// Nothing is copied: keep the strings constant to stay allocation-free.</summary>
    /// <exception cref="ArgumentException">The name is not a token, the value has CR, LF or a character
    /// outside Latin-1, or the field is one the server sets from the framing.</exception>
    /// <exception cref="InvalidOperationException">No request is waiting for its response, or the response began.</exception>
    public static void AddResponseHeader(this Connection connection, string name, string value)
    {
        Validate(name, value);
        if (!connection.HasPendingRequest())
            throw new InvalidOperationException($"connection #{connection.Id} has no request whose response has not begun: add headers before answering");
        HttpServerExtensions.Transaction(connection).AddedHeaders.Add((name, value));
    }

    /// <summary>Checks a field the way the response writer will, so that mistakes surface where they are made.</summary>
    internal static void Validate(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        if (!IsToken(name)) throw new ArgumentException($"'{name}' is not a header name (a token, RFC 9110 §5.1)", nameof(name));
        foreach (char c in value)
            if (c > 0xFF || c < 0x20 && c != '\t' || c == 0x7F)
                throw new ArgumentException($"the value of header '{name}' has a control character or one outside Latin-1", nameof(value));
        if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
            || name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"'{name}' is set by the server from the response framing", nameof(name));
    }

    /// <summary>True for an RFC 9110 token (header names, methods).</summary>
    internal static bool IsToken(string text)
    {
        if (text.Length == 0) return false;
        foreach (char c in text)
            if (c > 0x7F || !HttpSyntax.TokenChars.Contains((byte)c)) return false;
        return true;
    }
}
