// How this file works: one attempt at one request by MeerkatHttpClient, on the loop thread. The
// pool assigns it a connection; it sends the request, turns the connection's HTTP events into
// the awaited HttpClientResponse and the body pipe, and watches one deadline at a time
// (connect, then response head, then body idle). A reused keep-alive connection that the server
// had already closed is retried once on a fresh one, transparently, when nothing of the response
// arrived and the method is idempotent. Only the Task and the body pipe cross threads.
using System.Buffers;
using System.Diagnostics;

namespace Meerkat.Http.Client;

internal sealed class Exchange : ILoopWorkItem, ResponseBodyStream.IOwner, RequestUpload.IOwner
{
    /// <summary>Which deadline is armed; its message is built only if it fires.</summary>
    private enum Deadline { None, Connect, ResponseHead, BodyIdle }

    private readonly ConnectionPool pool;
    private readonly MeerkatHttpClientOptions options;
    private readonly Func<Exception>? cancelReason;
    private readonly TaskCompletionSource<HttpClientResponse> headers = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenRegistration cancellation;
    // Volatile: Abandon reads it from Dispose's thread (see there).
    private volatile ResponseBodyStream? body;
    private Connection? connection;
    private long deadline;
    private Deadline armed;
    private bool isReused;
    private bool retriedStale;
    // Pipelined: sent on a connection whose earlier responses are still coming (no deadline of
    // its own until its turn); resent transparently, a few times at most, if that connection dies.
    private bool isBehind;
    private int resentFromPipeline;
    // A body streamed from Request.ContentStream: the current attempt's reader, whether the body
    // was ended, and whether the reader waits for the connection to have room.
    private volatile RequestUpload? upload;
    private RequestUpload? lastUpload;
    private bool uploadEnded;
    private bool waitingForRoom;
    private readonly long bodyStart;
    private bool isPaused;
    // The head arrived but is not yet handed to the caller: it is, once the bytes at hand were
    // parsed (OnPumpEnded) or the response ended (OnDone), whichever is first, so a small body
    // that came with the head is complete when the caller sees the response.
    private HttpResponse? unpublished;

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

    // Apart from the constructor, so that the closure is allocated only for a cancellable token.
    private CancellationTokenRegistration Register(CancellationToken token) =>
        token.Register(() => pool.Post(() => Abort(cancelReason?.Invoke() ?? new OperationCanceledException(token))));

    public Task<HttpClientResponse> Task => headers.Task;

    /// <summary>Skip idle pooled connections: the last one turned out stale.</summary>
    public bool WantsFreshConnection { get; private set; }

    public bool IsFinished { get; private set; }

    // The pool's list of unfinished exchanges (ConnectionPool.Track), under its lock.
    internal Exchange? PreviousTracked { get; set; }
    internal Exchange? NextTracked { get; set; }
    internal bool IsTracked { get; set; }

    // ------------------------------------------------------------------ driven by the pool (loop thread)

    /// <summary>Whether this request may be pipelined: a safe method without a body, not closing its connection.</summary>
    public bool IsPipelinable => Request.Content is null && Request.ContentStream is null && Request.Method is "GET" or "HEAD" or "OPTIONS" or "TRACE"
        && Request.GetHeader("Connection")?.Contains("close", StringComparison.OrdinalIgnoreCase) != true;

    public void OnAssigned(Connection assigned, bool connected, bool reused, bool behind = false)
    {
        connection = assigned;
        isReused = reused;
        isBehind = behind;
        if (behind) Send();
        else if (connected) Start();
        else Arm(Deadline.Connect);
    }

    public void OnConnected() => Start();

    /// <summary>The responses ahead of this pipelined request are done: its own is next. False when it
    /// was cancelled meanwhile (the pool then closes the connection rather than read its response).</summary>
    public bool OnBecameHead()
    {
        isBehind = false;
        if (IsFinished) return false;
        Arm(Deadline.ResponseHead);
        return true;
    }

    private void Start()
    {
        Arm(Deadline.ResponseHead);
        Send();
    }

