// How this file works: the glue between a Connection and its HttpServerCore. Each step hands the
// core the receive buffer, the end-of-stream flag, the time and the send buffer; raises the event
// the core returns to the user's handler; discards the bytes the core used; and finally does what
// the core's state asks of the connection (keep it, close after drain, close now, switch protocol).
// Nothing here decides HTTP: keep-alive, pipelining, deferred responses, 100-continue, deadlines
// and every transaction's end live in the core, which tests drive without a socket.
namespace Meerkat.Http;

/// <summary>The server side of HTTP/1.1 on one accepted connection (glue over <see cref="HttpServerCore"/>).</summary>
internal sealed class HttpServerProtocol : Protocol
{
    private readonly HttpServerCore core;
    private Action<Connection>? switchProtocols;

    public HttpServerProtocol(HttpServerOptions options, long now) => core = new HttpServerCore(options, now, options.TimeProvider);

    public HttpServerCore Core => core;

    public HttpServerOptions Options => core.Options;

    public HttpRequest Request => core.Request;

    public ResponseWriter Response => core.Response;

    public override void OnEvent(Connection connection, Event e)
    {
        switch (e.Kind)
        {
            case EventKind.Read:
                Process(connection);
                break;
            case EventKind.Write:
                core.OutputProgressed(connection.Manager.Ticks);
                Pump(connection);
                break;
            case EventKind.Close:
                core.Release();
                break;
        }
    }

    /// <summary>A client that half-closes after its request still gets the answer, deferred or not;
    /// the core decides when the connection closes.</summary>
    public override bool OnEndOfStream(Connection connection)
    {
        connection.Manager.ScheduleWork(connection);
        return true;
    }

    public override void OnWork(Connection connection) => Process(connection);

    public override void OnClosing(Connection connection, CloseCause cause, Exception? error)
    {
        var outcome = cause switch
        {
            CloseCause.Failed => HttpOutcome.Reset,
            CloseCause.HandlerError => HttpOutcome.HandlerError,
            CloseCause.Shutdown => HttpOutcome.Shutdown,
            CloseCause.Disposed => HttpOutcome.Disposed,
            _ => connection.IsPeerClosed ? HttpOutcome.PeerClosed : HttpOutcome.Cancelled,
        };
        var done = core.Abort(outcome, error, connection.PendingSendBytes);
        if (done.Kind == HttpServerEventKind.Done) RaiseDone(connection, done);
    }

    public override void OnShutdown(Connection connection)
    {
        core.Shutdown();
        Settle(connection);
    }

    /// <summary>The handler started, advanced or completed the response: continue when the loop is ready.</summary>
    public void ResponseChanged(Connection connection)
    {
        if (core.Response.Producer is not null) Pump(connection);
        if (core.Response.IsComplete) connection.Manager.ScheduleWork(connection);
    }

    /// <summary>Answers the pending upgrade request with 101 and <paramref name="headers"/>; when its
    /// transaction ends (after <c>HttpDone</c>) <paramref name="switched"/> installs the new protocol,
    /// which owns every byte left in the receive buffer.</summary>
    public void SwitchProtocols(Connection connection, IReadOnlyList<KeyValuePair<string, string>> headers, Action<Connection> switched)
    {
        core.SwitchProtocols(connection.SendWriter, headers);
        switchProtocols = switched;
        ResponseChanged(connection);
    }

    /// <summary>Whether a response started now must say <c>Connection: close</c>.</summary>
    public bool PeerFinished(Connection connection) => connection.IsPeerClosed && connection.Received.IsEmpty;

    /// <summary>Runs the core's deadlines (the listener's sweep calls it).</summary>
    public void CheckDeadlines(Connection connection, long now)
    {
        if (connection.State >= ConnectionState.Closing) return;
        var done = core.Tick(connection.Received, now, connection.PendingSendBytes, connection.IsReadPaused, connection.SendWriter);
        if (done.Kind == HttpServerEventKind.Done) RaiseDone(connection, done);
        Settle(connection);
    }

    private void Process(Connection connection)
    {
        while (connection.State < ConnectionState.Draining && connection.Protocol == this)
        {
            var e = core.Next(connection.ReceivedMemory, connection.IsPeerClosed, connection.Manager.Ticks, connection.SendWriter, out int consumed);
            if (e.Kind == HttpServerEventKind.NeedMoreData)
            {
                if (consumed > 0) connection.Consume(consumed);
                break;
            }
            var error = Raise(connection, e);
            if (consumed > 0 && connection.State < ConnectionState.Closed) connection.Consume(consumed);
            if (error is not null) HandlerFailed(connection, ToEventKind(e.Kind), error);
        }
        Settle(connection);
    }

