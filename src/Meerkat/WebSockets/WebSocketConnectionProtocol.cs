// How this file works: the glue between a connection and the sans-I/O WebSocketProtocol engine,
// on the loop thread. Received bytes go from the receive buffer into the engine; each engine
// event becomes WsMessage or WsControl for the user; automatic replies (pong, close echo, the
// close for a violation) go straight into the send buffer. Sends from the user (see
// WebSocketExtensions) write frames into the send buffer through the engine.
//
// Phases (ordered, so checks read "phase >= Open"):
//   Handshake  client only: request sent on Connect, waiting for the 101 -> Open, or Error+Close
//   Open       the engine runs; WsOpen raised                          -> Closing
//   Closing    the closing handshake ended or timed out: no more events but Close.
//
// Timers (the manager's callback timers, invisible to the user's handler), one deadline at a time:
// the handshake timeout (client), then the close timeout once we sent Close (RFC 6455 §7.1.1:
// after the handshake the server closes TCP, the client waits for it). Keep-alive pings run on a
// separate repeating timer when asked for.
using System.Text;
using Meerkat.Http;

namespace Meerkat.WebSockets;

internal sealed class WebSocketConnectionProtocol : Protocol
{
    private enum Phase { Handshake, Open, Closing }

    private readonly WebSocketConnectionOptions options;
    private readonly WebSocketEventInfo info = new();
    private readonly WebSocketClientHandshake? handshake;
    private readonly HttpMessageReader? responseReader;
    private readonly Uri? uri;
    private WebSocketProtocol? engine;
    private Phase phase;
    private ManagerTimer? deadline;
    private ManagerTimer? keepAlive;
    private long lastReceived;
    private long pingSentAt;
    private bool processing;

    /// <summary>Server side: the upgrade was accepted with these agreements.</summary>
    public WebSocketConnectionProtocol(WebSocketServerOptions options, string? subprotocol, PerMessageDeflateParameters? deflate)
    {
        this.options = options;
        Role = WebSocketRole.Server;
        Subprotocol = subprotocol;
        Deflate = deflate;
        phase = Phase.Handshake;
    }

    /// <summary>Client side: the handshake request goes out once connected.</summary>
    public WebSocketConnectionProtocol(WebSocketClientOptions options, Uri uri)
    {
        this.options = options;
        this.uri = uri;
        Role = WebSocketRole.Client;
        handshake = new WebSocketClientHandshake(options.Subprotocols, options.Deflate);
        responseReader = new HttpMessageReader(isRequest: false);
        responseReader.SetRequestMethod("GET"u8);
    }

    public WebSocketRole Role { get; }

    public string? Subprotocol { get; private set; }

    public PerMessageDeflateParameters? Deflate { get; private set; }

    /// <summary>The engine once open; null during the client's handshake.</summary>
    public WebSocketProtocol? Engine => engine;

    // ------------------------------------------------------------------ events from the loop

    public override void OnEvent(Connection connection, Event e)
    {
        switch (e.Kind)
        {
            case EventKind.Connect when handshake is not null:
                SendHandshakeRequest(connection);
                break;
            case EventKind.Read:
                lastReceived = connection.Manager.Ticks;
                Process(connection);
                break;
            case EventKind.Close:
                phase = Phase.Closing;
                deadline?.Cancel();
                keepAlive?.Cancel();
                engine?.Dispose();
                break;
        }
    }

    public override bool OnEndOfStream(Connection connection)
    {
        if (phase != Phase.Handshake) return false;
        connection.Manager.Fail(connection, new WebSocketHandshakeException($"WebSocket handshake with {uri} failed: the server closed the connection before answering 101"));
        return true;
    }

    public override void OnWork(Connection connection) => Process(connection);

    /// <summary>Server: called by the HTTP protocol after the upgrade request's HttpDone.</summary>
    public void OnSwitched(Connection connection, ConnectionHandler? handler)
    {
        connection.Protocol = this;
        if (handler is not null) connection.Handler = handler;
        lastReceived = connection.Manager.Ticks;
        Open(connection);
        Process(connection);
    }

    // ------------------------------------------------------------------ sending (user API)

    /// <summary>The engine, when a message of about <paramref name="length"/> bytes may be sent now:
    /// open, Close not sent, and room under the send buffer's limit.</summary>
    public WebSocketProtocol? SendableEngine(Connection connection, long length)
    {
        if (engine is null || engine.State != WebSocketProtocolState.Open || connection.State >= ConnectionState.Draining) return null;
        long room = connection.Manager.Options.MaxSendBufferSize - connection.PendingSendBytes;
        // Deflate may grow incompressible data by ~5 bytes per 64 KiB stored block: leave room for it.
        long worstCase = length + length / 1024 + WebSocketFrameWriter.MaxHeaderLength + 256;
        return worstCase <= room ? engine : null;
    }

