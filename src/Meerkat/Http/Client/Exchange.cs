// How this file works: one request by MeerkatHttpClient, on the loop thread, through as many
// attempts as it takes. The pool assigns it a connection; it sends the request, turns the
// connection's HTTP events into the awaited HttpClientResponse and the body pipe, and watches the
// one deadline its state calls for (connect, response head, body idle). Its state is ordered:
// Waiting < Connecting < Pipelined < Sent < SentOnReused < Receiving < ReaderBehind < Finished, so
// "the response has started" reads State >= Receiving, and the decisions to send it again are read
// off the state the connection was lost in: Pipelined (never answered: resent, a few times at most),
// SentOnReused with nothing received (the server had closed the kept-alive connection: retried once,
// on a new connection, for idempotent methods). Only the Task and the body pipe cross threads.
//
// States and their legal successors:
//   Waiting       not on a connection (new, queued at its origin, or between attempts)
//                                         -> Connecting, Pipelined, SentOnReused, Finished
//   Connecting    on a connection being opened; the connect deadline runs -> Sent, Finished
//   Pipelined     sent behind other requests on a busy connection; no deadline until its turn
//                                         -> SentOnReused (its turn), Waiting (the connection closed first), Finished
//   Sent          sent on a new connection; the response-head deadline runs -> Receiving, Finished
//   SentOnReused  sent on a kept-alive connection, which may turn out to have been closed by the server;
//                 the response-head deadline runs -> Receiving, Waiting (stale: sent again), Finished
//   Receiving     the head arrived; the body flows into the pipe; the body-idle deadline runs -> ReaderBehind, Finished
//   ReaderBehind  the pipe is full: the connection is paused until the reader drains it; no deadline -> Receiving, Finished
//   Finished      completed, failed or aborted. Terminal.
//
// On an HTTP/2 connection the exchange is one stream of many (Http2ClientStream, given by
// Http2ClientProtocol.Send with the exchange as its tag): its body is sent, paused, resumed and
// cancelled through the stream, so a cancellation or a deadline resets that stream only
// (RST_STREAM CANCEL) and the connection carries on. A stream that ends before its response head is
// handed back (OnStreamLost): one the server never processed (refused, above a GOAWAY's last stream)
// is sent again, a few times at most; otherwise it is as if its connection were lost.
using System.Buffers;
using System.Diagnostics;
using Meerkat.Http2;

namespace Meerkat.Http.Client;

/// <summary>Where an <see cref="Exchange"/> is; ordered (see the file header).</summary>
internal enum ExchangeState { Waiting, Connecting, Pipelined, Sent, SentOnReused, Receiving, ReaderBehind, Finished }

/// <summary>How the pool gave an exchange its connection.</summary>
internal enum Assignment
{
    /// <summary>A connection opened for it, not yet connected.</summary>
    New,
    /// <summary>A connected, kept-alive connection with nothing in flight.</summary>
    Reused,
    /// <summary>A kept-alive connection still answering earlier requests (pipelining).</summary>
    Pipelined,
}

internal sealed class Exchange : ILoopWorkItem, ResponseBodyStream.IOwner, RequestUpload.IOwner
{
    /// <summary>Which deadline is armed; its message is built only if it fires.</summary>
    private enum Deadline { None, Connect, ResponseHead, BodyIdle }

    private const int MaxPipelineResends = 3;
    private const int MaxStaleRetries = 1;

    private readonly ConnectionPool pool;
    private readonly MeerkatHttpClientOptions options;
    private readonly Func<Exception>? cancelReason;
    private readonly TaskCompletionSource<HttpClientResponse> headers = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenRegistration cancellation;
    private readonly long bodyStart;
    // Volatile: Abandon reads it from Dispose's thread (see there).
    private volatile ResponseBodyStream? body;
    private Connection? connection;
    // HTTP/2: the connection's protocol and this exchange's stream on it, else null.
    private Http2ClientProtocol? http2;
    private Http2ClientStream? stream;
    private long deadline;
    private int staleRetries;
    private int pipelineResends;
    // A body streamed from Request.ContentStream: the current attempt's reader, and the last one (to rewind after it).
    private volatile RequestUpload? upload;
    private RequestUpload? lastUpload;
    // The head arrived but is not yet handed to the caller: it is, once the bytes at hand were
    // parsed (OnPumpEnded) or the response ended (OnDone), whichever is first, so a small body
    // that came with the head is complete when the caller sees the response.
    private HttpResponse? unpublished;
    // The caller's span when it called SendAsync: the client span's parent, though the request is sent from the loop thread.
    private readonly System.Diagnostics.Activity? parentSpan = System.Diagnostics.Activity.Current;

