// How this file works
// -------------------
// A WebSocket client that comes back: each underlying connection is an ordinary one from
// ConnectWebSocket (its events, Open to Close, go to the application's handler unchanged), and
// when one ends this object decides whether to try again, waits per ReconnectBackoff on a manager
// timer, and connects anew. States and their successors:
//   Connecting  -> Open (WsOpen), Waiting (closed before opening), Stopped (gave up, Stop)
//   Open        -> Waiting (closed), Stopped (Stop; or closed and gave up)
//   Waiting     -> Connecting (the timer fired), Stopped (Stop)
//   Stopped     (terminal: no more connections)
// OnReconnect hears Reconnecting (with the attempt number and the delay) when a wait begins,
// Reconnected when an attempt opens after a wait (before the handler's WsOpen), and GaveUp.
// Everything runs on the manager's loop thread.
namespace Meerkat.WebSockets;

/// <summary>Where a <see cref="ReconnectingWebSocket"/> stands (see the file header for the successors).</summary>
public enum ReconnectingWebSocketState
{
    /// <summary>A connection attempt is under way.</summary>
    Connecting,

    /// <summary>The WebSocket is open: sends go out.</summary>
    Open,

    /// <summary>Waiting for the backoff delay before the next attempt.</summary>
    Waiting,

    /// <summary>Stopped by <see cref="ReconnectingWebSocket.Stop"/> or after giving up; no more attempts.</summary>
    Stopped,
}

/// <summary>Why a connection of a <see cref="ReconnectingWebSocket"/> ended.</summary>
/// <param name="WasOpen">True when it had opened (WsOpen) before it ended.</param>
/// <param name="CloseCode">The close code the server sent, if it sent a Close frame.</param>
/// <param name="CloseReason">The reason the server sent with it.</param>
/// <param name="Error">The failure (network error, refused handshake...), if any.</param>
public sealed record WebSocketDisconnect(bool WasOpen, WebSocketCloseCode? CloseCode, string? CloseReason, Exception? Error)
{
    /// <summary>The HTTP status of a refused handshake, or 0.</summary>
    public int HandshakeStatus => (Error as WebSocketHandshakeException)?.StatusCode ?? 0;

    /// <inheritdoc/>
    public override string ToString() =>
        Error is not null ? Error.Message
        : CloseCode is { } code ? $"closed by the server with {(int)code} {CloseReason}".TrimEnd()
        : "the connection closed";
}

/// <summary>What <see cref="WebSocketReconnectEvent"/> reports.</summary>
public enum WebSocketReconnectKind
{
    /// <summary>A connection ended; the next attempt comes after <see cref="WebSocketReconnectEvent.Delay"/>.</summary>
    Reconnecting,

    /// <summary>An attempt after a wait opened the WebSocket.</summary>
    Reconnected,

    /// <summary>No more attempts: <see cref="WebSocketReconnectOptions.ShouldReconnect"/> said no, or <see cref="WebSocketReconnectOptions.MaxAttempts"/> ran out.</summary>
    GaveUp,
}

/// <summary>A change in a <see cref="ReconnectingWebSocket"/>'s connection.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Attempt">The attempt number (1 for the first attempt after a connection ended).</param>
/// <param name="Delay">For Reconnecting: the wait before the attempt.</param>
/// <param name="Disconnect">Why the last connection ended (for Reconnected: the one before the wait).</param>
public readonly record struct WebSocketReconnectEvent(WebSocketReconnectKind Kind, int Attempt, TimeSpan Delay, WebSocketDisconnect? Disconnect);

/// <summary>
/// A WebSocket client that reconnects with exponential backoff and jitter when its connection ends.
/// Each connection raises the usual events to the handler (<see cref="EventKind.WsOpen"/> again after
/// each reconnection); <see cref="WebSocketReconnectOptions.OnReconnect"/> hears the reconnections.
/// Create and use it on the loop thread (or before the loop runs).
/// </summary>
/// <example>
/// <code>
/// var ws = ReconnectingWebSocket.Connect(manager, "ws://127.0.0.1:8000/ws", (c, e) =>
/// {
///     if (e.Kind == EventKind.WsMessage) Console.WriteLine(e.WebSocketText);
/// }, reconnect: new() { OnReconnect = (ws, r) => Console.WriteLine($"{r.Kind} {r.Attempt} {r.Delay}") });
/// </code>
/// </example>
public sealed class ReconnectingWebSocket
{
    private readonly Manager manager;
    private readonly string url;
    private readonly ConnectionHandler? handler;
    private readonly WebSocketClientOptions? options;
    private readonly WebSocketReconnectOptions reconnect;
    private readonly ReconnectBackoff backoff;
    private readonly Random random;
    private ManagerTimer? timer;
    private WebSocketDisconnect? lastDisconnect;
    private bool waited;
    private bool opened;
    private Exception? error;
    private WebSocketCloseCode? closeCode;
    private string? closeReason;

    private ReconnectingWebSocket(Manager manager, string url, ConnectionHandler? handler, WebSocketClientOptions? options,
        WebSocketReconnectOptions reconnect, Random? random)
    {
        this.manager = manager;
        this.url = url;
        this.handler = handler;
        this.options = options;
        this.reconnect = reconnect;
        backoff = new ReconnectBackoff(reconnect);
        this.random = random ?? Random.Shared;
    }

