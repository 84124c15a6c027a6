namespace Meerkat.Http.Client;

/// <summary>A protocol carrying the loop-level client API (HttpClientExtensions) on a connection:
/// HTTP/1.1 (<see cref="HttpClientProtocol"/>) or HTTP/2 (<c>Http2ClientProtocol</c>). Loop thread only.</summary>
internal interface IHttpClientProtocol
{
    /// <summary>Requests sent whose responses have not ended.</summary>
    int PendingCount { get; }

    /// <summary>Called after each pass over the received bytes, once their events were raised.</summary>
    Action<Connection>? PumpEnded { get; set; }

    bool SendRequest(Connection connection, HttpClientRequest request);

    bool SendRequestHead(Connection connection, HttpClientRequest request, long contentLength);

    bool SendRequestBody(Connection connection, ReadOnlySpan<byte> data);

    bool EndRequestBody(Connection connection, IEnumerable<KeyValuePair<string, string>>? trailers);

    /// <summary>Stops raising response body events (HTTP/2: of the stream whose event is being raised, else of every stream).</summary>
    void Pause();

    /// <summary>Continues after <see cref="Pause"/>, in the loop's work phase.</summary>
    void Resume(Connection connection);
}
