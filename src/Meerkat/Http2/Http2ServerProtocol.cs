// How this file works: the glue between an accepted Connection and its sans-I/O Http2Connection
// core, in the shape of HttpServerProtocol. The core gets the receive buffer, the time and the
// connection's send buffer as its output; each event it returns becomes the same transaction events
// an HTTP/1.1 connection raises, one set per stream: Headers -> HttpHeaders (then HttpMessage at
// once when END_STREAM came with it), Data -> HttpBody (when the handler streams the body; else it is
// buffered), the end of the request -> HttpMessage, StreamClosed -> HttpDone with its outcome. The
// core closes every announced stream exactly once, on every path (reset, GOAWAY, connection error,
// end of the transport, Abort when the connection goes), so every HttpHeaders gets its HttpDone.
//
// Addressing: the server API (c.Reply, c.BeginResponse...) is per connection, and an HTTP/2
// connection has several requests in progress. While a stream's event is raised, that stream is
// `current` and the calls address it; a Wakeup sent to a request's Id (HttpRequest.Id) is raised the
// same way; outside those, the calls address the one stream with a response to give, if there is
// exactly one (so one-request-at-a-time handler code is unchanged), and throw otherwise, naming Id.
//
// Responses go through Http2ServerStream/Http2ResponseSender into the core under flow control;
// bytes the window cannot take wait per stream and go out on StreamWritable; producers
// (StreamResponse, static files) are pumped on StreamWritable and on the connection's Write events
// while the send buffer is under its high-water mark. Nothing is raised from inside an API call:
// calls that may have ended a stream ask for the loop's work phase, which collects the core's events.
using Meerkat.Http;

namespace Meerkat.Http2;

/// <summary>The server side of HTTP/2 on one connection (glue over <see cref="Http2Connection"/>).</summary>
internal sealed class Http2ServerProtocol : Protocol, IHttpServerConnection
{
    private const int ScratchSize = 16 * 1024;

    private readonly HttpServerOptions _options;
    private readonly Connection _connection;
    private readonly Stack<Http2ServerStream> _spare = new();
    private readonly List<Http2ServerStream> _active = [];
    private readonly Func<bool> _hasRoom;
    private byte[]? _scratch;
    private Http2ServerStream? _current;
    private long _idleSince;
    private long _lastOutputProgress;
    private int _pumpStart;
    private bool _isProcessing;

    private Http2ServerProtocol(Connection connection, HttpServerOptions options)
    {
        _options = options;
        _connection = connection;
        Fields = new Http2ResponseFields(options);
        _hasRoom = () => _connection.State < ConnectionState.Draining && _connection.PendingSendBytes < _connection.Manager.Options.SendHighWaterMark;
        long now = _connection.Manager.Ticks;
        _idleSince = _lastOutputProgress = now;
        Core = new Http2Connection(isServer: true, connection.SendWriter, now, CoreOptions(options));
    }

    public Http2Connection Core { get; }

    public Http2ResponseFields Fields { get; }

    public HttpServerOptions Options => _options;

    public override bool IsMultiplexed => true;

    /// <summary>Takes over a connection whose first bytes are the HTTP/2 preface (<paramref name="processNow"/>:
    /// they are read at once), or whose TLS handshake chose h2 (the plaintext comes with the next Read event).</summary>
    public static void Install(Connection connection, HttpServerOptions options, bool processNow)
    {
        var protocol = new Http2ServerProtocol(connection, options);
        connection.Protocol = protocol;
        if (processNow) protocol.Process(connection);
    }

    /// <summary>Takes over after the 101 to "Upgrade: h2c": the HTTP/1.1 request becomes stream 1, half-closed
    /// (remote), and is raised as such; <paramref name="settings"/> is its validated HTTP2-Settings payload.</summary>
    public static void InstallUpgraded(Connection connection, HttpServerOptions options, byte[] settings, Http2RequestHead request)
    {
        var protocol = new Http2ServerProtocol(connection, options);
        connection.Protocol = protocol;
        protocol.Core.AcceptUpgrade(settings);
        var stream = protocol.Rent(connection);
        stream.Start(request);
        protocol.Open(connection, stream);
        if (stream.State == Http2TransactionState.Receiving) protocol.CompleteRequest(connection, stream, null);
        protocol.Process(connection);
    }

    // ------------------------------------------------------------------ the loop's events

