// How this file works: the glue between a Connection and its HttpServerCore. Each step hands the
// core the receive buffer, the end-of-stream flag, the time and the send buffer; raises the event
// the core returns to the user's handler; discards the bytes the core used; and finally does what
// the core's state asks of the connection (keep it, close after drain, close now, switch protocol).
// Nothing here decides HTTP: keep-alive, pipelining, deferred responses, 100-continue, deadlines
// and every transaction's end live in the core, which tests drive without a socket.
//
// HTTP/2 (HttpServerOptions.EnableHttp2) is entered here, in three ways, before any HTTP/1.1
// transaction of the connection is raised: TLS chose "h2" by ALPN (at TlsHandshake); a plain
// connection starts with the HTTP/2 preface (prior knowledge: the first bytes are compared with it
// before the HTTP/1.1 parser sees them, waiting while they are a prefix of it); or a request asks for
// "Upgrade: h2c" with a valid HTTP2-Settings field (RFC 7540 §3.2): it is answered 101 and becomes
// stream 1, so its HTTP/1.1 events are not raised. Http2ServerProtocol then owns the connection.
using System.Net.Security;
using Meerkat.Http2;
using Meerkat.Tls;

namespace Meerkat.Http;

/// <summary>The server side of HTTP/1.1 on one accepted connection (glue over <see cref="HttpServerCore"/>).</summary>
internal sealed class HttpServerProtocol : Protocol, IHttpServerConnection, IServerTransaction
{
    private readonly HttpServerCore core;
    private readonly bool isTls;
    private Action<Connection>? switchProtocols;
    // A plain connection whose first bytes have not yet told HTTP/1.1 from the HTTP/2 preface.
    private bool mayStartWithPreface;
    // The pending request is being upgraded to h2c: its HTTP/1.1 events are stream 1's, not raised here.
    private bool isUpgradingToHttp2;

    /// <param name="options">The listener's options.</param>
    /// <param name="now">The time the connection was accepted (Stopwatch ticks).</param>
    /// <param name="pool">The listener's workspaces on this loop, leased while a request is in progress.</param>
    /// <param name="isTls">The connection is HTTPS (no HTTP/2 preface or h2c upgrade: ALPN decides).</param>
    public HttpServerProtocol(HttpServerOptions options, long now, HttpServerWorkspacePool pool, bool isTls = false)
    {
        core = new HttpServerCore(options, now, pool);
        this.isTls = isTls;
        mayStartWithPreface = options.EnableHttp2 && !isTls;
    }

    public HttpServerCore Core => core;

    public HttpServerOptions Options => core.Options;

    public HttpRequest Request => core.Request;

    /// <summary>The response of the request in progress; null on an idle connection.</summary>
    public ResponseWriter? Response => core.Response;

    private ResponseWriter Writer => core.Response ?? HttpServerCore.NoRequest().Response;

    /// <summary>The handler paused the request body (<c>PauseRequestBody</c>): nothing more is parsed
    /// until it resumes, so the receive buffer fills, the loop stops reading and TCP slows the client.</summary>
    public bool IsBodyPaused { get; private set; }

    public void PauseBody() => IsBodyPaused = true;

    /// <summary>Unpauses; parsing continues in the loop's work phase, never inside the caller's call.</summary>
    public void ResumeBody(Connection connection)
    {
        if (!IsBodyPaused) return;
        IsBodyPaused = false;
        connection.Manager.ScheduleWork(connection);
    }

    // ---- the transaction API (HttpServer): one request at a time on an HTTP/1.1 connection

    public IServerTransaction? Addressed(out string? reason)
    {
        reason = null;
        return this;
    }

    public bool IsInTransaction => core.IsInTransaction;

    public bool IsAwaitingResponse => core.IsAwaitingResponse;

    public List<(string Name, string Value)> AddedHeaders => Writer.AddedHeaders;

    public IDisposable? Resource
    {
        get => core.Response?.Resource;
        set => Writer.Resource = value;
    }

    public void BeginResponse(Connection connection, int status, long contentLength, string? contentType, ReadOnlySpan<(string Name, string Value)> headers, HttpBodyProducer? producer)
    {
        core.BeginResponse(connection.SendWriter, status, contentLength, contentType, headers, PeerFinished(connection), connection.Manager.SystemIterationTicks);
        if (producer is not null) Writer.Producer = producer;
        ResponseChanged(connection);
    }

