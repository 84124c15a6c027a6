// How this file works: one HTTP/1.1 client connection as a sans-I/O state machine, in the shape of
// h11. Requests go in through the Send* methods and come out as bytes (Output, for the caller to
// write); bytes received go in through Receive, with the end of stream, and come out as events,
// one per call:
//   Interim* Head Body* Message Done      a response; the next (pipelined) one may follow
//   Head Body* Done(aborted) Error        a response cut short or broken after its head
//   Error                                 a failure before any head: nothing began
//   Close                                 the connection is done with: close it
// Every Head is followed by exactly one Done, before Error or Close, whatever happens; when the
// transport fails or is closed from outside, Abort says whether a Done is still owed. Time is an
// argument: the core's only timer is the 100-continue wait (NextDeadline, OnTimer). The sending
// side is RequestWriter's state machine; this file is the receiving side and what joins them.
//
// States and their legal successors (Idle < ... < Closed: "State >= MustClose" means no more requests):
//   Idle             no response is due       -> AwaitingResponse (a request is sent), Failed (data arrived with no
//                                                request outstanding), MustClose (the server closed), Closed (Abort)
//   AwaitingResponse requests are out; the first one's final head has not arrived (1xx heads pass by here)
//                                             -> InResponse (its head), Failed (a broken head, the stream ended), Closed (Abort)
//   InResponse       the head was reported; the body arrives
//                                             -> Ending (the body ended: Message), Failed (Done with the reason, then Error),
//                                                Closed (Abort: the caller raises the Done)
//   Ending           Message was reported and Done is next
//                                             -> Idle or AwaitingResponse (the connection persists), MustClose (the response
//                                                ends the connection), Failed (it ends it with requests unanswered),
//                                                Switched (a 101 to a request that accepts upgrades),
//                                                Closed (Abort: the caller raises Done, Completed)
//   MustClose        the last response ended the connection: nothing more is read or sent -> Closed
//   Switched         a 101 ended HTTP on this connection: the rest of the stream is the caller's (the
//                    reverse proxy's tunnel); nothing more is read or sent -> Closed
//   Failed           the error was reported, and is again on every call -> Closed
//   Closed           the transport is gone. Terminal.
using System.Buffers;
using System.Text;
using static Meerkat.Http.HttpSyntax;

namespace Meerkat.Http.Client;

/// <summary>Where a client connection's receiving side is (see the file header for the successors).</summary>
internal enum HttpClientState { Idle, AwaitingResponse, InResponse, Ending, MustClose, Switched, Failed, Closed }

/// <summary>What <see cref="HttpClientCore.Receive"/> found.</summary>
internal enum HttpClientEvent
{
    /// <summary>Nothing complete at the start of the input; call again with more bytes (consumed may be non-zero).</summary>
    NeedMoreData,
    /// <summary>A 1xx response (<see cref="HttpClientCore.InterimStatus"/>); a 100 may have released a held body into the output.</summary>
    Interim,
    /// <summary>A final response head (<see cref="HttpClientCore.Response"/>): a transaction begins.</summary>
    Head,
    /// <summary>A piece of body, de-chunked (<see cref="HttpClientCore.Body"/>, a slice of the input).</summary>
    Body,
    /// <summary>The body ended; trailers are in the response, a buffered body in <see cref="HttpClientCore.BufferedBody"/>.</summary>
    Message,
    /// <summary>The transaction ended (<see cref="HttpClientCore.Outcome"/>; <see cref="HttpClientCore.Error"/> when aborted).</summary>
    Done,
    /// <summary>The connection failed (<see cref="HttpClientCore.Error"/>); reported again on every later call.</summary>
    Error,
    /// <summary>The connection is done with (the server closed an idle connection, or a response ended it): close it.</summary>
    Close,
}

/// <summary>The sans-I/O client side of one HTTP/1.1 connection. Loop thread only.</summary>
internal sealed class HttpClientCore
{
    /// <summary>A request sent whose response has not ended. Reused: one per keep-alive connection.</summary>
    private sealed class Outstanding
    {
        public string Method = "";
        public bool BufferResponse;
        public bool ClosesConnection;
        public bool AcceptsUpgrade;
    }

    private readonly HttpMessageReader reader;
    private readonly RequestWriter writer = new();
    private readonly Queue<Outstanding> outstanding = new();
    private readonly ArrayBufferWriter<byte> output = new(1024);
    private readonly FieldStrings strings = new();
    private readonly int maxBufferedBodySize;
    private readonly long continueTicks;
    private Outstanding? spare;
    private ArrayBufferWriter<byte>? buffered;
    // The minor version of the last final response: chunked request bodies need an HTTP/1.1 peer (RFC 9112 §6.1).
    private int peerMinorVersion = -1;

