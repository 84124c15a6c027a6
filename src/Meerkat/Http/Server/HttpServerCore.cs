// How this file works: the server side of one HTTP/1.1 connection as a sans-I/O state machine, in
// the shape of h11's Connection. Bytes, end of stream and the time go in (Next, Tick); events come
// out (HttpServerEvent), response bytes go to the output the caller gives, and State tells the
// caller whether to keep the connection (Idle), close it once the output is written (MustClose),
// close it now (Aborted) or hand it to another protocol (Switched). It owns no socket and reads no
// clock: `now` is an argument everywhere (Stopwatch ticks); only the Date field's wall clock comes
// from the TimeProvider given to the ResponseWriter.
//
// A transaction is one request and its response. It begins with the Headers event and ends with
// exactly one Done event, whatever happens: completed, or aborted with an HttpOutcome (Abort,
// HandlerFailed, a deadline in Tick, a protocol error). Request N+1 is not read before request N's
// Done, so pipelined bytes wait in the caller's buffer.
//
// States and their legal successors (ordered: the transaction is open from HeadDelivered to Responding):
//   Idle           between requests, no byte of the next one yet (idle deadline)
//                  -> ReadingHead (a byte arrives), MustClose (peer closed, idle deadline, shutdown)
//   ReadingHead    a head is arriving (whole-head deadline)
//                  -> HeadDelivered (Headers), MustClose (bad head: 4xx; 408; peer closed)
//   HeadDelivered  Headers was raised; the next step decides how the body is read
//                  -> ReadingBody, DiscardingBody, MustClose (413)
//   ReadingBody    the body goes to the handler, buffered or streamed (minimum data rate)
//                  -> Responding (Message), MustClose/Aborted (bad body, 413, body deadline, peer closed)
//   DiscardingBody the handler answered without asking for the body: read and drop it
//                  -> Responding (Message; or too much to drain: close after the response), MustClose/Aborted
//   Responding     the request is read; the response is being produced (deferred, streamed)
//                  -> Idle (Done, keep-alive), MustClose (Done, close), Switched (Done after 101)
//   MustClose      nothing more is read; close once the output is written (terminal)
//   Aborted        close now, dropping unsent output: a response was cut (terminal)
//   Switched       101 sent: the rest of the stream belongs to another protocol (terminal)
// Abort, HandlerFailed and Tick's send-stall deadline move any open transaction to MustClose or Aborted.
//
// The reader, the request, the response writer and the body buffer are leased (HttpServerWorkspace)
// from the first byte of a request until the connection is Idle again with nothing buffered: the
// lease ends in the Next call after the Done (whose event still reads the request), or in Release.
using System.Buffers;

namespace Meerkat.Http;

/// <summary>Where a server connection stands; see the file header for each state's successors.</summary>
internal enum HttpServerState { Idle, ReadingHead, HeadDelivered, ReadingBody, DiscardingBody, Responding, MustClose, Aborted, Switched }

/// <summary>What <see cref="HttpServerCore.Next"/> found.</summary>
internal enum HttpServerEventKind { NeedMoreData, Headers, Body, Message, Done }

/// <summary>One event of the server core; for Done, how the transaction ended and the exception behind it.</summary>
internal readonly record struct HttpServerEvent(HttpServerEventKind Kind, HttpOutcome Outcome = HttpOutcome.Completed, Exception? Error = null)
{
    public static HttpServerEvent NeedMoreData => default;
}

/// <summary>The sans-I/O server side of one HTTP/1.1 connection. Loop thread only; allocation-free on the keep-alive path.</summary>
internal sealed class HttpServerCore
{
    private static readonly byte[] Continue100 = "HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray();

    private readonly HttpServerOptions options;
    private readonly HttpServerWorkspacePool pool;
    private ServerDeadlines deadlines; // a mutable struct: never copy it out of this field
    // Leased while a request is in progress (see the file header); null on an idle connection.
    private HttpServerWorkspace? work;
    private ResponseContext context;
    private int heldHead;
    private long bodyBytes;
    private bool mustCloseAfter;
    private bool isShuttingDown;

    /// <summary>A core with a pool of its own (tests).</summary>
    public HttpServerCore(HttpServerOptions options, long now, TimeProvider? time = null)
        : this(options, now, new HttpServerWorkspacePool(options, time ?? TimeProvider.System))
    {
    }

    /// <summary>A core leasing its per-request state from <paramref name="pool"/> (its listener's, on this loop).</summary>
    public HttpServerCore(HttpServerOptions options, long now, HttpServerWorkspacePool pool)
    {
        this.options = options;
        this.pool = pool;
        deadlines = new ServerDeadlines(pool.DeadlineLimits, now);
    }