    public Exchange(ConnectionPool pool, HttpClientRequest request, MeerkatHttpClientOptions options, CancellationToken token, Func<Exception>? cancelReason,
        long bodyStart = -1)
    {
        this.bodyStart = bodyStart;
        this.pool = pool;
        this.options = options;
        this.cancelReason = cancelReason;
        Request = request;
        if (token.CanBeCanceled) cancellation = Register(token);
    }

    public HttpClientRequest Request { get; }

    public ExchangeState State { get; private set; }

    // Apart from the constructor, so that the closure is allocated only for a cancellable token.
    private CancellationTokenRegistration Register(CancellationToken token) =>
        token.Register(() => pool.Post(() => Abort(cancelReason?.Invoke() ?? new OperationCanceledException(token))));

    public Task<HttpClientResponse> Task => headers.Task;

    /// <summary>Skip idle pooled connections: one already turned out stale.</summary>
    public bool WantsFreshConnection => staleRetries > 0;

    public bool IsFinished => State == ExchangeState.Finished;

    /// <summary>One of an HTTP/2 connection's streams (set and cleared by the pool, loop thread).</summary>
    public bool IsStream { get; set; }

    // The pool's list of unfinished exchanges (ConnectionPool.Track), under its lock.
    internal Exchange? PreviousTracked { get; set; }
    internal Exchange? NextTracked { get; set; }
    internal bool IsTracked { get; set; }

    // ------------------------------------------------------------------ driven by the pool (loop thread)

    /// <summary>Whether this request may be pipelined: a safe method without a body, not closing its connection.</summary>
    public bool IsPipelinable => Request.Content is null && Request.ContentStream is null && Request.Method is "GET" or "HEAD" or "OPTIONS" or "TRACE"
        && Request.GetHeader("Connection")?.Contains("close", StringComparison.OrdinalIgnoreCase) != true;

    public void OnAssigned(Connection assigned, Assignment how)
    {
        connection = assigned;
        http2 = null;
        stream = null;
        switch (how)
        {
            case Assignment.New:
                Enter(ExchangeState.Connecting);
                break;
            case Assignment.Reused:
                Enter(ExchangeState.SentOnReused);
                Send();
                break;
            default:
                Enter(ExchangeState.Pipelined);
                Send();
                break;
        }
    }

    public void OnConnected()
    {
        if (State != ExchangeState.Connecting) return;
        Enter(ExchangeState.Sent);
        Send();
    }

    /// <summary>The responses ahead of this pipelined request are done: its own is next. False when it
    /// was cancelled meanwhile (the pool then closes the connection rather than read its response).</summary>
    public bool OnBecameHead()
    {
        if (IsFinished) return false;
        Enter(ExchangeState.SentOnReused);
        return true;
    }

    private void Send()
    {
        var ambient = System.Diagnostics.Activity.Current;
        if (parentSpan is not null) System.Diagnostics.Activity.Current = parentSpan;
        try
        {
            if (connection!.Protocol is Http2ClientProtocol multiplexed)
            {
                SendStream(multiplexed);
                return;
            }
            if (Request.ContentStream is { } content)
            {
                connection.SendRequestHead(Request, Request.ContentStreamLength ?? -1);
                upload = lastUpload = new RequestUpload(content, pool, this);
            }
            else
            {
                connection.SendRequest(Request);
            }
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            Abort(ex);
        }
        finally
        {
            if (parentSpan is not null) System.Diagnostics.Activity.Current = ambient;
        }
    }