    /// <param name="limits">Parser limits for response heads, chunks and trailers.</param>
    /// <param name="maxBufferedBodySize">Largest body kept for a request with <see cref="HttpClientRequest.BufferResponse"/>.</param>
    /// <param name="expectContinueTicks">How long a body waits for 100 Continue, in the manager's clock ticks (Stopwatch units).</param>
    public HttpClientCore(HttpLimits limits, int maxBufferedBodySize, long expectContinueTicks)
    {
        reader = new HttpMessageReader(isRequest: false, limits);
        this.maxBufferedBodySize = maxBufferedBodySize;
        continueTicks = expectContinueTicks;
    }

    public HttpClientState State { get; private set; }

    /// <summary>The response being (or last) received; it outlives the events and may be kept.</summary>
    public HttpResponse? Response { get; private set; }

    /// <summary>With <see cref="HttpClientEvent.Body"/>: the piece, a slice of the input given to that call.</summary>
    public ReadOnlyMemory<byte> Body { get; private set; }

    /// <summary>With <see cref="HttpClientEvent.Message"/>: the whole body when the request asked for it, else empty.</summary>
    public ReadOnlySpan<byte> BufferedBody => buffered is null ? [] : buffered.WrittenSpan;

    /// <summary>With <see cref="HttpClientEvent.Interim"/>: the 1xx status.</summary>
    public int InterimStatus => reader.Head.StatusCode;

    /// <summary>With <see cref="HttpClientEvent.Done"/>: how the transaction ended.</summary>
    public HttpOutcome Outcome { get; private set; }

    /// <summary>With <see cref="HttpClientEvent.Error"/> (and an aborted <see cref="HttpClientEvent.Done"/>): what went wrong.</summary>
    public HttpClientException? Error { get; private set; }

    /// <summary>Requests sent whose responses have not ended.</summary>
    public int OutstandingCount => outstanding.Count;

    /// <summary>True while a request body is being streamed or held for 100 Continue: no request may start.</summary>
    public bool IsSendingBody => writer.State is RequestWriterState.SendingBody or RequestWriterState.AwaitingContinue;

    /// <summary>False when the end of stream could be a forgery or a cut (TLS without close_notify): a
    /// read-until-close body then fails instead of completing (RFC 9112 §9.8). Default true.</summary>
    public bool IsEndOfStreamAuthenticated { get; set; } = true;

    /// <summary>Bytes to send, produced by the Send methods, <see cref="Receive"/> (a released body) and
    /// <see cref="OnTimer"/>; the caller writes them and calls <see cref="ClearOutput"/>.</summary>
    public ReadOnlySpan<byte> Output => output.WrittenSpan;

    public void ClearOutput() => output.ResetWrittenCount();

    /// <summary>When <see cref="OnTimer"/> has work (manager ticks), or <see cref="long.MaxValue"/>.</summary>
    public long NextDeadline => writer.ContinueDeadline;

    // ------------------------------------------------------------------ sending

    /// <summary>A request with a whole body (or none). With <c>Expect: 100-continue</c> the body waits for
    /// 100 Continue or <see cref="NextDeadline"/>. False, with nothing written, when the connection takes no
    /// more requests (<see cref="State"/> &gt;= MustClose, or a request asked to close).</summary>
    /// <exception cref="ArgumentException">The request breaks a rule of RFC 9110/9112 or carries a field the client writes.</exception>
    /// <exception cref="InvalidOperationException">A request body is still being sent.</exception>
    /// <param name="request">The request.</param>
    /// <param name="now">The time, in the manager's clock ticks (Stopwatch units).</param>
    /// <param name="trace">The request's client span, whose trace context goes into the head; null for none.</param>
    public bool SendRequest(HttpClientRequest request, long now, System.Diagnostics.Activity? trace = null)
    {
        var content = request.Content ?? ReadOnlyMemory<byte>.Empty;
        bool hasBody = request.Content is not null || request.Method is "POST" or "PUT" or "PATCH";
        bool expectContinue = string.Equals(request.GetHeader("Expect"), "100-continue", StringComparison.OrdinalIgnoreCase);
        if (expectContinue && content.IsEmpty)
            throw new ArgumentException("Expect: 100-continue needs a request with content (RFC 9110 §10.1.1)", nameof(request));
        if (!Begin(request, hasBody ? content.Length : RequestWriter.NoBody, trace, out var entry)) return false;
        if (expectContinue) writer.Hold(content, entry, now + continueTicks, entry.ClosesConnection);
        else writer.WriteWholeBody(output, content.Span, entry.ClosesConnection);
        return true;
    }