    /// <summary>Starts the closing handshake and its timeout.</summary>
    public bool Close(Connection connection, WebSocketCloseCode code, string reason)
    {
        if (engine is null || connection.State >= ConnectionState.Draining) return false;
        if (!engine.SendClose(code, reason, connection.SendWriter)) return false;
        keepAlive?.Cancel();
        StartDeadline(connection, options.CloseTimeout);
        return true;
    }

    // ------------------------------------------------------------------ receiving

    private void Process(Connection connection)
    {
        if (processing) return;
        processing = true;
        try
        {
            if (phase == Phase.Handshake && handshake is not null && !ReadHandshakeResponse(connection)) return;
            if (phase == Phase.Open) ReadFrames(connection);
        }
        finally
        {
            processing = false;
        }
    }

    private void ReadFrames(Connection connection)
    {
        while (connection.State < ConnectionState.Draining && connection.Protocol == this)
        {
            var e = engine!.Receive(connection.Received, out int consumed, connection.SendWriter);
            if (e.Kind != WebSocketEventKind.NeedMoreData) Dispatch(connection, e);
            if (connection.State < ConnectionState.Closing) connection.Consume(consumed);
            if (e.Kind == WebSocketEventKind.NeedMoreData) return;
            if (e.Kind is WebSocketEventKind.Close or WebSocketEventKind.ProtocolViolation) AfterCloseHandshake(connection);
        }
    }

    /// <summary>Turns one engine event into the user's event; its payload lives until the next Receive.</summary>
    private void Dispatch(Connection connection, WebSocketEvent e)
    {
        var kind = EventKind.WsControl;
        switch (e.Kind)
        {
            case WebSocketEventKind.Message:
                info.Set(e.MessageKind, isEnd: true, WebSocketControl.None);
                kind = EventKind.WsMessage;
                break;
            case WebSocketEventKind.MessageData:
            case WebSocketEventKind.MessageEnd:
                info.Set(e.MessageKind, isEnd: e.Kind == WebSocketEventKind.MessageEnd, WebSocketControl.None);
                kind = EventKind.WsMessage;
                break;
            case WebSocketEventKind.Ping:
                info.Set(default, false, WebSocketControl.Ping);
                break;
            case WebSocketEventKind.Pong:
                info.Set(default, false, WebSocketControl.Pong);
                break;
            case WebSocketEventKind.Close:
                info.Set(default, false, WebSocketControl.Close, e.CloseCode, e.CloseReason);
                break;
            case WebSocketEventKind.ProtocolViolation:
                info.Set(default, false, WebSocketControl.Close, e.CloseCode, e.Reason ?? string.Empty, isViolation: true);
                break;
        }
        if (e.Kind is WebSocketEventKind.Message or WebSocketEventKind.MessageEnd) Diagnostics.WebSocketTelemetry.Message(connection, e.MessageKind, received: true);
        connection.Manager.RaiseToUser(connection, new Event(kind, e.Payload, subject: info));
    }

    /// <summary>The engine is Closed: the server (or either side after a violation) closes TCP once
    /// the Close frame is written (RFC 6455 §7.1.1, §7.1.7); a client waits for the server, with a timeout.</summary>
    private void AfterCloseHandshake(Connection connection)
    {
        if (engine!.State != WebSocketProtocolState.Closed) return;
        phase = Phase.Closing;
        keepAlive?.Cancel();
        if (engine.ShouldCloseTransport) connection.CloseAfterDrain();
        else StartDeadline(connection, options.CloseTimeout);
    }

    private void Open(Connection connection)
    {
        engine = new WebSocketProtocol(Role, options.EngineOptions, Deflate);
        phase = Phase.Open;
        deadline?.Cancel();
        deadline = null;
        if (options.KeepAliveInterval > TimeSpan.Zero) StartKeepAlive(connection);
        info.Set(default, false, WebSocketControl.None);
        connection.Manager.RaiseToUser(connection, new Event(EventKind.WsOpen, subject: info));
    }

    // ------------------------------------------------------------------ client handshake (RFC 6455 §4.1)

    private void SendHandshakeRequest(Connection connection)
    {
        var clientOptions = (WebSocketClientOptions)options;
        var head = new StringBuilder();
        head.Append("GET ").Append(uri!.PathAndQuery).Append(" HTTP/1.1\r\nHost: ").Append(uri.Authority).Append("\r\n");
        foreach (var (name, value) in handshake!.RequestHeaders) head.Append(name).Append(": ").Append(value).Append("\r\n");
        foreach (var (name, value) in clientOptions.Headers ?? []) head.Append(name).Append(": ").Append(value).Append("\r\n");
        head.Append("\r\n");
        connection.Send(Encoding.Latin1.GetBytes(head.ToString()));
        StartDeadline(connection, clientOptions.HandshakeTimeout);
    }