    public bool WriteBody(Connection connection, ReadOnlySpan<byte> data)
    {
        Writer.Write(connection.SendWriter, data);
        return connection.IsWritable;
    }

    public void EndResponse(Connection connection, ReadOnlySpan<(string Name, string Value)> trailers)
    {
        Writer.End(connection.SendWriter, trailers);
        ResponseChanged(connection);
    }

    public void Reply(Connection connection, int status, ReadOnlySpan<byte> body, string? contentType, ReadOnlySpan<(string Name, string Value)> headers)
    {
        var writer = connection.SendWriter;
        core.BeginResponse(writer, status, body.Length, contentType, headers, PeerFinished(connection), connection.Manager.SystemIterationTicks);
        Writer.Write(writer, body);
        Writer.End(writer);
        ResponseChanged(connection);
    }

    public override void OnEvent(Connection connection, Event e)
    {
        switch (e.Kind)
        {
            case EventKind.Read:
                Process(connection);
                break;
            case EventKind.Write:
                core.OutputProgressed(connection.Manager.IterationTicks);
                Pump(connection);
                break;
            case EventKind.TlsHandshake when Options.EnableHttp2 && connection.Security is TlsLayer { Session: { } ssl }
                                              && ssl.NegotiatedApplicationProtocol == SslApplicationProtocol.Http2:
                core.Release();
                Http2ServerProtocol.Install(connection, Options, processNow: false); // the plaintext follows as a Read event
                break;
            case EventKind.Close:
                IsBodyPaused = false;
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
        var outcome = HttpServerOutcomes.OfClose(cause, connection.IsPeerClosed);
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
        if (core.Response is not { } response) return;
        if (response.Producer is not null) Pump(connection);
        if (response.IsComplete) connection.Manager.ScheduleWork(connection);
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
        var done = core.Tick(connection.Received, now, connection.PendingSendBytes, connection.IsReadPaused || IsBodyPaused, connection.SendWriter);
        if (done.Kind == HttpServerEventKind.Done) RaiseDone(connection, done);
        Settle(connection);
    }

    private void Process(Connection connection)
    {
        if (mayStartWithPreface && !IsHttp11(connection)) return;
        while (!IsBodyPaused && connection.State < ConnectionState.Draining && connection.Protocol == this)
        {
            var e = core.Next(connection.ReceivedMemory, connection.IsPeerClosed, connection.Manager.IterationTicks, connection.SendWriter, out int consumed);
            if (e.Kind == HttpServerEventKind.NeedMoreData)
            {
                if (consumed > 0) connection.Consume(consumed);
                break;
            }
            if (e.Kind == HttpServerEventKind.Headers) isUpgradingToHttp2 = TryUpgradeToHttp2(connection);
            if (isUpgradingToHttp2)
            {
                // Stream 1 raises this request's events once the connection speaks HTTP/2.
                if (consumed > 0) connection.Consume(consumed);
                continue;
            }
            var error = Raise(connection, e);
            if (consumed > 0 && connection.State < ConnectionState.Closed) connection.Consume(consumed);
            if (error is not null) HandlerFailed(connection, ToEventKind(e.Kind), error);
        }
        Settle(connection);
    }

    /// <summary>Prior knowledge (RFC 9113 §3.3): false while the first bytes are a prefix of the HTTP/2
    /// preface (wait for more), or once they are the whole preface (HTTP/2 took the connection over).</summary>
    private bool IsHttp11(Connection connection)
    {
        var received = connection.Received;
        if (received.IsEmpty) return true;
        switch (Http2Preface.Match(received))
        {
            case Http2PrefaceMatch.Complete:
                mayStartWithPreface = false;
                core.Release();
                Http2ServerProtocol.Install(connection, Options, processNow: true);
                return false;
            case Http2PrefaceMatch.Partial when !connection.IsPeerClosed:
                return false;
            default:
                mayStartWithPreface = false;
                return true;
        }
    }

    /// <summary>"Upgrade: h2c" (RFC 7540 §3.2, still sent by curl): a request without a body, on a plain
    /// connection, with one valid HTTP2-Settings field named in Connection, is answered 101 and becomes
    /// stream 1 of an HTTP/2 connection. Any other request is served by HTTP/1.1 (a server may ignore Upgrade).</summary>
    private bool TryUpgradeToHttp2(Connection connection)
    {
        var request = core.Request;
        if (!Options.EnableHttp2 || isTls || !request.Head.IsUpgrade || request.HasBody || request.IsMethod("CONNECT"u8)) return false;
        if (!HasToken(request.Head.UpgradeProtocol, "h2c"u8) || !HasConnectionOption(request.Headers, "http2-settings"u8)) return false;
        string? settingsField = null;
        var headers = request.Headers;
        for (int i = 0; i < headers.Count; i++)
        {
            if (!System.Text.Ascii.EqualsIgnoreCase(headers.GetName(i), "HTTP2-Settings"u8)) continue;
            if (settingsField is not null) return false; // more than one: no upgrade (RFC 7540 §3.2.1)
            settingsField = headers.GetValueString(i);
        }
        if (settingsField is null || !Http2Upgrade.TryDecodeSettings(settingsField, out byte[] settings)) return false;
        var stream1 = new Http2RequestHead();
        stream1.Build(request);
        core.SwitchProtocols(connection.SendWriter, [new("Connection", "Upgrade"), new("Upgrade", "h2c")]);
        switchProtocols = SwitchToHttp2(settings, stream1);
        return true;
    }

    /// <summary>Apart from <see cref="TryUpgradeToHttp2"/>, so that its closure is allocated only for an upgrade.</summary>
    private Action<Connection> SwitchToHttp2(byte[] settings, Http2RequestHead stream1) =>
        c => Http2ServerProtocol.InstallUpgraded(c, Options, settings, stream1);

    private static bool HasConnectionOption(HttpHeaders headers, ReadOnlySpan<byte> option)
    {
        for (int i = 0; i < headers.Count; i++)
            if (System.Text.Ascii.EqualsIgnoreCase(headers.GetName(i), "Connection"u8) && HasToken(headers.GetValue(i), option)) return true;
        return false;
    }

    /// <summary>True when the comma-separated list <paramref name="list"/> has <paramref name="token"/> (case-insensitive).</summary>
    private static bool HasToken(ReadOnlySpan<byte> list, ReadOnlySpan<byte> token)
    {
        foreach (Range range in list.Split((byte)','))
            if (System.Text.Ascii.EqualsIgnoreCase(list[range].Trim(" \t"u8), token)) return true;
        return false;
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
        HttpServerEventKind.Headers => RaiseHeaders(connection),
        HttpServerEventKind.Body => connection.Manager.RaiseHttpToUser(connection, new Event(EventKind.HttpBody, core.BodyPiece, subject: core.Request)),
        HttpServerEventKind.Message => connection.Manager.RaiseHttpToUser(connection, new Event(EventKind.HttpMessage, subject: core.Request)),
        _ => RaiseDone(connection, e),
    };

    private Exception? RaiseHeaders(Connection connection)
    {
        core.Request.Owner = (connection, this); // the request object is leased: it may have served another connection
        return connection.Manager.RaiseHttpToUser(connection, new Event(EventKind.HttpHeaders, subject: core.Request));
    }

    /// <summary>A Wakeup sent to the request's <see cref="HttpRequest.Id"/>: raised with the request as its
    /// subject; a throw there is a handler error of the transaction (500 or an abort), as on HTTP events.</summary>
    public override void OnAddressedWakeup(Connection connection, object target, ReadOnlySpan<byte> payload)
    {
        if (!core.IsInTransaction)
        {
            base.OnAddressedWakeup(connection, target, payload);
            return;
        }
        if (connection.Manager.RaiseHttpToUser(connection, new Event(EventKind.Wakeup, payload, subject: core.Request)) is { } error)
            HandlerFailed(connection, EventKind.Wakeup, error);
        Settle(connection);
    }

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
        core.Request.EndTransaction();
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
            : !Writer.IsStarted ? "answered 500 and closing"
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
        if (core.Response is not { Producer: { } producer } response || !response.IsStarted || response.IsComplete) return;
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