    /// <summary>A request whose body follows through <see cref="SendRequestBody"/> and <see cref="EndRequestBody"/>:
    /// <paramref name="contentLength"/> bytes, or chunked when it is -1. False as for <see cref="SendRequest"/>.</summary>
    public bool SendRequestHead(HttpClientRequest request, long contentLength, System.Diagnostics.Activity? trace = null)
    {
        if (contentLength == RequestWriter.Chunked && peerMinorVersion == 0)
            throw new InvalidOperationException("the server answered HTTP/1.0 on this connection, so a chunked body cannot be sent: give its length (RFC 9112 §6.1)");
        if (!Begin(request, contentLength, trace, out var entry)) return false;
        writer.StartBody(contentLength, entry.ClosesConnection);
        return true;
    }

    /// <exception cref="InvalidOperationException">No streamed body is in progress, or the piece runs past its Content-Length.</exception>
    public void SendRequestBody(ReadOnlySpan<byte> data) => writer.WriteBodyPiece(output, data);

    /// <exception cref="InvalidOperationException">No streamed body is in progress, or it is shorter than its Content-Length.</exception>
    public void EndRequestBody(IEnumerable<KeyValuePair<string, string>>? trailers) => writer.EndBody(output, trailers);

    /// <summary>The 100-continue wait ran out: the held body is written.</summary>
    public void OnTimer(long now)
    {
        if (writer.State == RequestWriterState.AwaitingContinue && now - writer.ContinueDeadline >= 0) writer.Release(output);
    }

    private bool Begin(HttpClientRequest request, long contentLength, System.Diagnostics.Activity? trace, out Outstanding entry)
    {
        entry = null!;
        if (IsSendingBody) throw new InvalidOperationException("the previous request's body is still being sent (or waits for 100 Continue)");
        if (State >= HttpClientState.MustClose || writer.State == RequestWriterState.Finished) return false;
        CheckMethod(request, contentLength);
        bool closes = writer.WriteHead(output, request, contentLength, trace);
        entry = spare ?? new Outstanding();
        spare = null;
        entry.Method = request.Method;
        entry.BufferResponse = request.BufferResponse;
        entry.ClosesConnection = closes;
        entry.AcceptsUpgrade = request.AcceptsUpgrade;
        outstanding.Enqueue(entry);
        if (State == HttpClientState.Idle)
        {
            State = HttpClientState.AwaitingResponse;
            ExpectResponseTo(entry.Method);
        }
        return true;
    }

    /// <summary>Requests this client cannot or must not send as asked.</summary>
    private static void CheckMethod(HttpClientRequest request, long contentLength)
    {
        // RFC 9110 §9.3.6: CONNECT needs the authority-form and turns the connection into a tunnel.
        if (request.Method == "CONNECT") throw new ArgumentException("CONNECT is not supported: this client does not open tunnels", nameof(request));
        // RFC 9110 §9.3.8: a client MUST NOT send content in a TRACE request.
        if (request.Method == "TRACE" && contentLength is not (RequestWriter.NoBody or 0))
            throw new ArgumentException("a TRACE request must not have content (RFC 9110 §9.3.8)", nameof(request));
    }

    // ------------------------------------------------------------------ receiving

    /// <summary>Returns the next event found at the start of <paramref name="input"/>. With
    /// <paramref name="endOfStream"/> true it never returns <see cref="HttpClientEvent.NeedMoreData"/>, except once
    /// Switched (the stream is no longer HTTP).</summary>
    /// <param name="input">The unconsumed bytes received so far.</param>
    /// <param name="endOfStream">The server has closed its side: nothing follows <paramref name="input"/>.</param>
    /// <param name="consumed">Bytes of <paramref name="input"/> used; discard them once done with the event's views.</param>
    public HttpClientEvent Receive(ReadOnlyMemory<byte> input, bool endOfStream, out int consumed)
    {
        consumed = 0;
        Body = default;
        switch (State)
        {
            case HttpClientState.Idle:
                return ReceiveWhileIdle(input.Span, endOfStream, out consumed);
            case HttpClientState.AwaitingResponse or HttpClientState.InResponse:
                return Read(input, endOfStream, out consumed);
            case HttpClientState.Ending:
                return EndTransaction();
            case HttpClientState.Failed:
                return HttpClientEvent.Error;
            case HttpClientState.Switched:
                return HttpClientEvent.NeedMoreData; // the bytes left belong to the protocol switched to
            default:
                return HttpClientEvent.Close;
        }
    }