    /// <summary>The current connection (connecting or open); null while waiting or stopped.</summary>
    public Connection? Connection { get; private set; }

    /// <summary>Where it stands.</summary>
    public ReconnectingWebSocketState State { get; private set; }

    /// <summary>How many times it reconnected after a wait.</summary>
    public int Reconnects { get; private set; }

    /// <summary>Opens a WebSocket to <paramref name="url"/> that reconnects per <paramref name="reconnect"/> (defaults when null).</summary>
    /// <param name="manager">The manager whose loop runs it.</param>
    /// <param name="url">A <c>ws://</c> or <c>wss://</c> URL.</param>
    /// <param name="handler">Receives every event of every connection.</param>
    /// <param name="options">The client options of each connection.</param>
    /// <param name="reconnect">Backoff, limits and the reconnection callback.</param>
    /// <param name="random">The source of jitter (tests pass a seeded one); null for <see cref="Random.Shared"/>.</param>
    /// <exception cref="ArgumentException">The URL or the options are invalid.</exception>
    public static ReconnectingWebSocket Connect(Manager manager, string url, ConnectionHandler? handler,
        WebSocketClientOptions? options = null, WebSocketReconnectOptions? reconnect = null, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(manager);
        var socket = new ReconnectingWebSocket(manager, url, handler, options, reconnect ?? new WebSocketReconnectOptions(), random);
        socket.Attach();
        return socket;
    }

    /// <summary>Sends a text message when open.</summary>
    /// <returns>False, sending nothing, when not open (or as <c>SendText</c> on the connection).</returns>
    public bool SendText(ReadOnlySpan<char> text) => State == ReconnectingWebSocketState.Open && Connection!.SendText(text);

    /// <summary>Sends a whole message of the given kind when open.</summary>
    /// <returns>False, sending nothing, when not open.</returns>
    public bool SendMessage(WebSocketMessageKind kind, ReadOnlySpan<byte> data) =>
        State == ReconnectingWebSocketState.Open && Connection!.SendMessage(kind, data);

    /// <summary>Stops for good: an open WebSocket is closed with <paramref name="code"/>, a pending attempt or wait is abandoned.</summary>
    public void Stop(WebSocketCloseCode code = WebSocketCloseCode.NormalClosure, string reason = "")
    {
        if (State == ReconnectingWebSocketState.Stopped) return;
        State = ReconnectingWebSocketState.Stopped;
        timer?.Cancel();
        timer = null;
        if (Connection is { } connection && !connection.CloseWebSocket(code, reason)) connection.Close();
    }

    private void Attach()
    {
        error = null;
        closeCode = null;
        closeReason = null;
        opened = false;
        State = ReconnectingWebSocketState.Connecting;
        Connection = manager.ConnectWebSocket(url, OnEvent, options);
    }

    private void OnEvent(Connection c, Event e)
    {
        switch (e.Kind)
        {
            case EventKind.WsOpen:
                OnOpen();
                break;
            case EventKind.WsControl when e.WebSocket is { Control: WebSocketControl.Close } info:
                closeCode = info.CloseCode;
                closeReason = info.CloseReason;
                break;
            case EventKind.Error:
                error = e.Error;
                break;
        }
        handler?.Invoke(c, e);
        if (e.Kind == EventKind.Close && ReferenceEquals(c, Connection)) OnClosed();
    }

    private void OnOpen()
    {
        opened = true;
        if (State == ReconnectingWebSocketState.Connecting) State = ReconnectingWebSocketState.Open;
        int attempts = backoff.Failures;
        backoff.Reset();
        if (!waited) return;
        waited = false;
        Reconnects++;
        Tell(WebSocketReconnectKind.Reconnected, attempts, TimeSpan.Zero);
    }

    private void OnClosed()
    {
        Connection = null;
        lastDisconnect = new WebSocketDisconnect(opened, closeCode, closeReason, error);
        if (State == ReconnectingWebSocketState.Stopped) return;
        bool again = reconnect.ShouldReconnect?.Invoke(lastDisconnect) ?? IsWorthRetrying(lastDisconnect);
        if (!again || backoff.IsExhausted)
        {
            State = ReconnectingWebSocketState.Stopped;
            Tell(WebSocketReconnectKind.GaveUp, backoff.Failures, TimeSpan.Zero);
            return;
        }
        TimeSpan delay = backoff.NextDelay(random.NextDouble());
        State = ReconnectingWebSocketState.Waiting;
        waited = true;
        Tell(WebSocketReconnectKind.Reconnecting, backoff.Failures, delay);
        if (State != ReconnectingWebSocketState.Waiting) return; // the callback stopped it
        timer = manager.AddTimer(delay, TimeSpan.Zero, _ =>
        {
            timer = null;
            if (State == ReconnectingWebSocketState.Waiting) Attach();
        });
    }

    private void Tell(WebSocketReconnectKind kind, int attempt, TimeSpan delay) =>
        reconnect.OnReconnect?.Invoke(this, new WebSocketReconnectEvent(kind, attempt, delay, lastDisconnect));

    /// <summary>A handshake refused with a client error (other than 408 and 429) would be refused again.</summary>
    private static bool IsWorthRetrying(WebSocketDisconnect disconnect) =>
        disconnect.HandshakeStatus is not (>= 400 and < 500) || disconnect.HandshakeStatus is 408 or 429;

    /// <inheritdoc/>
    public override string ToString() => $"{url} {State}";
}
