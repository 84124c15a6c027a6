// How this file works: what the server API (HttpServer's Reply, BeginResponse..., static files, the
// router, added response headers) needs of "the request being answered", whichever protocol carries
// it. HTTP/1.1 has one transaction at a time per connection (HttpServerProtocol is it); HTTP/2 has one
// per stream (Http2ServerStream), several at once. A protocol that serves HTTP requests is an
// IHttpServerConnection and says which transaction API calls on the connection address now: on
// HTTP/2, the stream whose event is being raised (or whose Wakeup, via HttpRequest.Id), else the one
// stream with a response to give, else none (the reason names the way out). Loop thread only.
namespace Meerkat.Http;

/// <summary>A protocol serving HTTP requests on a connection (HTTP/1.1, HTTP/2).</summary>
internal interface IHttpServerConnection
{
    /// <summary>The listener's options.</summary>
    HttpServerOptions Options { get; }

    /// <summary>The transaction response calls on the connection address now, or null with the reason
    /// (a phrase following "connection #N").</summary>
    IServerTransaction? Addressed(out string? reason);

    /// <summary>Runs the deadlines (the listener's sweep calls it).</summary>
    void CheckDeadlines(Connection connection, long now);
}

/// <summary>One request and its response, as the server API drives it.</summary>
internal interface IServerTransaction
{
    /// <summary>The request (reused: its spans are valid during the callback).</summary>
    HttpRequest Request { get; }

    /// <summary>HttpHeaders was raised and HttpDone was not yet.</summary>
    bool IsInTransaction { get; }

    /// <summary>In a transaction, and its response has not started.</summary>
    bool IsAwaitingResponse { get; }

    /// <summary>Headers added before the response began (router: CORS, settings), written after the caller's.</summary>
    List<(string Name, string Value)> AddedHeaders { get; }

    /// <summary>Released when the response completes or the transaction ends (an open file).</summary>
    IDisposable? Resource { get; set; }

    /// <summary>Starts the response; with <paramref name="producer"/>, the body comes from it whenever the peer can take more.</summary>
    void BeginResponse(Connection connection, int status, long contentLength, string? contentType, ReadOnlySpan<(string Name, string Value)> headers, HttpBodyProducer? producer);

    /// <summary>Appends body bytes; returns whether more may be written now (else wait for <see cref="EventKind.Write"/>).</summary>
    bool WriteBody(Connection connection, ReadOnlySpan<byte> data);

    /// <summary>Ends the body, with trailer fields when given.</summary>
    void EndResponse(Connection connection, ReadOnlySpan<(string Name, string Value)> trailers);

    /// <summary>The whole response in one call.</summary>
    void Reply(Connection connection, int status, ReadOnlySpan<byte> body, string? contentType, ReadOnlySpan<(string Name, string Value)> headers);
}