    /// <summary>The transport failed or is being closed from outside (<paramref name="reason"/>). True when a
    /// transaction was open: the caller raises its Done with <paramref name="outcome"/> (Completed when its
    /// message had already ended).</summary>
    public bool Abort(HttpOutcome reason, out HttpOutcome outcome)
    {
        bool owed = State is HttpClientState.InResponse or HttpClientState.Ending;
        outcome = State == HttpClientState.Ending ? HttpOutcome.Completed : reason;
        if (owed) Outcome = outcome;
        State = HttpClientState.Closed;
        writer.Finish();
        buffered = null;
        return owed;
    }

    /// <summary>RFC 9112 §9.2: data with no request outstanding is not a response; only stray CRLFs (§2.2) are dropped.</summary>
    private HttpClientEvent ReceiveWhileIdle(ReadOnlySpan<byte> input, bool endOfStream, out int consumed)
    {
        consumed = 0;
        if (input.IndexOfAnyExcept(CR, LF) >= 0) return Fail(HttpOutcome.ProtocolError, "the server sent data with no request outstanding");
        consumed = input.Length;
        if (!endOfStream) return HttpClientEvent.NeedMoreData;
        State = HttpClientState.MustClose;
        return HttpClientEvent.Close;
    }

    private HttpClientEvent Read(ReadOnlyMemory<byte> input, bool endOfStream, out int consumed)
    {
        switch (reader.Read(input, endOfStream, out consumed))
        {
            case HttpReadResult.NeedMoreData:
                return endOfStream ? EndedEarly(anyBytes: false) : HttpClientEvent.NeedMoreData;
            case HttpReadResult.Interim:
                // A 100 releases the body held for it; other 1xx are passed over (RFC 9110 §15.2).
                if (reader.Head.StatusCode == 100 && writer.Holder == outstanding.Peek()) writer.Release(output);
                return HttpClientEvent.Interim;
            case HttpReadResult.Head:
                return OnHead();
            case HttpReadResult.Body:
                return OnBody(reader.Body);
            case HttpReadResult.MessageEnd:
                return OnMessageEnd(endOfStream);
            case HttpReadResult.Upgrade:
                return Fail(HttpOutcome.ProtocolError, "the server switched protocols, which this client does not support");
            default:
                return reader.Error == HttpError.IncompleteMessage ? EndedEarly(anyBytes: true) : Fail(HttpOutcome.ProtocolError, $"malformed response: {reader.Error.Message()}");
        }
    }

    private HttpClientEvent OnHead()
    {
        var head = reader.Head;
        var entry = outstanding.Peek();
        // RFC 9110 §7.8: a server must not switch to a protocol the client did not ask for, and this client asks
        // for none, unless the request is the reverse proxy's tunnelled upgrade.
        if (head.StatusCode == 101 && !entry.AcceptsUpgrade) return Fail(HttpOutcome.ProtocolError, "the server switched protocols (101), which this client does not support");
        if (head.Framing != HttpFraming.None && OtherTransferCoding(head.Headers) is { } coding)
            return Fail(HttpOutcome.ProtocolError, $"the response uses the transfer coding '{coding}', which this client does not decode (it asks for none, RFC 9112 §7.4)");
        if (writer.Holder == entry)
        {
            // A final answer before 100 Continue: the body is never sent, so the server and we disagree
            // about where the next request would start; the connection ends with this response.
            writer.Drop();
            entry.ClosesConnection = true;
        }
        peerMinorVersion = head.VersionMinor;
        Response = new HttpResponse(head, entry.Method, strings);
        buffered = entry.BufferResponse ? new ArrayBufferWriter<byte>() : null;
        State = HttpClientState.InResponse;
        return HttpClientEvent.Head;
    }

    private HttpClientEvent OnBody(ReadOnlyMemory<byte> piece)
    {
        Response!.BodyBytesReceived += piece.Length;
        if (buffered is not null)
        {
            if (buffered.WrittenCount + (long)piece.Length > maxBufferedBodySize)
                return Fail(HttpOutcome.ProtocolError, $"the response body is larger than MaxBufferedBodySize ({maxBufferedBodySize} bytes)");
            buffered.Write(piece.Span);
        }
        Body = piece;
        return HttpClientEvent.Body;
    }