    /// <summary>Does what the core's state asks of the connection.</summary>
    private void Settle(Connection connection)
    {
        if (core.Rejection.Status != 0) ReportRejection(connection);
        switch (core.State)
        {
            case HttpServerState.MustClose:
                connection.CloseAfterDrain();
                break;
            case HttpServerState.Aborted:
                connection.Close();
                break;
            case HttpServerState.Switched when switchProtocols is { } switched && connection.State < ConnectionState.Draining:
                switchProtocols = null;
                core.Release();
                switched(connection); // 101 sent: the rest of the receive buffer is the new protocol's
                break;
        }
    }

    private Exception? Raise(Connection connection, HttpServerEvent e) => e.Kind switch
    {
        HttpServerEventKind.Headers => connection.Manager.RaiseHttpToUser(connection, new Event(EventKind.HttpHeaders, subject: core.Request)),
        HttpServerEventKind.Body => connection.Manager.RaiseHttpToUser(connection, new Event(EventKind.HttpBody, core.BodyPiece, subject: core.Request)),
        HttpServerEventKind.Message => connection.Manager.RaiseHttpToUser(connection, new Event(EventKind.HttpMessage, subject: core.Request)),
        _ => RaiseDone(connection, e),
    };

    private static EventKind ToEventKind(HttpServerEventKind kind) => kind switch
    {
        HttpServerEventKind.Headers => EventKind.HttpHeaders,
        HttpServerEventKind.Body => EventKind.HttpBody,
        HttpServerEventKind.Message => EventKind.HttpMessage,
        _ => EventKind.HttpDone,
    };

    private Exception? RaiseDone(Connection connection, HttpServerEvent done)
    {
        var error = connection.Manager.RaiseHttpToUser(connection,
            new Event(EventKind.HttpDone, count: (long)done.Outcome, error: done.Error, subject: core.Request));
        if (error is not null)
        {
            LogHandlerError(connection, EventKind.HttpDone, error, "the connection closes");
            core.HandlerFailed(connection.SendWriter, error);
        }
        return null; // the transaction is over: a throwing HttpDone handler only closes the connection
    }

    /// <summary>The handler threw on an HTTP event: 500 or an abort, and the transaction ends (HandlerError).</summary>
    private void HandlerFailed(Connection connection, EventKind kind, Exception error)
    {
        string what = !core.IsInTransaction ? "the connection closes"
            : !core.Response.IsStarted ? "answered 500 and closing"
            : "the response is aborted";
        LogHandlerError(connection, kind, error, what);
        var done = core.HandlerFailed(connection.SendWriter, error);
        if (done.Kind == HttpServerEventKind.Done) RaiseDone(connection, done);
    }

    private static void LogHandlerError(Connection connection, EventKind kind, Exception error, string what)
    {
        Diagnostics.ConnectionTelemetry.Error(connection.Manager.Metrics, connection, "handler_error");
        connection.Manager.Log(LogSeverity.Error, "handler-error", $"the handler threw on {kind} ({what}): {error.Message}", error, connection.Id);
    }

    /// <summary>The core refused a request head on its own (no transaction began): counted, and logged at Debug
    /// (a client's mistake, and a flood of them must not flood the log).</summary>
    private void ReportRejection(Connection connection)
    {
        var (status, reason) = core.Rejection;
        core.ClearRejection();
        var manager = connection.Manager;
        Diagnostics.ConnectionTelemetry.Error(manager.Metrics, connection, Diagnostics.TelemetryTags.RejectionOf(status));
        if (manager.IsLogging(LogSeverity.Debug))
            manager.Log(LogSeverity.Debug, "request-rejected", $"a request from {connection.RemoteEndPoint} was refused with {status}: {reason}", connectionId: connection.Id);
    }

    /// <summary>Fills the send buffer from the response's producer while the connection can take more.</summary>
    private void Pump(Connection connection)
    {
        var response = core.Response;
        var producer = response.Producer;
        if (producer is null || !response.IsStarted || response.IsComplete) return;
        var writer = connection.SendWriter;
        var scratch = System.Buffers.ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (connection.IsWritable)
            {
                int n = producer(scratch);
                if (n <= 0)
                {
                    response.End(writer);
                    response.Producer = null;
                    ResponseChanged(connection);
                    return;
                }
                response.Write(writer, scratch.AsSpan(0, n));
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(scratch);
        }
    }
}