    private void Send()
    {
        try
        {
            if (Request.ContentStream is { } stream)
            {
                connection!.SendRequestHead(Request, Request.ContentStreamLength ?? -1);
                uploadEnded = waitingForRoom = false;
                upload = lastUpload = new RequestUpload(stream, pool, this);
            }
            else
            {
                connection!.SendRequest(Request);
            }
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            Abort(ex);
        }
    }

    public void OnHeaders(HttpResponse response)
    {
        body = new ResponseBodyStream(options.ResponseBufferSize, this);
        Arm(Deadline.BodyIdle);
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
        deadline = Manager.Now + Ticks(options.BodyIdleTimeout);
        if (!body!.Enqueue(piece)) return;
        // The reader is the slow side: stop reading (TCP pushes back on the server) and stop the idle clock.
        isPaused = true;
        armed = Deadline.None;
        connection!.PauseResponseBody();
    }

    public void OnDone(HttpResponse response)
    {
        // Answered before its body was all sent (a 413, say): the server and we disagree about
        // where the next request would start, so the connection goes.
        bool uploading = upload is not null && !uploadEnded;
        Finish();
        body?.Complete();
        Publish();
        pool.Release(connection!, reusable: response.KeepAlive && !uploading);
        if (uploading) connection!.Close();
        connection = null;
    }

    public void OnConnectionLost(Exception? error)
    {
        if (IsFinished) return;
        connection = null;
        if (isBehind && resentFromPipeline < MaxPipelineResends)
        {
            // Sent behind others and never answered: whatever ended the connection was not this request's doing.
            isBehind = false;
            resentFromPipeline++;
            pool.Acquire(this);
            return;
        }
        bool stale = isReused && body is null && !retriedStale && Request.IsIdempotent
            && error is not TimeoutException && error is not HttpClientException { IsResponseStarted: true };
        // A streamed body already being read can be sent again only from where it started.
        if (upload is not null && bodyStart < 0) stale = false;
        if (stale)
        {
            retriedStale = true;
            WantsFreshConnection = true;
            armed = Deadline.None;
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
            return;
        }
        Finish();
        var failure = error ?? new HttpClientException($"the connection to {Request.Uri.Authority} closed", body is not null);
        if (body is null) headers.TrySetException(failure);
        else
        {
            body.Fail(failure);
            Publish();
        }
    }

    /// <summary>Cancelled, timed out overall, abandoned by the reader, or the client is closing.</summary>
    public void Abort(Exception reason)
    {
        if (IsFinished) return;
        Finish();
        // Queued behind other responses: those go on; the pool closes the connection at this one's turn.
        if (!isBehind && connection is { } c) pool.Discard(c);
        if (!isBehind) connection = null;
        body?.Fail(reason);
        Publish();
        headers.TrySetException(reason);
    }

    private void Finish()
    {
        upload?.Stop();
        upload = null;
        IsFinished = true;
        pool.Untrack(this);
        armed = Deadline.None;
        cancellation.Dispose();
    }

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
        if (!isPaused || IsFinished || connection is null) return;
        isPaused = false;
        Arm(Deadline.BodyIdle);
        connection.ResumeResponseBody();
    });

    void ResponseBodyStream.IOwner.OnAbandoned() => pool.Post(() => Abort(new ObjectDisposedException(nameof(HttpClientResponse), "the response was disposed before its body was read")));

    // ------------------------------------------------------------------ the one deadline

    private void Arm(Deadline which)
    {
        deadline = Manager.Now + Ticks(Span(which));
        armed = which;
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
        if (armed == Deadline.None || IsFinished || connection is null) return;
        if (deadline - Manager.Now > 0)
        {
            ConnectionPool.ArmDeadline(connection, deadline);
            return;
        }
        pool.Manager.Fail(connection, new TimeoutException(Reason(armed)));
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
                queued = connection.SendRequestBody(chunk.AsSpan(0, length));
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
            if (connection.IsWritable) from.Room();
            else waitingForRoom = true;
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
            connection.EndRequestBody();
            uploadEnded = true;
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
        if (!waitingForRoom || connection is not { IsWritable: true }) return;
        waitingForRoom = false;
        upload?.Room();
    }

    private const int MaxPipelineResends = 3;

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    private static string Seconds(TimeSpan span) => $"{span.TotalSeconds:0.###} s";
}