    /// <summary>HTTP/2 (or a TLS connection whose ALPN answer is pending): the request becomes a stream tagged with this exchange.</summary>
    private void SendStream(Http2ClientProtocol protocol)
    {
        var c = connection!;
        var given = Request.ContentStream is null ? protocol.Send(c, Request, this) : protocol.SendHead(c, Request, Request.ContentStreamLength ?? -1, this);
        if (given is null)
        {
            // The connection stopped taking streams (a GOAWAY just arrived): never sent, so send it elsewhere.
            // Not yet one of its streams (ALPN pending): the connection is going, and its Close decides.
            if (!IsStream) return;
            pool.ReleaseStream(c, this);
            OnStreamLost(new HttpClientException($"the connection to {Request.Uri.Authority} takes no more requests", false), isRefused: true);
            return;
        }
        http2 = protocol;
        stream = given;
        if (Request.ContentStream is { } content) upload = lastUpload = new RequestUpload(content, pool, this);
    }

    public void OnHeaders(HttpResponse response)
    {
        body = new ResponseBodyStream(options.ResponseBufferSize, this);
        Enter(ExchangeState.Receiving);
        unpublished = response;
    }

    public void OnPumpEnded() => Publish();

    private void Publish()
    {
        if (unpublished is not { } response) return;
        unpublished = null;
        headers.TrySetResult(new HttpClientResponse(response, Request.Uri, body!, options.AutomaticDecompression));
        pool.Manager.ExpectPostSoon();
    }

    public void OnBody(ReadOnlySpan<byte> piece)
    {
        deadline = pool.Manager.Ticks + Ticks(options.BodyIdleTimeout);
        if (!body!.Enqueue(piece)) return;
        // The reader is the slow side: stop reading (TCP pushes back on the server) and stop the idle clock.
        Enter(ExchangeState.ReaderBehind);
        if (stream is not null) http2!.Pause(stream);
        else connection!.PauseResponseBody();
    }

    public void OnDone(HttpResponse response)
    {
        // Answered before its body was all sent (a 413, say): the server and we disagree about
        // where the next request would start, so the connection goes.
        bool uploading = upload is { Progress: not UploadProgress.Ended };
        Finish();
        body?.Complete();
        Publish();
        if (IsStream)
        {
            // One stream of many: whatever was left of the upload ended with the stream; the connection stays.
            pool.ReleaseStream(connection!, this);
            connection = null;
            return;
        }
        pool.Release(connection!, reusable: response.KeepAlive && !uploading);
        if (uploading) connection!.Close();
        connection = null;
    }

    /// <summary>HTTP/2: this exchange's stream ended before its response head (the pool took it off the connection).
    /// A stream the server never processed (refused, above a GOAWAY's last stream id, never opened) is sent again;
    /// any other fails with <paramref name="error"/>: the server may have acted on it, and unlike a kept-alive
    /// HTTP/1.1 connection found closed, an HTTP/2 connection says which streams it processed.</summary>
    public void OnStreamLost(Exception error, bool isRefused)
    {
        if (IsFinished) return;
        connection = null;
        if (isRefused && pipelineResends < MaxPipelineResends && (upload is null || bodyStart >= 0))
        {
            pipelineResends++;
            SendAgain();
            return;
        }
        FailWith(error);
    }

    /// <summary>HTTP/2: this exchange's stream was cut after its head (reset by the server, a connection error);
    /// the body fails with <paramref name="error"/>. The pool took it off the connection.</summary>
    public void OnStreamFailed(Exception? error)
    {
        if (IsFinished) return;
        connection = null;
        FailWith(error);
    }

    /// <summary>The connection closed while this exchange was on it. Whether it is sent again depends on
    /// the state it was in: nothing of the response may have arrived.</summary>
    public void OnConnectionLost(Exception? error)
    {
        if (IsFinished) return;
        connection = null;
        if (State == ExchangeState.Pipelined && pipelineResends < MaxPipelineResends)
        {
            // Sent behind others and never answered: whatever ended the connection was not this request's doing.
            pipelineResends++;
            Enter(ExchangeState.Waiting);
            pool.Acquire(this);
            return;
        }
        if (IsStale(error))
        {
            staleRetries++;
            SendAgain();
            return;
        }
        FailWith(error);
    }

    /// <summary>Ends the exchange with <paramref name="error"/>: the awaited head, or the body being read, fails.</summary>
    private void FailWith(Exception? error)
    {
        bool responseStarted = State >= ExchangeState.Receiving;
        Finish();
        var failure = error ?? new HttpClientException($"the connection to {Request.Uri.Authority} closed", responseStarted);
        if (!responseStarted) headers.TrySetException(failure);
        else
        {
            body!.Fail(failure);
            Publish();
        }
    }