    public HttpServerOptions Options => options;

    public HttpServerState State { get; private set; }

    /// <summary>The request of the open transaction (reused: its spans are valid during the event), until
    /// the Next call after its Done.</summary>
    /// <exception cref="InvalidOperationException">No request is in progress: the connection is idle.</exception>
    public HttpRequest Request => (work ?? NoRequest()).Request;

    /// <summary>The response of the open transaction; null on an idle connection.</summary>
    public ResponseWriter? Response => work?.Response;

    /// <summary>Where the workspaces come from (the listener's, on this loop).</summary>
    public HttpServerWorkspacePool Pool => pool;

    /// <summary>True while the connection holds a workspace (a request is in progress or its Done was
    /// just returned).</summary>
    public bool HoldsWorkspace => work is not null;

    // The states that use these hold a workspace (the file header): `work!` keeps them inlined on the hot path.
    private HttpMessageReader Reader => work!.Reader;

    private IoBuffer BufferedBody => work!.Body;

    private ResponseWriter Writer => work!.Response;

    /// <summary>A throw helper, so that the accessors above stay small enough to inline.</summary>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    internal static HttpServerWorkspace NoRequest() => throw new InvalidOperationException("no request is in progress on this connection");

    /// <summary>The status and reason of the last head refused without a transaction (400, 408, 414, 431,
    /// 501, 505), for the caller to count and log; it clears it (<see cref="ClearRejection"/>).</summary>
    public (int Status, string Reason) Rejection { get; private set; }

    public void ClearRejection() => Rejection = default;

    /// <summary>The body piece of the last Body event: a slice of that call's input.</summary>
    public ReadOnlySpan<byte> BodyPiece => Reader.Body.Span;

    /// <summary>Headers was raised and Done was not yet.</summary>
    public bool IsInTransaction => State is >= HttpServerState.HeadDelivered and <= HttpServerState.Responding;

    /// <summary>A request waits for the start of its response.</summary>
    public bool IsAwaitingResponse => IsInTransaction && !Writer.IsStarted;

    /// <summary>The next event found in <paramref name="input"/> (the bytes received and not yet consumed).</summary>
    /// <param name="input">The receive buffer's unconsumed bytes.</param>
    /// <param name="endOfStream">The peer closed its side: no byte will follow <paramref name="input"/>.</param>
    /// <param name="now">The time, in Stopwatch ticks.</param>
    /// <param name="output">Where response bytes go (100 Continue, error answers).</param>
    /// <param name="consumed">Bytes the caller may discard once it is done with the event (its views point into <paramref name="input"/>).</param>
    public HttpServerEvent Next(ReadOnlyMemory<byte> input, bool endOfStream, long now, IBufferWriter<byte> output, out int consumed)
    {
        consumed = heldHead;
        while (true)
        {
            HttpServerEvent e;
            switch (State)
            {
                case HttpServerState.Idle or HttpServerState.ReadingHead:
                    if (ReadHead(input, endOfStream, now, output, ref consumed, out e)) return e;
                    break;
                case HttpServerState.HeadDelivered:
                    if (DecideBody(output, now, out e)) return e;
                    break;
                case HttpServerState.ReadingBody or HttpServerState.DiscardingBody:
                    if (ReadBody(input, endOfStream, output, ref consumed, out e)) return e;
                    break;
                case HttpServerState.Responding:
                    return Respond(endOfStream && input.Length == consumed, now);
                default:
                    return HttpServerEvent.NeedMoreData;
            }
        }
    }

    /// <summary>Deadlines (whole head, idle, body data rate, send stall); call it now and then, and
    /// after output progress (<paramref name="pendingOutput"/>: bytes written by the caller and not yet sent).</summary>
    /// <returns>Done(Deadline) when a deadline cut an open transaction; otherwise NeedMoreData (check <see cref="State"/>).</returns>
    /// <param name="input">The receive buffer's unconsumed bytes (a 408 to a HEAD request has no body).</param>
    /// <param name="now">The time, in Stopwatch ticks.</param>
    /// <param name="pendingOutput">Bytes written to the output and not yet sent to the peer.</param>
    /// <param name="output">Where a 408 goes.</param>
    /// <param name="isReadPaused">The caller stopped reading (its output is backed up): the body's data rate is not charged meanwhile.</param>
    public HttpServerEvent Tick(ReadOnlySpan<byte> input, long now, long pendingOutput, bool isReadPaused, IBufferWriter<byte> output)
    {
        switch (deadlines.Check(State, now, pendingOutput, isReadPaused, bodyBytes, input.IsEmpty))
        {
            case ServerDeadline.Idle:
                State = HttpServerState.MustClose;
                return HttpServerEvent.NeedMoreData;
            case ServerDeadline.Head:
                RejectHead(output, 408, "The request head took too long to arrive.", IsHeadRequest(input));
                return HttpServerEvent.NeedMoreData;
            case ServerDeadline.BodyRate:
                return EndEarly(output, 408, $"The request body arrived slower than {options.MinRequestBodyDataRate} bytes per second.", HttpOutcome.Deadline, null);
            case ServerDeadline.SendStall:
                return Abort(HttpOutcome.Deadline, null, pendingOutput);
            default:
                return HttpServerEvent.NeedMoreData;
        }
    }