    public override void OnEvent(Connection connection, Event e)
    {
        switch (e.Kind)
        {
            case EventKind.Read:
                Process(connection);
                break;
            case EventKind.Write:
                _lastOutputProgress = _connection.Manager.IterationTicks;
                PumpAll(connection);
                Process(connection);
                RaiseOwedWrites(connection);
                break;
        }
    }

    public override void OnWork(Connection connection) => Process(connection);

    /// <summary>The transport ended: every stream still open ends (PeerClosed); the loop closes the connection.</summary>
    public override bool OnEndOfStream(Connection connection)
    {
        Process(connection);
        Core.ReceiveEndOfStream();
        Process(connection);
        return false;
    }

    public override void OnClosing(Connection connection, CloseCause cause, Exception? error)
    {
        var outcome = HttpServerOutcomes.OfClose(cause, connection.IsPeerClosed);
        Core.Abort(outcome, error?.Message ?? "the connection is closing");
        Drain(connection);
    }

    /// <summary>Graceful shutdown (RFC 9113 §6.8): GOAWAY and a PING; streams in flight finish; the final
    /// GOAWAY follows the PING's answer; the connection closes after the last stream.</summary>
    public override void OnShutdown(Connection connection)
    {
        Core.BeginShutdown(_connection.Manager.Ticks);
        Process(connection);
    }

    public void CheckDeadlines(Connection connection, long now)
    {
        if (connection.State >= ConnectionState.Closing) return;
        if (connection.PendingSendBytes == 0) _lastOutputProgress = now;
        if (_options.SendStallTimeout > TimeSpan.Zero && connection.PendingSendBytes > 0 && now - _lastOutputProgress >= Ticks(_options.SendStallTimeout))
        {
            // A peer that stopped reading: the connection goes, its streams with it.
            Core.Abort(HttpOutcome.Deadline, "no output reached the peer for longer than the send-stall timeout");
            Drain(connection);
            connection.Close();
            return;
        }

        if (Core.ActiveStreamCount == 0 && _active.Count == 0 && now - _idleSince >= Ticks(_options.IdleTimeout)) Core.BeginShutdown(now);
        Core.Tick(now);
        Process(connection);
    }

    // ------------------------------------------------------------------ addressing

    public IServerTransaction? Addressed(out string? reason)
    {
        reason = null;
        var stream = AddressedStream(out int inProgress);
        if (stream is not null) return stream;
        reason = inProgress == 0
            ? "has no request waiting for a response"
            : $"speaks HTTP/2 and has {inProgress} requests in progress: answer a deferred one from a Wakeup sent to its e.Request.Id (docs/http2.md)";
        return null;
    }

    public override bool IsAddressedWritable => AddressedStream(out _) is not { } stream || stream.Response.CanTakeMore || !stream.Response.IsStarted;

    public override object? AddressedRoutingState
    {
        get => AddressedStream(out _)?.RoutingState;
        set
        {
            if (AddressedStream(out _) is { } stream) stream.RoutingState = value;
        }
    }

    public override object? Address(object? target)
    {
        var previous = _current;
        _current = target as Http2ServerStream;
        return previous;
    }

    /// <summary>The stream whose event is being raised, else the only one with a response to give.</summary>
    private Http2ServerStream? AddressedStream(out int inProgress)
    {
        inProgress = 0;
        if (_current is not null) return _current;
        Http2ServerStream? only = null;
        foreach (var stream in _active)
        {
            if (!stream.IsInProgress) continue;
            only = stream;
            inProgress++;
        }

        return inProgress == 1 ? only : null;
    }

    public override void OnAddressedWakeup(Connection connection, object target, ReadOnlySpan<byte> payload)
    {
        if (target is not Http2ServerStream { IsInTransaction: true } stream)
        {
            base.OnAddressedWakeup(connection, target, payload);
            return;
        }

        RaiseStream(connection, stream, new Event(EventKind.Wakeup, payload, subject: stream.Request));
        Process(connection);
    }

    /// <summary>The handler started, advanced or ended a response: pump its producer, and let the work phase
    /// collect what the core decided (a stream closed by END_STREAM).</summary>
    public void ResponseChanged(Connection connection, Http2ServerStream stream)
    {
        if (stream.Response.Producer is not null) Pump(connection, stream);
        connection.Manager.ScheduleWork(connection);
    }

    // ------------------------------------------------------------------ the core's events

