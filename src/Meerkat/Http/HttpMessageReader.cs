// How this file works: the glue a connection uses (h11's "next event"). Each Read looks at the
// start of the unconsumed input and returns the next event, reporting how many bytes it used.
// The reader keeps no copy of the input: head, body and trailer views point into the caller's
// buffer and live until the caller discards consumed bytes or calls Read again.
//
// States and their legal successors:
//   Head     -> Head (NeedMoreData, Interim), Body (Head), Failed
//   Body     -> Body (Body, NeedMoreData), Head (MessageEnd), Upgraded (MessageEnd of an upgrade), Failed
//   Upgraded -> Upgraded (the rest of the stream belongs to another protocol),
//               Head (ContinueAfterDeclinedUpgrade: the server answered without 101)
//   Failed   -> Failed (forever: the connection must answer the error and close)
namespace Meerkat.Http;

/// <summary>The event <see cref="HttpMessageReader.Read"/> returns.</summary>
internal enum HttpReadResult
{
    /// <summary>No complete event at the start of the input: read more bytes and call again with the same
    /// unconsumed bytes plus the new ones. <c>consumed</c> may be non-zero (framing bytes were used).</summary>
    NeedMoreData,
    /// <summary>A request or final response head: <see cref="HttpMessageReader.Head"/> is populated.</summary>
    Head,
    /// <summary>A 1xx interim response other than 101 (e.g. 100 Continue, 103 Early Hints); responses only.
    /// <see cref="HttpMessageReader.Head"/> holds it; the reader then continues with the next head.</summary>
    Interim,
    /// <summary>A piece of body data, de-chunked: <see cref="HttpMessageReader.Body"/>, a slice of the input.</summary>
    Body,
    /// <summary>The message is complete; <see cref="HttpMessageReader.Trailers"/> holds any trailer fields.
    /// The reader is ready for the next (pipelined) message.</summary>
    MessageEnd,
    /// <summary>The previous message switched protocols (Upgrade, CONNECT, 101): parsing has stopped and every
    /// remaining byte, from the start of the input, belongs to the other protocol. Returned on every later call.</summary>
    Upgrade,
    /// <summary>The peer broke the protocol: see <see cref="HttpMessageReader.Error"/>. Returned on every later call.</summary>
    Error,
}

/// <summary>
/// Sans-I/O HTTP/1.1 message reader (RFC 9112): turns bytes into <see cref="HttpReadResult"/> events.
/// One instance per connection and direction; not thread-safe (use it on the connection's loop thread).
/// Allocation-free once warmed up.
/// </summary>
/// <remarks>
/// Call <see cref="Read"/> in a loop: after any event other than <see cref="HttpReadResult.NeedMoreData"/>,
/// <see cref="HttpReadResult.Upgrade"/> or <see cref="HttpReadResult.Error"/>, discard <c>consumed</c> bytes and call again
/// (even with empty input: a message without a body ends with no further bytes).
/// <see cref="Head"/>, <see cref="Body"/> and <see cref="Trailers"/> view the input passed to the call that
/// returned the event; they are valid until that buffer is changed or Read is called again
/// (<see cref="Head"/>'s scalar properties stay valid until the next head).
/// </remarks>
internal sealed class HttpMessageReader
{
    private enum State { Head, Body, Upgraded, Failed }

    private readonly HttpLimits _limits;
    private readonly HeadParser _headParser;
    private readonly ContentLengthBodyReader _contentLength = new();
    private readonly ChunkedBodyReader _chunked = new();
    private readonly UntilCloseBodyReader _untilClose = new();
    private readonly HttpHeaders _noTrailers = new();
    private State _state;
    private bool _headStarted;
    private RequestContext _request;

    /// <summary>Creates a reader of requests (<paramref name="isRequest"/> true, server side) or responses (client side).</summary>
    public HttpMessageReader(bool isRequest, HttpLimits? limits = null)
    {
        IsRequest = isRequest;
        _limits = limits?.Snapshot() ?? HttpLimits.Defaults;
        _headParser = new HeadParser(isRequest);
        Head = new HttpHead(isRequest);
        StartMessage();
    }

    /// <summary>True when reading requests.</summary>
    public bool IsRequest { get; }

    /// <summary>The current message's head, populated by <see cref="HttpReadResult.Head"/> or <see cref="HttpReadResult.Interim"/>.</summary>
    public HttpHead Head { get; }

    /// <summary>The body piece of the last <see cref="HttpReadResult.Body"/> event: a slice of that call's input.</summary>
    public ReadOnlyMemory<byte> Body { get; private set; }

    /// <summary>Trailer fields of a chunked message, valid with <see cref="HttpReadResult.MessageEnd"/>; empty otherwise.</summary>
    public HttpHeaders Trailers => Head.Framing == HttpFraming.Chunked ? _chunked.Trailers : _noTrailers;

    /// <summary>Why the reader failed, after <see cref="HttpReadResult.Error"/>.</summary>
    public HttpError Error { get; private set; }

    /// <summary>The status a server should answer <see cref="Error"/> with (400, 413, 414, 431, 501, 505).</summary>
    public int ErrorStatusCode => Error.StatusCode();

    /// <summary>True between a head and its MessageEnd: end of stream now would cut a message short.</summary>
    public bool IsInMessage => _state == State.Body;