    /// <summary>Output left the caller's buffer: the send-stall clock restarts.</summary>
    public void OutputProgressed(long now) => deadlines.OutputProgressed(now);

    /// <summary>The connection is going away (reset, closed by the application, manager disposed, shutdown
    /// deadline). Returns the Done that ends an open transaction, or NeedMoreData when none was open.
    /// A transaction whose response was complete and fully sent (<paramref name="pendingOutput"/> 0) did complete.</summary>
    public HttpServerEvent Abort(HttpOutcome outcome, Exception? error, long pendingOutput)
    {
        if (State is HttpServerState.Switched or HttpServerState.Aborted) return HttpServerEvent.NeedMoreData;
        bool wasOpen = IsInTransaction;
        bool completed = State == HttpServerState.Responding && Writer.IsComplete && pendingOutput == 0;
        State = completed ? HttpServerState.MustClose : HttpServerState.Aborted;
        if (!wasOpen) return HttpServerEvent.NeedMoreData;
        return EndTransaction(completed ? HttpOutcome.Completed : outcome, completed ? null : error);
    }

    /// <summary>The handler threw on an HTTP event: 500 with <c>Connection: close</c> when the response
    /// has not started, an abort when it is half sent. Returns the Done that ends the transaction
    /// (NeedMoreData when none was open, e.g. the handler threw on Done: the connection just closes).</summary>
    public HttpServerEvent HandlerFailed(IBufferWriter<byte> output, Exception error)
    {
        if (!IsInTransaction)
        {
            if (State != HttpServerState.Aborted) State = HttpServerState.MustClose; // no switch either, after a failed Done
            return HttpServerEvent.NeedMoreData;
        }
        return EndEarly(output, 500, "The server failed to answer this request.", HttpOutcome.HandlerError, error);
    }

    /// <summary>A graceful shutdown began: an idle connection closes now, a busy one after its current
    /// response (which says <c>Connection: close</c> if it has not started).</summary>
    public void Shutdown()
    {
        isShuttingDown = true;
        if (State == HttpServerState.Idle) State = HttpServerState.MustClose;
    }

    /// <summary>Whether a response started now must say <c>Connection: close</c>.</summary>
    /// <param name="peerFinished">The peer closed its side and every byte it sent has been read.</param>
    public bool WillClose(bool peerFinished) =>
        mustCloseAfter || isShuttingDown || peerFinished || !context.KeepAlive
        || State == HttpServerState.HeadDelivered && Request.HasBody && !Request.StreamBody && !CanDrainRest();

    /// <summary>Answers a 101 to the pending upgrade request; the connection is Switched after its Done.</summary>
    public void SwitchProtocols(IBufferWriter<byte> output, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        RequireAwaitingResponse();
        Writer.SwitchProtocols(output, headers, options.ServerName);
    }

    /// <summary>Starts the response to the pending request. <paramref name="monotonic"/>: the caller's
    /// last reading of the system's monotonic clock (Stopwatch ticks; the loop's per-iteration one), or
    /// 0; it only spares the Date field a wall clock read.</summary>
    public void BeginResponse(IBufferWriter<byte> output, int status, long contentLength, string? contentType,
        ReadOnlySpan<(string Name, string Value)> headers, bool peerFinished, long monotonic = 0)
    {
        RequireAwaitingResponse();
        Writer.Begin(output, context, status, contentLength, contentType, headers, WillClose(peerFinished), options.ServerName, monotonic);
    }

    /// <summary>Gives back the workspace; the connection is gone or another protocol has it.</summary>
    public void Release()
    {
        if (work is null) return;
        pool.Return(work);
        work = null;
    }