    /// <summary>Back to the pool for another attempt; a streamed body is rewound first.</summary>
    private void SendAgain()
    {
        Enter(ExchangeState.Waiting);
        http2 = null;
        stream = null;
        if (upload is { } started)
        {
            upload = null;
            started.Stop();
            RewindThenAcquire(started);
        }
        else
        {
            pool.Acquire(this);
        }
    }

    /// <summary>A kept-alive connection the server had already closed: the request went nowhere, so an
    /// idempotent one is sent once more, on a new connection (RFC 9112 §9.3.1). Not after a response
    /// deadline (the server may be working on it), nor for a streamed body that cannot be rewound.</summary>
    private bool IsStale(Exception? error) =>
        State == ExchangeState.SentOnReused && staleRetries < MaxStaleRetries && Request.IsIdempotent
        && error is not TimeoutException && (upload is null || bodyStart >= 0);

    /// <summary>Cancelled, timed out overall, abandoned by the reader, or the client is closing.</summary>
    public void Abort(Exception reason)
    {
        if (IsFinished) return;
        // Queued behind other responses: those go on; the pool closes the connection at this one's turn.
        bool behind = State == ExchangeState.Pipelined;
        Finish();
        if (IsStream && connection is { } multiplexed)
        {
            // One stream of many: reset it (RST_STREAM CANCEL), or drop it before it opens (or before it is
            // sent, still connecting); the others go on.
            pool.ReleaseStream(multiplexed, this);
            if (stream is not null) http2!.Cancel(multiplexed, stream);
            connection = null;
        }
        if (!behind && connection is { } c1) pool.Discard(c1);
        if (!behind) connection = null;
        body?.Fail(reason);
        Publish();
        headers.TrySetException(reason);
    }

    private void Finish()
    {
        upload?.Stop();
        upload = null;
        State = ExchangeState.Finished;
        pool.Untrack(this);
        cancellation.Dispose();
    }

    /// <summary>Moves to <paramref name="next"/> and arms the deadline it calls for.</summary>
    private void Enter(ExchangeState next)
    {
        State = next;
        if (DeadlineOf(next) is not Deadline.None and var which) Arm(which);
    }

    /// <summary>The one deadline each state watches.</summary>
    private static Deadline DeadlineOf(ExchangeState state) => state switch
    {
        ExchangeState.Connecting => Deadline.Connect,
        ExchangeState.Sent or ExchangeState.SentOnReused => Deadline.ResponseHead,
        ExchangeState.Receiving => Deadline.BodyIdle,
        _ => Deadline.None,
    };

    // ------------------------------------------------------------------ from Dispose's thread

    /// <summary>Fails the caller's side only (the awaited head, or the body being read); the loop
    /// state is left to the loop. Safe against a loop raising the head at the same moment: OnHeaders
    /// publishes the body before completing the head, so when the head won, the body is seen here.</summary>
    public void Abandon(Exception reason)
    {
        upload?.Stop();
        headers.TrySetException(reason);
        body?.Fail(reason);
    }

    // ------------------------------------------------------------------ from the reader's thread

    void ResponseBodyStream.IOwner.OnDrained() => pool.Post(() =>
    {
        if (State != ExchangeState.ReaderBehind || connection is null) return;
        Enter(ExchangeState.Receiving);
        if (stream is not null) http2!.Resume(connection, stream);
        else connection.ResumeResponseBody();
    });

    void ResponseBodyStream.IOwner.OnAbandoned() => pool.Post(() => Abort(new ObjectDisposedException(nameof(HttpClientResponse), "the response was disposed before its body was read")));

    // ------------------------------------------------------------------ the one deadline

    private void Arm(Deadline which)
    {
        deadline = pool.Manager.Ticks + Ticks(Span(which));
        ConnectionPool.ArmDeadline(connection!, deadline);
    }

    private TimeSpan Span(Deadline which) => which switch
    {
        Deadline.Connect => options.ConnectTimeout,
        Deadline.ResponseHead => options.ResponseHeadersTimeout,
        _ => options.BodyIdleTimeout,
    };