    /// <summary>Response readers: the method of the request the next response answers (HEAD responses have no
    /// body; a 2xx answer to CONNECT opens a tunnel). Call before the response's head arrives; applies to one response.</summary>
    public void SetRequestMethod(ReadOnlySpan<byte> method)
    {
        if (IsRequest) throw new InvalidOperationException("SetRequestMethod is for response readers; this reader reads requests.");
        _request = new RequestContext(method.SequenceEqual("HEAD"u8), method.SequenceEqual("CONNECT"u8));
    }

    /// <summary>Request readers: the server answered an Upgrade request without switching protocols (no 101),
    /// so the bytes after it are HTTP again. Call after <see cref="HttpReadResult.Upgrade"/>; reading resumes
    /// with the next request head.</summary>
    /// <exception cref="InvalidOperationException">The reader is not stopped at an upgrade, or the request was CONNECT.</exception>
    public void ContinueAfterDeclinedUpgrade()
    {
        if (_state != State.Upgraded || !IsRequest || Head.IsMethod("CONNECT"u8))
            throw new InvalidOperationException("ContinueAfterDeclinedUpgrade needs a request reader stopped at an Upgrade request (not CONNECT).");
        StartMessage();
    }

    /// <summary>Returns the next event found at the start of <paramref name="input"/>.</summary>
    /// <param name="input">The unconsumed bytes received so far.</param>
    /// <param name="endOfStream">True when the peer has closed its side: no more bytes will follow <paramref name="input"/>.</param>
    /// <param name="consumed">How many bytes of <paramref name="input"/> the event used; the caller may discard them
    /// (after it is done with the event's views).</param>
    public HttpReadResult Read(ReadOnlyMemory<byte> input, bool endOfStream, out int consumed)
    {
        consumed = 0;
        Body = default;
        return _state switch
        {
            State.Head => ReadHead(input, endOfStream, out consumed),
            State.Body => ReadBody(input, endOfStream, out consumed),
            State.Upgraded => HttpReadResult.Upgrade,
            _ => HttpReadResult.Error,
        };
    }

    private HttpReadResult ReadHead(ReadOnlyMemory<byte> input, bool endOfStream, out int consumed)
    {
        consumed = 0;
        if (!_headStarted && !input.IsEmpty)
        {
            Head.Reset(); // the previous message's facts stay readable until bytes of the next one arrive
            _headStarted = true;
        }
        switch (_headParser.Parse(input.Span, Head, Head.Headers, _limits))
        {
            case HeadStatus.Error:
                return Fail(_headParser.Error);
            case HeadStatus.Incomplete:
                consumed = _headParser.LeadingBlankBytes; // stray CRLFs between messages: drop them
                if (consumed > 0) _headParser.StartHead(_limits);
                return endOfStream && input.Length > consumed ? Fail(HttpError.IncompleteMessage) : HttpReadResult.NeedMoreData;
        }
        Head.Bind(input);
        HttpError error = MessageFraming.Decide(Head, _request, _limits);
        if (error != HttpError.None) return Fail(error);
        consumed = _headParser.Length;
        if (!IsRequest && Head.StatusCode < 200 && Head.StatusCode != 101)
        {
            StartMessage(keepRequest: true); // an interim response; the final one answers the same request
            return HttpReadResult.Interim;
        }
        StartBody();
        return HttpReadResult.Head;
    }

    private void StartBody()
    {
        _state = State.Body;
        switch (Head.Framing)
        {
            case HttpFraming.ContentLength: _contentLength.Start(Head.ContentLength); break;
            case HttpFraming.Chunked: _chunked.Start(_limits); break;
            case HttpFraming.UntilClose: _untilClose.Start(); break;
            default: _contentLength.Start(0); break;
        }
    }

    private HttpReadResult ReadBody(ReadOnlyMemory<byte> input, bool endOfStream, out int consumed)
    {
        int dataStart = 0, dataLength;
        HttpError error;
        BodyStatus status;
        switch (Head.Framing)
        {
            case HttpFraming.Chunked:
                status = _chunked.Read(input, endOfStream, _limits, out dataStart, out dataLength, out consumed, out error);
                break;
            case HttpFraming.UntilClose:
                status = _untilClose.Read(input.Span, endOfStream, _limits, out dataLength, out error);
                consumed = dataLength;
                break;
            default:
                status = _contentLength.Read(input.Span, endOfStream, out dataLength, out error);
                consumed = dataLength;
                break;
        }
        switch (status)
        {
            case BodyStatus.Data:
                Body = input.Slice(dataStart, dataLength);
                return HttpReadResult.Body;
            case BodyStatus.End:
                EndMessage();
                return HttpReadResult.MessageEnd;
            case BodyStatus.Error:
                return Fail(error);
            default:
                return HttpReadResult.NeedMoreData;
        }
    }

    private void EndMessage()
    {
        if (Head.IsUpgrade)
        {
            _state = State.Upgraded;
            return;
        }
        StartMessage();
        _state = State.Head;
    }

    /// <summary>Forgets the message in progress and waits for a new head (a server re-reading a copy
    /// of a head it must keep, say).</summary>
    internal void Restart() => StartMessage();

    /// <summary>Prepares for the next head; <see cref="Head"/> is reset only when its first bytes arrive.</summary>
    private void StartMessage(bool keepRequest = false)
    {
        _state = State.Head;
        _headParser.StartHead(_limits);
        _headStarted = false;
        if (!keepRequest) _request = default;
    }

    private HttpReadResult Fail(HttpError error)
    {
        Error = error;
        _state = State.Failed;
        return HttpReadResult.Error;
    }
}