    private bool ReadHead(ReadOnlyMemory<byte> input, bool endOfStream, long now, IBufferWriter<byte> output, ref int consumed, out HttpServerEvent e)
    {
        e = HttpServerEvent.NeedMoreData;
        var rest = input[consumed..];
        if (State == HttpServerState.Idle)
        {
            if (rest.IsEmpty)
            {
                Release(); // idle: the last Done was delivered, and no byte of a next request is here
                if (endOfStream) State = HttpServerState.MustClose; // the peer closed between requests
                return true;
            }
            work ??= pool.Rent();
            State = HttpServerState.ReadingHead;
            deadlines.HeadStarted(now);
        }
        var result = Reader.Read(rest, endOfStream, out int used);
        switch (result)
        {
            case HttpReadResult.Head:
                HttpError hostError = HostRules.Check(Reader.Head);
                if (hostError != HttpError.None)
                {
                    RejectHead(output, hostError.StatusCode(), hostError.Message(), Reader.Head.IsMethod("HEAD"u8));
                    return true;
                }
                BeginTransaction(rest, used, ref consumed);
                e = new HttpServerEvent(HttpServerEventKind.Headers);
                return true;
            case HttpReadResult.Error:
                RejectHead(output, Reader.ErrorStatusCode, Reader.Error.Message(), IsHeadRequest(rest.Span));
                return true;
            default:
                consumed += used;
                if (endOfStream && consumed == input.Length) State = HttpServerState.MustClose; // only blank lines before the close
                return true;
        }
    }

    /// <summary>The head is complete: the transaction begins. A head whose request has a body is copied,
    /// so it stays readable while the body moves through the caller's buffer; a head without one stays
    /// in the caller's input (held, not reported consumed) until its Message.</summary>
    private void BeginTransaction(ReadOnlyMemory<byte> rest, int headLength, ref int consumed)
    {
        var head = Reader.Head;
        bool hasBody = head.Framing == HttpFraming.Chunked || head.ContentLength > 0;
        Request.Start(hasBody ? work!.StableCopy(rest.Span[..headLength]) : head);
        context = new ResponseContext(head.IsMethod("HEAD"u8), head.VersionMinor == 1, head.KeepAlive);
        mustCloseAfter = !head.KeepAlive;
        bodyBytes = 0;
        if (hasBody) consumed += headLength;
        else
        {
            // Nothing is reported consumed until Message: the caller's buffer cannot move under the head
            // (a TLS layer refills it when bytes are consumed).
            heldHead = consumed + headLength;
            consumed = 0;
        }
        State = HttpServerState.HeadDelivered;
    }

    /// <summary>After Headers: what the handler did there decides how the body is read.</summary>
    private bool DecideBody(IBufferWriter<byte> output, long now, out HttpServerEvent e)
    {
        e = HttpServerEvent.NeedMoreData;
        if (!Request.HasBody)
        {
            State = HttpServerState.ReadingBody;
            return false;
        }
        deadlines.BodyStarted(now);
        if (Writer.IsStarted && !Request.StreamBody)
        {
            State = HttpServerState.DiscardingBody; // answered before the body: read and drop what we may
            return false;
        }
        long limit = BodyLimit;
        if (Request.ContentLength > limit)
        {
            e = EndEarly(output, 413, $"The request body of {Request.ContentLength} bytes exceeds the limit of {limit} bytes.", HttpOutcome.ProtocolError, null);
            return true;
        }
        if (Request.Head.ExpectContinue && !Writer.IsStarted) HeadWriting.Write(output, Continue100);
        State = HttpServerState.ReadingBody;
        return false;
    }

    private bool ReadBody(ReadOnlyMemory<byte> input, bool endOfStream, IBufferWriter<byte> output, ref int consumed, out HttpServerEvent e)
    {
        e = HttpServerEvent.NeedMoreData;
        var result = Reader.Read(input[consumed..], endOfStream, out int used);
        switch (result)
        {
            case HttpReadResult.Body:
                consumed += used;
                return OnBodyPiece(output, out e);
            case HttpReadResult.MessageEnd:
                consumed += used;
                heldHead = 0;
                State = HttpServerState.Responding;
                Request.Finish(BufferedBody.Memory, Reader.Trailers);
                e = new HttpServerEvent(HttpServerEventKind.Message);
                return true;
            case HttpReadResult.Error:
                bool cut = Reader.Error == HttpError.IncompleteMessage;
                e = EndEarly(output, Reader.ErrorStatusCode, Reader.Error.Message(), cut ? HttpOutcome.PeerClosed : HttpOutcome.ProtocolError, null);
                return true;
            default:
                consumed += used;
                return true;
        }
    }