    /// <summary>Reads the server's answer; true once open (the remaining bytes are frames).</summary>
    private bool ReadHandshakeResponse(Connection connection)
    {
        while (connection.State < ConnectionState.Draining)
        {
            var result = responseReader!.Read(connection.ReceivedMemory, connection.IsPeerClosed, out int consumed);
            switch (result)
            {
                case HttpReadResult.Head:
                    if (!CheckResponse(connection, responseReader.Head)) return false;
                    connection.Consume(consumed);
                    break;
                case HttpReadResult.Interim or HttpReadResult.MessageEnd or HttpReadResult.Body:
                    connection.Consume(consumed);
                    break;
                case HttpReadResult.Upgrade:
                    Open(connection);
                    return true;
                case HttpReadResult.Error:
                    FailHandshake(connection, $"the response is not valid HTTP: {responseReader.Error.Message()}");
                    return false;
                default:
                    connection.Consume(consumed);
                    return false;
            }
        }
        return false;
    }

    private bool CheckResponse(Connection connection, HttpHead head)
    {
        var result = handshake!.ValidateResponse(head.StatusCode, Join(head.Headers, "Upgrade"), Join(head.Headers, "Connection"),
            Join(head.Headers, "Sec-WebSocket-Accept"), Join(head.Headers, "Sec-WebSocket-Protocol"), Join(head.Headers, "Sec-WebSocket-Extensions"));
        if (!result.IsSuccess)
        {
            FailHandshake(connection, result.Error!, head.StatusCode == WebSocketHandshake.SwitchingProtocols ? 0 : head.StatusCode);
            return false;
        }
        Subprotocol = result.Subprotocol;
        Deflate = result.Deflate;
        return true;
    }

    private void FailHandshake(Connection connection, string reason, int statusCode = 0)
    {
        phase = Phase.Closing;
        connection.Manager.Fail(connection, new WebSocketHandshakeException($"WebSocket handshake with {uri} failed: {reason}", statusCode));
    }

    /// <summary>All values of a field, joined with ", " (RFC 9110 §5.3); null when absent.</summary>
    internal static string? Join(HttpHeaders headers, string name)
    {
        string? joined = null;
        for (int i = 0; i < headers.Count; i++)
        {
            if (!headers.GetNameString(i).Equals(name, StringComparison.OrdinalIgnoreCase)) continue;
            string value = headers.GetValueString(i);
            joined = joined is null ? value : joined + ", " + value;
        }
        return joined;
    }

    // ------------------------------------------------------------------ timers

    private void StartDeadline(Connection connection, TimeSpan due)
    {
        deadline?.Cancel();
        deadline = connection.Manager.AddTimer(due, TimeSpan.Zero, _ => OnDeadline(connection), null);
    }

    private void OnDeadline(Connection connection)
    {
        if (connection.State >= ConnectionState.Closing) return;
        if (phase == Phase.Handshake) FailHandshake(connection, $"no 101 response within {((WebSocketClientOptions)options).HandshakeTimeout.TotalSeconds:0.###} s");
        else connection.Close();
    }

    private void StartKeepAlive(Connection connection)
    {
        var shortest = options.KeepAliveInterval < options.KeepAliveTimeout ? options.KeepAliveInterval : options.KeepAliveTimeout;
        var period = TimeSpan.FromMilliseconds(Math.Max(shortest.TotalMilliseconds / 4, 5));
        keepAlive = connection.Manager.AddTimer(period, period, _ => OnKeepAlive(connection), null);
    }

    /// <summary>Pings a quiet peer; fails the connection when nothing came back in time.</summary>
    private void OnKeepAlive(Connection connection)
    {
        if (connection.State >= ConnectionState.Draining || engine is not { State: WebSocketProtocolState.Open })
        {
            keepAlive?.Cancel();
            return;
        }
        long now = connection.Manager.Ticks;
        if (pingSentAt != 0 && lastReceived >= pingSentAt) pingSentAt = 0;
        if (pingSentAt != 0)
        {
            if (now - pingSentAt >= Ticks(options.KeepAliveTimeout))
                connection.Manager.Fail(connection, new TimeoutException($"the WebSocket peer sent nothing for {options.KeepAliveTimeout.TotalSeconds:0.###} s after a keep-alive ping"));
            return;
        }
        if (now - lastReceived < Ticks(options.KeepAliveInterval)) return;
        engine.SendPing(default, connection.SendWriter);
        pingSentAt = now;
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
}
