// How this file works: the glue between one outbound Connection and its sans-I/O HttpClientCore,
// on the loop thread. Requests given by the API go to the core and its output to the connection's
// send buffer; the receive buffer goes to the core and each event it returns becomes the user's
// event (HttpHeaders, HttpBody, HttpMessage, HttpDone) or an action (fail, close). The rest is I/O:
// the 100-continue timer, backpressure (nothing is fed to the core while the application has paused
// the body, so the receive buffer fills, the loop stops reading and TCP slows the server), and TLS's
// word on whether the end of stream can be trusted. A transaction the core still holds open when
// the connection fails or closes from outside gets its HttpDone here, with the reason, before
// Error or Close: every HttpHeaders is followed by exactly one HttpDone.
using System.Diagnostics;
using Meerkat.Diagnostics;
using Meerkat.Tls;

namespace Meerkat.Http.Client;

internal sealed class HttpClientProtocol(HttpClientConnectionOptions options) : Protocol, IHttpClientProtocol
{
    private readonly HttpClientCore core = new(options.Limits, options.MaxBufferedBodySize, Ticks(options.ExpectContinueTimeout));
    private readonly HttpClientTelemetry telemetry = new();
    private ManagerTimer? continueTimer;
    private bool pumping;

    /// <summary>The application paused the response body: nothing more is parsed until resumed.</summary>
    public bool IsPaused { get; private set; }

    /// <summary>Requests sent whose responses have not ended.</summary>
    public int PendingCount => core.OutstandingCount;

    /// <summary>Called (loop thread) after each pass over the receive buffer, once the events of
    /// the bytes at hand were raised: MeerkatHttpClient publishes a head there, so a small body that
    /// arrived with it reaches the caller in the same hop.</summary>
    public Action<Connection>? PumpEnded { get; set; }

    // ------------------------------------------------------------------ sending

    public bool SendRequest(Connection connection, HttpClientRequest request)
    {
        var span = HttpClientTelemetry.StartSpan(connection, request);
        bool accepted;
        try
        {
            accepted = core.SendRequest(request, connection.Manager.Ticks, span);
        }
        catch (Exception ex)
        {
            HttpClientTelemetry.Abandon(span, ex);
            throw;
        }
        Taken(connection, request, span, accepted);
        ArmContinueTimer(connection);
        return Flush(connection) && accepted;
    }

    public bool SendRequestHead(Connection connection, HttpClientRequest request, long contentLength)
    {
        var span = HttpClientTelemetry.StartSpan(connection, request);
        bool accepted;
        try
        {
            accepted = core.SendRequestHead(request, contentLength, span);
        }
        catch (Exception ex)
        {
            HttpClientTelemetry.Abandon(span, ex);
            throw;
        }
        Taken(connection, request, span, accepted);
        return accepted & Flush(connection);
    }

    /// <summary>Starts measuring a request the core took (its head is written, with the span's
    /// traceparent); ends the span of one it refused.</summary>
    private void Taken(Connection connection, HttpClientRequest request, Activity? span, bool accepted)
    {
        if (accepted) telemetry.Sent(connection, request, span);
        else HttpClientTelemetry.Abandon(span, null);
    }

    public bool SendRequestBody(Connection connection, ReadOnlySpan<byte> data)
    {
        core.SendRequestBody(data);
        return Flush(connection);
    }

    public bool EndRequestBody(Connection connection, IEnumerable<KeyValuePair<string, string>>? trailers)
    {
        core.EndRequestBody(trailers);
        return Flush(connection);
    }

    private bool Flush(Connection connection)
    {
        if (core.Output.IsEmpty) return true;
        bool sent = connection.Send(core.Output);
        core.ClearOutput();
        return sent;
    }

    private void ArmContinueTimer(Connection connection)
    {
        if (continueTimer is not null || core.NextDeadline == long.MaxValue) return;
        var due = TimeSpan.FromSeconds(Math.Max(0, core.NextDeadline - connection.Manager.Ticks) / (double)System.Diagnostics.Stopwatch.Frequency);
        continueTimer = connection.Manager.AddTimer(due, TimeSpan.Zero, _ =>
        {
            continueTimer = null;
            core.OnTimer(connection.Manager.Ticks);
            Flush(connection);
            ArmContinueTimer(connection); // a later request's body may be held now
        });
    }

    // ------------------------------------------------------------------ receiving

    public override void OnEvent(Connection connection, Event e)
    {
        switch (e.Kind)
        {
            case EventKind.Read:
                Pump(connection);
                break;
            case EventKind.Connect:
                telemetry.Connected(connection);
                break;
            case EventKind.Close:
                continueTimer?.Cancel();
                telemetry.Closed(connection);
                break;
        }
    }

    public override bool OnEndOfStream(Connection connection)
    {
        // Over TLS, the end is trustworthy only after the server's close_notify (RFC 9112 §9.8).
        core.IsEndOfStreamAuthenticated = options.AllowUntilCloseBodyWithoutCloseNotify
            || connection.Security is not TlsLayer { IsCloseNotifyReceived: false };
        Pump(connection);
        return true;
    }