    private string Reason(Deadline which) => which switch
    {
        Deadline.Connect => $"connecting to {Request.Uri.Authority} timed out after {Seconds(options.ConnectTimeout)}",
        Deadline.ResponseHead => $"no response from {Request.Uri.Authority} within {Seconds(options.ResponseHeadersTimeout)}",
        _ => $"the response body from {Request.Uri.Authority} stalled for {Seconds(options.BodyIdleTimeout)}",
    };

    /// <summary>The connection's timer fired while this exchange holds it (it may fire early).</summary>
    public void OnTimer()
    {
        var which = DeadlineOf(State);
        if (which == Deadline.None || connection is null) return;
        if (deadline - pool.Manager.Ticks > 0)
        {
            ConnectionPool.ArmDeadline(connection, deadline);
            return;
        }
        // One stream of many times out alone; a connect deadline is the connection's.
        if (which != Deadline.Connect && IsStream) Abort(new TimeoutException(Reason(which)));
        else pool.Manager.Fail(connection, new TimeoutException(Reason(which)));
    }

    void ILoopWorkItem.Run()
    {
        if (!IsFinished) pool.Acquire(this);
    }

    // ------------------------------------------------------------------ the streamed request body

    /// <summary>Completes when no reader of this exchange touches <see cref="HttpClientRequest.ContentStream"/> any more.</summary>
    public Task UploadStopped => lastUpload?.Completion ?? System.Threading.Tasks.Task.CompletedTask;

    /// <summary>Once the stopped reader is done with the stream, rewinds it (on that thread) and sends again.</summary>
    private void RewindThenAcquire(RequestUpload stopped) =>
        stopped.Completion.ContinueWith(_ =>
        {
            try
            {
                Request.ContentStream!.Position = bodyStart;
                pool.PostAcquire(this);
            }
            catch (Exception ex)
            {
                pool.Post(() => Abort(new HttpClientException($"the request body stream could not be rewound to send it again: {ex.Message}", false, ex) { IsFinal = true }));
            }
        }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);

    void RequestUpload.IOwner.OnUploadChunk(RequestUpload from, byte[] chunk, int length)
    {
        try
        {
            if (from != upload || IsFinished || connection is null) return;
            bool queued;
            try
            {
                queued = stream is not null ? http2!.SendBody(connection, stream, chunk.AsSpan(0, length)) : connection.SendRequestBody(chunk.AsSpan(0, length));
            }
            catch (InvalidOperationException ex)
            {
                Abort(new HttpClientException($"the request body stream is longer than its ContentStreamLength ({ex.Message})") { IsFinal = true });
                return;
            }
            if (!queued)
            {
                Abort(new HttpClientException($"the connection to {Request.Uri.Authority} refused more of the request body (closing, or its send buffer is at ManagerOptions.MaxSendBufferSize)") { IsFinal = true });
                return;
            }
            if (IsWritable) from.Room();
            else from.Progress = UploadProgress.WaitingForRoom;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    void RequestUpload.IOwner.OnUploadEnd(RequestUpload from)
    {
        if (from != upload || IsFinished || connection is null) return;
        try
        {
            if (stream is not null) http2!.EndBody(connection, stream, null);
            else connection.EndRequestBody();
            from.Progress = UploadProgress.Ended;
        }
        catch (InvalidOperationException ex)
        {
            Abort(new HttpClientException($"the request body stream ended before its ContentStreamLength ({ex.Message})") { IsFinal = true });
        }
    }

    void RequestUpload.IOwner.OnUploadFailed(RequestUpload from, Exception error)
    {
        if (from != upload || IsFinished) return;
        Abort(new HttpClientException($"reading the request body stream failed: {error.Message}", false, error) { IsFinal = true });
    }

    /// <summary>The connection wrote some of its send buffer: a reader waiting for room may go on.</summary>
    public void OnWritable()
    {
        if (upload is not { Progress: UploadProgress.WaitingForRoom } waiting || !IsWritable) return;
        waiting.Progress = UploadProgress.Reading;
        waiting.Room();
    }

    /// <summary>The connection's send buffer has room, and on HTTP/2 nothing of this stream waits for window.</summary>
    private bool IsWritable => connection is { IsWritable: true } && (stream is null || http2!.IsWritable(stream));

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    private static string Seconds(TimeSpan span) => $"{span.TotalSeconds:0.###} s";
}