    private void Process(Connection connection)
    {
        if (_isProcessing) return;
        _isProcessing = true;
        try
        {
            while (connection.State < ConnectionState.Closing && connection.Protocol == this)
            {
                var e = Core.Receive(connection.Received, _connection.Manager.IterationTicks, out int consumed);
                if (e.Kind == Http2EventKind.NeedMoreData)
                {
                    if (consumed > 0) connection.Consume(consumed);
                    break;
                }

                Dispatch(connection, e);
                if (consumed > 0 && connection.State < ConnectionState.Closed) connection.Consume(consumed);
            }
        }
        finally
        {
            _isProcessing = false;
        }

        if (Core.State == Http2ConnectionState.Closed && connection.State < ConnectionState.Draining) connection.CloseAfterDrain();
    }

    /// <summary>The connection is going: collect the StreamClosed events Abort queued and end their transactions.</summary>
    private void Drain(Connection connection)
    {
        while (true)
        {
            var e = Core.Receive(default, _connection.Manager.Ticks, out _);
            if (e.Kind == Http2EventKind.NeedMoreData) return;
            if (e.Kind == Http2EventKind.StreamClosed) Dispatch(connection, e);
        }
    }

    private void Dispatch(Connection connection, Http2Event e)
    {
        switch (e.Kind)
        {
            case Http2EventKind.Headers:
                OnRequest(connection, e);
                break;
            case Http2EventKind.Data when e.UserState is Http2ServerStream stream:
                OnData(connection, stream, e.Data, e.IsEndStream);
                break;
            case Http2EventKind.Trailers when e.UserState is Http2ServerStream stream:
                if (stream.State == Http2TransactionState.Receiving) CompleteRequest(connection, stream, e.Section!.Fields);
                break;
            case Http2EventKind.StreamClosed when e.UserState is Http2ServerStream stream:
                OnStreamClosed(connection, stream, e);
                break;
            case Http2EventKind.StreamWritable when e.UserState is Http2ServerStream stream:
                OnWritable(connection, stream);
                break;
            case Http2EventKind.ConnectionError:
                connection.Manager.Log(LogSeverity.Warning, "http2-error", $"HTTP/2 connection error {e.ErrorCode}: {e.Reason}", connectionId: connection.Id);
                break;
        }
    }

    private Http2ServerStream Rent(Connection connection) =>
        _spare.Count > 0 ? _spare.Pop() : new Http2ServerStream(this, connection, connection.Manager.Options.MaxSendBufferSize);

    /// <summary>A stream's transaction begins: HttpHeaders.</summary>
    private void Open(Connection connection, Http2ServerStream stream)
    {
        Core.SetUserState(stream.StreamId, stream);
        _active.Add(stream);
        RaiseStream(connection, stream, new Event(EventKind.HttpHeaders, subject: stream.Request));
    }

    private void OnRequest(Connection connection, Http2Event e)
    {
        var stream = Rent(connection);
        stream.Start(e.StreamId, e.Section!, hasContent: !e.IsEndStream);
        Open(connection, stream);
        if (stream.State != Http2TransactionState.Receiving) return;
        if (e.IsEndStream)
        {
            CompleteRequest(connection, stream, null);
            return;
        }

        var request = stream.Request;
        if (!request.StreamBody && request.ContentLength > _options.MaxBufferedBodySize && !stream.Response.IsStarted)
        {
            Refuse(connection, stream, 413, $"The request body exceeds the limit of {_options.MaxBufferedBodySize} bytes.");
            return;
        }

        if (request.Head.ExpectContinue && !stream.Response.IsStarted) SendContinue(stream);
    }

    /// <summary>DATA for a stream; its window is credited back once delivered, unless the handler paused the body.</summary>
    private void OnData(Connection connection, Http2ServerStream stream, ReadOnlySpan<byte> data, bool isEnd)
    {
        Receive(connection, stream, data, isEnd);
        if (stream.IsBodyPaused && stream.IsInTransaction) stream.WithheldCredit += data.Length;
        else Core.ReturnCredit(stream.StreamId, data.Length);
    }

    /// <summary>PauseRequestBody on the addressed stream: its window stops being credited back.</summary>
    public void PauseBody()
    {
        if (AddressedStream(out _) is { State: Http2TransactionState.Receiving } stream) stream.IsBodyPaused = true;
    }