    /// <summary>Before Error or Close (possibly both: the core ends a transaction once). The connection is
    /// going anyway, so a handler that throws on this HttpDone is logged rather than failing it again.</summary>
    public override void OnClosing(Connection connection, CloseCause cause, Exception? error)
    {
        continueTimer?.Cancel();
        var reason = OutcomeOf(cause, error);
        if (core.Abort(reason, out var outcome))
        {
            var manager = connection.Manager;
            var done = new Event(EventKind.HttpDone, count: (long)outcome, error: outcome == HttpOutcome.Completed ? null : error, subject: core.Response);
            telemetry.Ended(connection, outcome, core.Response, done.Error);
            if (manager.RaiseHttpToUser(connection, done) is { } thrown)
                manager.Log(LogSeverity.Error, "handler-error", $"the handler threw on HttpDone: {thrown.Message}", thrown, connection.Id);
        }
        telemetry.Abandoned(connection, reason, error);
    }

    /// <summary>A graceful shutdown began: an idle kept-alive connection closes now (a pool would keep it
    /// open until the deadline, holding the shutdown up); a busy one finishes its responses (the pool does
    /// not keep it afterwards) or is closed at the deadline.</summary>
    public override void OnShutdown(Connection connection)
    {
        if (core.State == HttpClientState.Idle && !core.IsSendingBody) connection.Close();
    }

    public void Pause() => IsPaused = true;

    /// <summary>An HTTP/2 protocol handed this connection over (ALPN chose HTTP/1.1) after its Connect: it counts as open from here.</summary>
    public void TakeOver(Connection connection) => telemetry.Connected(connection);

    /// <summary>Unpauses; the buffered response continues in the loop's work phase, never inside the
    /// caller's ResumeResponseBody (STYLE.md: no events raised synchronously inside API calls).</summary>
    public void Resume(Connection connection)
    {
        if (!IsPaused) return;
        IsPaused = false;
        connection.Manager.ScheduleWork(connection);
    }

    public override void OnWork(Connection connection)
    {
        if (!IsPaused) Pump(connection);
    }

    /// <summary>Feeds the receive buffer to the core until it needs more bytes, the application
    /// pauses, or the connection closes. Re-entrant calls (a handler resuming) are ignored: the
    /// outer loop carries on.</summary>
    private void Pump(Connection connection)
    {
        if (pumping) return;
        pumping = true;
        try
        {
            // A handler may switch the connection to another protocol (the proxy's tunnel, after a 101): stop then.
            while (!IsPaused && connection.State < ConnectionState.Closing && connection.Protocol == this)
            {
                var e = core.Receive(connection.ReceiveBuffer.Memory, connection.IsPeerClosed, out int consumed);
                Flush(connection);
                if (e == HttpClientEvent.NeedMoreData)
                {
                    connection.Consume(consumed);
                    break;
                }
                Dispatch(connection, e);
                if (connection.State < ConnectionState.Closing) connection.Consume(consumed);
            }
        }
        finally
        {
            pumping = false;
        }
        PumpEnded?.Invoke(connection);
    }

    private void Dispatch(Connection connection, HttpClientEvent e)
    {
        var manager = connection.Manager;
        var response = core.Response;
        switch (e)
        {
            case HttpClientEvent.Head:
                manager.RaiseToUser(connection, new Event(EventKind.HttpHeaders, subject: response));
                break;
            case HttpClientEvent.Body:
                manager.RaiseToUser(connection, new Event(EventKind.HttpBody, core.Body.Span, subject: response));
                break;
            case HttpClientEvent.Message:
                manager.RaiseToUser(connection, new Event(EventKind.HttpMessage, core.BufferedBody, response!.BodyBytesReceived, subject: response));
                break;
            case HttpClientEvent.Done:
                RaiseDone(connection, core.Outcome, core.Outcome == HttpOutcome.Completed ? null : core.Error);
                break;
            case HttpClientEvent.Error:
                manager.Fail(connection, core.Error!);
                break;
            case HttpClientEvent.Close:
                connection.Close();
                break;
        }
    }

    private void RaiseDone(Connection connection, HttpOutcome outcome, Exception? error)
    {
        telemetry.Ended(connection, outcome, core.Response, error);
        connection.Manager.RaiseToUser(connection, new Event(EventKind.HttpDone, count: (long)outcome, error: error, subject: core.Response));
    }

    /// <summary>Why a transaction was cut, from why the connection closes.</summary>
    internal static HttpOutcome OutcomeOf(CloseCause cause, Exception? error) => cause switch
    {
        CloseCause.HandlerError => HttpOutcome.HandlerError,
        CloseCause.Disposed => HttpOutcome.Disposed,
        CloseCause.Shutdown => HttpOutcome.Shutdown,
        CloseCause.Closed => HttpOutcome.Cancelled,
        _ => error switch
        {
            TimeoutException => HttpOutcome.Deadline,
            OperationCanceledException => HttpOutcome.Cancelled,
            HttpClientException => HttpOutcome.ProtocolError,
            _ => HttpOutcome.Reset,
        },
    };

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
}