    private HttpClientEvent OnMessageEnd(bool endOfStream)
    {
        // RFC 9112 §8, §9.8: a read-until-close body is complete only if the close itself can be trusted.
        if (endOfStream && Response!.Framing == HttpFraming.UntilClose && !IsEndOfStreamAuthenticated)
            return Fail(HttpOutcome.PeerClosed, $"the TLS connection closed without close_notify, so the read-until-close response body may be cut short ({Received()})");
        Response!.SetTrailers(reader.Trailers);
        State = HttpClientState.Ending;
        return HttpClientEvent.Message;
    }

    /// <summary>Ending -> Done: the response is over; decide whether the connection goes on.</summary>
    private HttpClientEvent EndTransaction()
    {
        // Answered before its streamed body was all sent (a 413, say): the body's end would land where the server reads a request.
        bool answeredMidBody = writer.State == RequestWriterState.SendingBody && outstanding.Count == 1;
        var entry = outstanding.Dequeue();
        if (Response!.StatusCode == 101)
        {
            // RFC 9110 §15.2.2: the connection now speaks the protocol switched to, from the byte after this head.
            spare = entry;
            Outcome = HttpOutcome.Completed;
            writer.Finish();
            State = HttpClientState.Switched;
            return HttpClientEvent.Done;
        }
        bool persists = Response!.KeepAlive && !entry.ClosesConnection && !answeredMidBody;
        spare = entry;
        buffered = null;
        Outcome = HttpOutcome.Completed;
        if (!persists)
        {
            // RFC 9112 §9.6: after a close, no further request; pipelined ones will not be answered.
            writer.Finish();
            State = HttpClientState.MustClose;
            if (outstanding.Count > 0)
            {
                Error = new HttpClientException($"the server closed the connection with {outstanding.Count} request(s) unanswered");
                State = HttpClientState.Failed;
            }
        }
        else if (outstanding.TryPeek(out var next))
        {
            State = HttpClientState.AwaitingResponse;
            ExpectResponseTo(next.Method);
        }
        else
        {
            State = HttpClientState.Idle;
        }
        return HttpClientEvent.Done;
    }

    /// <summary>The stream ended where the response (or the one awaited) is not complete: never a short
    /// success (RFC 9112 §8). <paramref name="anyBytes"/>: some of a head had arrived.</summary>
    private HttpClientEvent EndedEarly(bool anyBytes) => State == HttpClientState.AwaitingResponse && !anyBytes
        ? Fail(HttpOutcome.PeerClosed, "the server closed the connection before sending a response")
        : Fail(HttpOutcome.PeerClosed, $"the connection closed before the response was complete ({Received()})");

    /// <summary>Reports an error: a Done first when a transaction is open (its reason is <paramref name="outcome"/>), then Error.</summary>
    private HttpClientEvent Fail(HttpOutcome outcome, string message)
    {
        bool started = State == HttpClientState.InResponse;
        Error = new HttpClientException(message, started);
        writer.Finish();
        State = HttpClientState.Failed;
        if (!started) return HttpClientEvent.Error;
        Outcome = outcome;
        return HttpClientEvent.Done;
    }

    private string Received() =>
        State != HttpClientState.InResponse || Response is null ? "no response head"
        : Response.ContentLength >= 0 ? $"{Response.BodyBytesReceived} of {Response.ContentLength} body bytes"
        : $"{Response.BodyBytesReceived} body bytes, {Response.Framing} framing";

    /// <summary>What the response reader must know of the request: only HEAD and CONNECT change how a
    /// response is framed (methods are case-sensitive, RFC 9110 §9.1).</summary>
    private void ExpectResponseTo(string method) =>
        reader.SetRequestMethod(method == "HEAD" ? "HEAD"u8 : method == "CONNECT" ? "CONNECT"u8 : "GET"u8);

    /// <summary>A transfer coding other than chunked (RFC 9112 §6.1), which this client never asks for (no TE field).</summary>
    private static string? OtherTransferCoding(HttpHeaders headers)
    {
        for (int i = 0; i < headers.Count; i++)
        {
            if (!Ascii.EqualsIgnoreCase(headers.GetName(i), "Transfer-Encoding"u8)) continue;
            var value = headers.GetValue(i);
            foreach (Range r in value.Split(Comma))
            {
                var coding = value[r];
                int semicolon = coding.IndexOf(Semicolon);
                coding = TrimWhitespace(semicolon < 0 ? coding : coding[..semicolon]);
                if (!coding.IsEmpty && !Ascii.EqualsIgnoreCase(coding, "chunked"u8)) return Encoding.Latin1.GetString(coding);
            }
        }
        return null;
    }
}