    /// <summary>ResumeRequestBody on the addressed stream: what was withheld is credited back.</summary>
    public void ResumeBody(Connection connection)
    {
        if (AddressedStream(out _) is not { IsBodyPaused: true } stream) return;
        stream.IsBodyPaused = false;
        if (stream.WithheldCredit == 0) return;
        Core.ReturnCredit(stream.StreamId, stream.WithheldCredit);
        stream.WithheldCredit = 0;
        connection.Manager.ScheduleWrite(connection);
    }

    private void Receive(Connection connection, Http2ServerStream stream, ReadOnlySpan<byte> data, bool isEnd)
    {
        if (stream.State != Http2TransactionState.Receiving) return;
        stream.BodyBytes += data.Length;
        var request = stream.Request;
        if (request.StreamBody)
        {
            if (stream.BodyBytes > _options.MaxStreamedBodySize)
            {
                Refuse(connection, stream, 413, $"The request body exceeds the limit of {_options.MaxStreamedBodySize} bytes.");
                return;
            }

            if (!data.IsEmpty) RaiseStream(connection, stream, new Event(EventKind.HttpBody, data, subject: request));
        }
        else if (!stream.Response.IsStarted && !stream.Buffer(data, _options.MaxBufferedBodySize))
        {
            Refuse(connection, stream, 413, $"The request body exceeds the limit of {_options.MaxBufferedBodySize} bytes.");
            return;
        }

        // A response that started before the body was read drops the rest of it, as HTTP/1.1 drains it.
        if (isEnd && stream.State == Http2TransactionState.Receiving) CompleteRequest(connection, stream, null);
    }

    private void CompleteRequest(Connection connection, Http2ServerStream stream, HttpHeaders? trailers)
    {
        stream.State = Http2TransactionState.Received;
        stream.Request.Finish(stream.Body, trailers);
        RaiseStream(connection, stream, new Event(EventKind.HttpMessage, subject: stream.Request));
        stream.ReleaseBody();
    }

    private void OnStreamClosed(Connection connection, Http2ServerStream stream, Http2Event e)
    {
        _active.Remove(stream);
        if (_active.Count == 0) _idleSince = _connection.Manager.Ticks;
        var outcome = stream.Outcome ?? e.Outcome;
        var error = stream.Error ?? (outcome == HttpOutcome.Completed ? null : new MeerkatException($"HTTP/2 stream {stream.StreamId}: {e.Reason ?? outcome.ToString()} ({e.ErrorCode})"));
        stream.Request.ResponseStatus = stream.Response.StatusCode;
        stream.State = Http2TransactionState.Closed;
        stream.Response.Reset();
        var previous = _current;
        _current = stream;
        Exception? thrown;
        try
        {
            thrown = connection.Manager.RaiseHttpToUser(connection, new Event(EventKind.HttpDone, count: (long)outcome, error: error, subject: stream.Request));
        }
        finally
        {
            _current = previous;
        }

        if (thrown is not null) LogHandlerError(connection, EventKind.HttpDone, thrown, "the stream had ended");
        stream.Request.EndTransaction();
        stream.Recycle();
        _spare.Push(stream);
    }

    private void OnWritable(Connection connection, Http2ServerStream stream)
    {
        stream.Response.Flush(Core, stream.StreamId, Fields, _connection.Manager.IterationTicks);
        if (stream.Response.Producer is not null) Pump(connection, stream);
        // Not while the flush left the send buffer over its mark: RaiseOwedWrites serves the stream once it drains.
        if (stream.OwesWrite && !stream.Response.HasWaiting && stream.IsInTransaction && CanTakeMore(connection))
        {
            stream.OwesWrite = false;
            RaiseStream(connection, stream, new Event(EventKind.Write, subject: stream.Request));
        }
    }

    private static bool CanTakeMore(Connection connection) =>
        connection.State < ConnectionState.Draining && connection.PendingSendBytes < connection.Manager.Options.SendHighWaterMark;

    /// <summary>The send buffer drained under its high-water mark: streams owed a Write get it (WriteBody said
    /// "no more" because the buffer was full, or their window opened while it was).</summary>
    private void RaiseOwedWrites(Connection connection)
    {
        for (int i = 0; i < _active.Count; i++)
        {
            if (!CanTakeMore(connection)) return;
            var stream = _active[i];
            if (!stream.OwesWrite || stream.Response.HasWaiting || !stream.IsInTransaction) continue;
            stream.OwesWrite = false;
            RaiseStream(connection, stream, new Event(EventKind.Write, subject: stream.Request));
        }
    }

