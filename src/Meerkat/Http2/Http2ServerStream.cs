// How this file works: one request on an HTTP/2 server connection, from its HEADERS to its
// HttpDone: the HttpRequest handlers read (built by Http2RequestHead), the request body as it is
// buffered or streamed, the response (Http2ResponseSender), and the per-stream state the server API
// needs where HTTP/1.1 keeps it per connection (the router's context). It is the IServerTransaction
// that c.Reply and friends address while its events are raised (Http2ServerProtocol). The objects
// are pooled by the connection: a warm connection allocates none per request.
//
// Transaction states and their legal successors:
//   Idle       in the pool                                 -> Receiving (a request's HEADERS)
//   Receiving  HttpHeaders raised; the request's content arrives (HttpBody, or buffered)
//                                                          -> Received (END_STREAM: HttpMessage), Abandoned, Closed
//   Received   the request is whole; the response is being produced  -> Closed
//   Abandoned  the handler threw, or the body was refused (413): no more request events -> Closed
//   Closed     StreamClosed: HttpDone raised                -> Idle (back to the pool)
using Meerkat.Http;

namespace Meerkat.Http2;

/// <summary>Where a stream's transaction is; see the file header.</summary>
internal enum Http2TransactionState { Idle, Receiving, Received, Abandoned, Closed }

/// <summary>One request and its response on an HTTP/2 server connection. Loop thread only.</summary>
internal sealed class Http2ServerStream : IServerTransaction
{
    private readonly Http2ServerProtocol _owner;
    private Http2RequestHead _head = new();
    private IoBuffer? _body;

    public Http2ServerStream(Http2ServerProtocol owner, Connection connection, int maxWaiting)
    {
        _owner = owner;
        Response = new Http2ResponseSender(maxWaiting);
        Request.VersionMajor = 2;
        Request.Owner = (connection, this);
    }

    public int StreamId { get; private set; }

    public Http2TransactionState State { get; set; }

    public HttpRequest Request { get; } = new();

    public Http2ResponseSender Response { get; }

    /// <summary>Request body bytes received so far.</summary>
    public long BodyBytes { get; set; }

    /// <summary>How the transaction ended when the stream's own close does not tell (a handler error, a refused body).</summary>
    public HttpOutcome? Outcome { get; set; }

    /// <summary>The exception behind <see cref="Outcome"/>.</summary>
    public Exception? Error { get; set; }

    /// <summary>WriteBody left bytes waiting for window: a Write event is owed once they are sent.</summary>
    public bool OwesWrite { get; set; }

    /// <summary>The handler paused the request body (PauseRequestBody): the stream's receive window is not
    /// credited back, so the client stops once the window is spent (what is in flight still arrives).</summary>
    public bool IsBodyPaused { get; set; }

    /// <summary>Request body octets delivered while paused: credited back on resume.</summary>
    public int WithheldCredit { get; set; }

    /// <summary>The router's context for this stream (Connection.RoutingState on HTTP/2).</summary>
    public object? RoutingState { get; set; }

    /// <summary>The buffered request body so far.</summary>
    public ReadOnlyMemory<byte> Body => _body is null ? default : _body.Memory;

    public bool IsInTransaction => State is Http2TransactionState.Receiving or Http2TransactionState.Received or Http2TransactionState.Abandoned;

    public bool IsAwaitingResponse => IsInTransaction && !Response.IsStarted;

    /// <summary>In a transaction whose response is not complete: what API calls may still address.</summary>
    public bool IsInProgress => IsInTransaction && !Response.IsComplete;

    public List<(string Name, string Value)> AddedHeaders => Response.AddedHeaders;

    public IDisposable? Resource
    {
        get => Response.Resource;
        set => Response.Resource = value;
    }

    /// <summary>A request's HEADERS arrived on <paramref name="streamId"/>.</summary>
    public void Start(int streamId, Http2HeaderSection section, bool hasContent)
    {
        _head.Build(section, hasContent);
        Begin(streamId);
    }

    /// <summary>The HTTP/1.1 request of an h2c upgrade (copied when it arrived) becomes stream 1.</summary>
    public void Start(Http2RequestHead upgraded)
    {
        _head = upgraded;
        Begin(1);
    }

    /// <summary>Appends to the buffered body; false when it would pass <paramref name="limit"/>.</summary>
    public bool Buffer(ReadOnlySpan<byte> data, long limit)
    {
        if (BodyBytes > limit) return false;
        _body ??= new IoBuffer(16 * 1024, (int)Math.Min(limit, int.MaxValue));
        return _body.Append(data);
    }

    /// <summary>Back to the pool: what the request and response held is freed.</summary>
    public void Recycle()
    {
        Response.Reset();
        _body?.Release();
        Request.Finish(default, null);
        State = Http2TransactionState.Idle;
        Outcome = null;
        Error = null;
        OwesWrite = false;
        IsBodyPaused = false;
        WithheldCredit = 0;
        BodyBytes = 0;
    }

    /// <summary>Drops the buffered body once HttpMessage has been raised.</summary>
    public void ReleaseBody()
    {
        _body?.Release();
        Request.Finish(default, null);
    }

    public void BeginResponse(Connection connection, int status, long contentLength, string? contentType, ReadOnlySpan<(string Name, string Value)> headers, HttpBodyProducer? producer)
    {
        Response.Begin(_owner.Core, StreamId, _owner.Fields, status, contentLength, contentType, headers, Request.IsMethod("HEAD"u8));
        Response.Producer = producer;
        _owner.ResponseChanged(connection, this);
    }

    public bool WriteBody(Connection connection, ReadOnlySpan<byte> data)
    {
        Response.Write(_owner.Core, StreamId, data, isLast: false, connection.Manager.Ticks);
        bool more = (Response.CanTakeMore || Response.IsComplete) && connection.PendingSendBytes < connection.Manager.Options.SendHighWaterMark;
        OwesWrite |= !more; // a Write follows: on StreamWritable (window), or once the send buffer drains
        _owner.ResponseChanged(connection, this);
        return more;
    }

    public void EndResponse(Connection connection, ReadOnlySpan<(string Name, string Value)> trailers)
    {
        Response.End(_owner.Core, StreamId, _owner.Fields, trailers, connection.Manager.Ticks);
        _owner.ResponseChanged(connection, this);
    }

    public void Reply(Connection connection, int status, ReadOnlySpan<byte> body, string? contentType, ReadOnlySpan<(string Name, string Value)> headers)
    {
        Response.Begin(_owner.Core, StreamId, _owner.Fields, status, body.Length, contentType, headers, Request.IsMethod("HEAD"u8));
        if (!body.IsEmpty) Response.Write(_owner.Core, StreamId, body, isLast: true, connection.Manager.Ticks);
        _owner.ResponseChanged(connection, this);
    }

    private void Begin(int streamId)
    {
        StreamId = streamId;
        Request.Start(_head.Head);
        Request.ProtocolVersion = "2";
        State = Http2TransactionState.Receiving;
    }
}