    private bool OnBodyPiece(IBufferWriter<byte> output, out HttpServerEvent e)
    {
        e = HttpServerEvent.NeedMoreData;
        int length = Reader.Body.Length;
        bodyBytes += length;
        if (State == HttpServerState.DiscardingBody)
        {
            if (bodyBytes > options.MaxDrainSize)
            {
                mustCloseAfter = true; // too much to drain: stop reading, close after the response
                State = HttpServerState.Responding;
            }
            return false;
        }
        if (bodyBytes > BodyLimit)
        {
            e = EndEarly(output, 413, $"The request body exceeds the limit of {BodyLimit} bytes.", HttpOutcome.ProtocolError, null);
            return true;
        }
        if (!Request.StreamBody)
        {
            BufferedBody.Append(Reader.Body.Span);
            return false;
        }
        e = new HttpServerEvent(HttpServerEventKind.Body);
        return true;
    }

    /// <summary>The request is read: the transaction ends once the response is complete.</summary>
    private HttpServerEvent Respond(bool peerFinished, long now)
    {
        if (!BufferedBody.IsEmpty)
        {
            BufferedBody.Consume(BufferedBody.Length); // Message has been raised: the buffered body is no longer needed
            Request.Finish(default, null);
        }
        if (!Writer.IsComplete) return HttpServerEvent.NeedMoreData;
        bool close = mustCloseAfter || isShuttingDown || peerFinished || Writer.CloseAfter;
        bool switched = Writer.StatusCode == 101;
        bool declinedUpgrade = Request.Head.IsUpgrade && !switched;
        var done = EndTransaction(HttpOutcome.Completed, null);
        if (switched) State = HttpServerState.Switched;
        else if (close || declinedUpgrade && Request.IsMethod("CONNECT"u8)) State = HttpServerState.MustClose;
        else
        {
            if (declinedUpgrade) Reader.ContinueAfterDeclinedUpgrade();
            State = HttpServerState.Idle;
            deadlines.IdleStarted(now);
        }
        return done;
    }

    /// <summary>Ends an open transaction before its natural end: answers <paramref name="status"/> when the
    /// response has not started, else cuts the response (Aborted) or, if it was complete, just closes.</summary>
    private HttpServerEvent EndEarly(IBufferWriter<byte> output, int status, string message, HttpOutcome outcome, Exception? error)
    {
        if (!Writer.IsStarted)
        {
            WriteError(output, context, status, message);
            State = HttpServerState.MustClose;
        }
        else
        {
            status = Writer.StatusCode;
            State = Writer.IsComplete ? HttpServerState.MustClose : HttpServerState.Aborted;
        }
        return EndTransaction(outcome, error, status);
    }

    private HttpServerEvent EndTransaction(HttpOutcome outcome, Exception? error) => EndTransaction(outcome, error, Writer.StatusCode);

    private HttpServerEvent EndTransaction(HttpOutcome outcome, Exception? error, int status)
    {
        Request.ResponseStatus = status;
        Writer.Reset();
        heldHead = 0;
        if (!BufferedBody.IsEmpty) BufferedBody.Consume(BufferedBody.Length);
        return new HttpServerEvent(HttpServerEventKind.Done, outcome, error);
    }

    /// <summary>Answers a head that could not start a transaction (400, 408, 414, 431, 501, 505) and closes.</summary>
    private void RejectHead(IBufferWriter<byte> output, int status, string message, bool isHead)
    {
        Rejection = (status, message);
        WriteError(output, ResponseContext.Unparsed(isHead), status, message);
        State = HttpServerState.MustClose;
    }

    private void WriteError(IBufferWriter<byte> output, ResponseContext request, int status, string message)
    {
        var writer = Writer;
        writer.Reset();
        var text = System.Text.Encoding.UTF8.GetBytes(message + "\n");
        writer.Begin(output, request, status, text.Length, "text/plain; charset=utf-8", [], close: true, options.ServerName);
        writer.Write(output, text);
        writer.End(output);
        writer.Reset();
    }

    private void RequireAwaitingResponse()
    {
        if (!IsAwaitingResponse) throw new InvalidOperationException(IsInTransaction ? "the response to this request was already started" : "no request is waiting for a response");
    }

    private long BodyLimit => Request.StreamBody ? options.MaxStreamedBodySize : options.MaxBufferedBodySize;

    private bool CanDrainRest() => Request.ContentLength >= 0 && Request.ContentLength - bodyBytes <= options.MaxDrainSize;

    /// <summary>A request that failed before its head was parsed may still be HEAD: its answer then has no body (RFC 9110 §9.3.2).</summary>
    private static bool IsHeadRequest(ReadOnlySpan<byte> input)
    {
        while (input.StartsWith("\r\n"u8)) input = input[2..]; // blank lines before the request line (RFC 9112 §2.2)
        return input.StartsWith("HEAD "u8);
    }
}