    // ------------------------------------------------------------------ raising, failing

    /// <summary>Raises a stream's event with the stream addressed; a throw is that stream's handler error.</summary>
    private void RaiseStream(Connection connection, Http2ServerStream stream, Event e)
    {
        var previous = _current;
        _current = stream;
        Exception? error;
        try
        {
            error = connection.Manager.RaiseHttpToUser(connection, e);
        }
        finally
        {
            _current = previous;
        }

        if (error is not null) HandlerFailed(connection, stream, e.Kind, error);
    }

    /// <summary>The handler threw on a stream's event: 500 when its response had not started, a reset
    /// (INTERNAL_ERROR) otherwise; the stream's HttpDone says HandlerError. Other streams go on.</summary>
    private void HandlerFailed(Connection connection, Http2ServerStream stream, EventKind kind, Exception error)
    {
        if (!stream.IsInTransaction)
        {
            LogHandlerError(connection, kind, error, "the stream had ended");
            return;
        }

        bool started = stream.Response.IsStarted;
        LogHandlerError(connection, kind, error, started ? "the stream is reset" : "answered 500");
        stream.State = Http2TransactionState.Abandoned;
        stream.Outcome = HttpOutcome.HandlerError;
        stream.Error = error;
        stream.Response.Producer = null;
        if (started) Core.ResetStream(stream.StreamId, Http2ErrorCode.InternalError, HttpOutcome.HandlerError);
        else stream.Reply(connection, 500, "The server failed to answer this request.\n"u8, "text/plain; charset=utf-8", []);
        connection.Manager.ScheduleWork(connection);
    }

    /// <summary>A request body over the limit: 413 (or a reset when the response began); no more request events.</summary>
    private void Refuse(Connection connection, Http2ServerStream stream, int status, string message)
    {
        stream.State = Http2TransactionState.Abandoned;
        stream.Outcome = HttpOutcome.ProtocolError;
        if (stream.Response.IsStarted) Core.ResetStream(stream.StreamId, Http2ErrorCode.Cancel, HttpOutcome.ProtocolError);
        else stream.Reply(connection, status, System.Text.Encoding.UTF8.GetBytes(message + "\n"), "text/plain; charset=utf-8", []);
        connection.Manager.ScheduleWork(connection);
    }

    private void SendContinue(Http2ServerStream stream)
    {
        var list = Fields.List;
        list.Clear();
        list.AddStatus(100);
        Core.SendHeaders(stream.StreamId, list, endStream: false);
    }

    private static void LogHandlerError(Connection connection, EventKind kind, Exception error, string what) =>
        connection.Manager.Log(LogSeverity.Error, "handler-error", $"the handler threw on {kind} of an HTTP/2 stream ({what}): {error.Message}", error, connection.Id);

    // ------------------------------------------------------------------ producers

    /// <summary>The send buffer drained: give every stream with a producer its turn, starting with a different one each time.</summary>
    private void PumpAll(Connection connection)
    {
        int count = _active.Count;
        if (count == 0) return;
        _pumpStart = (_pumpStart + 1) % count;
        for (int i = 0; i < count && i < _active.Count; i++)
        {
            var stream = _active[(_pumpStart + i) % _active.Count];
            if (stream.Response.Producer is not null) Pump(connection, stream);
        }
    }

    private void Pump(Connection connection, Http2ServerStream stream)
    {
        _scratch ??= new byte[ScratchSize];
        if (!stream.Response.Pump(Core, stream.StreamId, Fields, _scratch, _hasRoom, _connection.Manager.IterationTicks, out var error))
            HandlerFailed(connection, stream, EventKind.Write, error!);
        else if (stream.Response.IsComplete) connection.Manager.ScheduleWork(connection);
    }

    // ------------------------------------------------------------------ settings

    private static Http2Options CoreOptions(HttpServerOptions options) => new()
    {
        MaxConcurrentStreams = options.Http2MaxConcurrentStreams,
        CreditsStreamsOnDelivery = false, // OnData credits, unless the handler paused the body
        MaxHeaderListSize = options.Limits.MaxHeaderBytes,
        SendStallTimeout = options.SendStallTimeout > TimeSpan.Zero ? options.SendStallTimeout : TimeSpan.FromDays(1),
    };

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
}
