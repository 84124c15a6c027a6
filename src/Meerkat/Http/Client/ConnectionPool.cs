// How this file works: MeerkatHttpClient's connections, per origin, on the loop thread. A request
// (Exchange) takes an idle kept-alive connection, or opens a new one while the origin is under
// MaxConnectionsPerOrigin, or waits in the origin's queue. A connection returns to the idle list
// after a keep-alive response and closes after IdleConnectionTimeout there. Every pooled
// connection has one Slot (its Tag) naming the exchange it serves; the connection's events go
// to that exchange, and its Close hands the next waiting exchange a slot. Origins are keyed on
// scheme, host and port, so http:// and https:// to one host never share a connection; each
// https:// origin has its own connection options carrying its TLS settings. With
// MaxPipelineDepth above 1, safe requests may also queue on a busy connection (Slot.Behind):
// Current is always the exchange whose response is being read, and when it is done the next one
// behind it takes its place. An HTTP/2 connection (HttpClientConnectionOptions.EnableHttp2 or
// Http2PriorKnowledge) carries one exchange at a time here, like a kept-alive HTTP/1.1 one, and is
// never pipelined on; multiplexing is the loop-level API's (docs/http2.md).
namespace Meerkat.Http.Client;

internal sealed class ConnectionPool
{
    private readonly Manager manager;
    private readonly MeerkatHttpClientOptions options;

    public ConnectionPool(Manager manager, MeerkatHttpClientOptions options)
    {
        this.manager = manager;
        this.options = options;
        // A manager disposed under the client (one the caller runs) fails every request still pending,
        // including those whose posted work the manager will never run.
        manager.Disposing += OnManagerDisposing;
    }

    private sealed class Origin(Uri uri, HttpClientConnectionOptions connectionOptions)
    {
        public Uri Uri { get; } = uri;
        public HttpClientConnectionOptions ConnectionOptions { get; } = connectionOptions;
        public List<Connection> Idle { get; } = [];
        public List<Slot> Slots { get; } = [];
        public Queue<Exchange> Waiting { get; } = new();
        public int Count { get; set; }
    }

    /// <summary>One timer per connection, re-armed lazily: it serves the current exchange's deadline
    /// and the idle deadline, and fires at or before the earliest one (a timer that fires early
    /// re-arms for what is left), so a keep-alive request costs no timer of its own.</summary>
    private sealed class Slot
    {
        private readonly Manager manager;
        private readonly Action<ManagerTimer> onTimer;
        private ManagerTimer? timer;

        public Slot(Manager manager, Origin origin)
        {
            this.manager = manager;
            Origin = origin;
            onTimer = OnTimer;
        }

        public Origin Origin { get; }
        public Connection? Connection { get; set; }
        public Exchange? Current { get; set; }
        /// <summary>Pipelined exchanges, sent, whose responses come after Current's.</summary>
        public Queue<Exchange>? Behind { get; set; }
        /// <summary>Responses this connection completed with keep-alive: pipelining waits for one.</summary>
        public int Answered { get; set; }
        public int InFlight => (Current is null ? 0 : 1) + (Behind?.Count ?? 0);
        public bool IsConnected { get; set; }
        public Exception? LastError { get; set; }
        /// <summary>Manager ticks at which an idle connection closes; 0 while it is in use.</summary>
        public long IdleDeadline { get; set; }

        public void ArmAt(long dueTicks)
        {
            if (timer is { IsCancelled: false } && timer.DueTicks <= dueTicks) return;
            timer?.Cancel();
            long left = Math.Max(0, dueTicks - manager.Ticks);
            timer = manager.AddTimer(TimeSpan.FromSeconds(left / (double)System.Diagnostics.Stopwatch.Frequency), TimeSpan.Zero, onTimer);
        }

        public void CancelTimer()
        {
            timer?.Cancel();
            timer = null;
        }

        private void OnTimer(ManagerTimer fired)
        {
            if (fired != timer) return;
            timer = null;
            if (Current is { } exchange)
            {
                exchange.OnTimer();
                return;
            }
            if (IdleDeadline == 0 || Connection is null) return;
            if (IdleDeadline - manager.Ticks <= 0) Connection.Close();
            else ArmAt(IdleDeadline);
        }
    }

    private readonly Dictionary<string, Origin> origins = new(StringComparer.OrdinalIgnoreCase);
    private volatile bool isClosed;
    // Why requests are refused once closed: the client was disposed, or the manager under it.
    private volatile bool isManagerGone;

    // Every exchange not yet finished, linked through the exchanges themselves (no allocation per
    // request), so that Dispose can fail them from its own thread when the loop cannot.
    private readonly Lock trackGate = new();
    private Exchange? tracked;

    public Manager Manager => manager;

    /// <summary>Connections opened so far (for tests and diagnostics).</summary>
    public int ConnectionsOpened { get; private set; }

    /// <summary>Runs <see cref="Acquire"/> for the exchange on the loop thread, without a closure; fails it at
    /// once when the manager is gone. Thread-safe.</summary>
    public void PostAcquire(Exchange exchange)
    {
        try
        {
            manager.PostWork(exchange);
        }
        catch (ObjectDisposedException)
        {
            Untrack(exchange);
            exchange.Abandon(ManagerGone());
        }
    }

    /// <summary>Runs on the loop thread; refuses after the manager is gone. Thread-safe.</summary>
    public void Post(Action action)
    {
        try
        {
            manager.Post(action);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Acquire(Exchange exchange)
    {
        if (isClosed)
        {
            exchange.Abort(Closed());
            return;
        }
        var origin = OriginOf(exchange.Request.Uri);
        while (!exchange.WantsFreshConnection && origin.Idle.Count > 0)
        {
            var idle = origin.Idle[^1];
            origin.Idle.RemoveAt(origin.Idle.Count - 1);
            if (idle.State >= ConnectionState.Draining) continue;
            var slot = (Slot)idle.Tag!;
            slot.IdleDeadline = 0;
            slot.Current = exchange;
            exchange.OnAssigned(idle, Assignment.Reused);
            return;
        }
        if (origin.Count >= options.MaxConnectionsPerOrigin && origin.Idle.Count > 0)
        {
            // A fresh connection is wanted but the origin is full of idle ones: give one up.
            origin.Idle[0].Close();
            origin.Idle.RemoveAt(0);
        }
        if (origin.Count < options.MaxConnectionsPerOrigin)
        {
            origin.Count++;
            ConnectionsOpened++;
            var slot = new Slot(manager, origin) { Current = exchange };
            origin.Slots.Add(slot);
            var connection = manager.ConnectHttp(origin.Uri, OnEvent, origin.ConnectionOptions);
            connection.Tag = slot;
            slot.Connection = connection;
            if (connection.Protocol is IHttpClientProtocol protocol) protocol.PumpEnded = onPumpEnded;
            if (connection.Protocol is Http2.Http2ClientProtocol http2) http2.StreamLost = onStreamLost;
            exchange.OnAssigned(connection, Assignment.New);
            return;
        }
        if (options.MaxPipelineDepth > 1 && exchange.IsPipelinable && PipelineSlot(origin) is { } busy)
        {
            SendBehind(busy, exchange);
            return;
        }
        origin.Waiting.Enqueue(exchange);
    }

    /// <summary>The busy connection with the fewest requests in flight that may take one more
    /// pipelined request: connected, kept alive at least once, and carrying only safe requests.</summary>
    private Slot? PipelineSlot(Origin origin)
    {
        Slot? best = null;
        foreach (var slot in origin.Slots)
        {
            if (!slot.IsConnected || slot.Answered == 0 || slot.Connection is not { State: < ConnectionState.Draining, Protocol: HttpClientProtocol }) continue;
            if (slot.Current is not { IsFinished: false, IsPipelinable: true } || slot.InFlight >= options.MaxPipelineDepth) continue;
            if (best is null || slot.InFlight < best.InFlight) best = slot;
        }
        return best;
    }

    /// <summary>Requests sent behind others so far (for tests and diagnostics).</summary>
    public int RequestsPipelined { get; private set; }

    private void SendBehind(Slot slot, Exchange exchange)
    {
        RequestsPipelined++;
        (slot.Behind ??= new()).Enqueue(exchange);
        exchange.OnAssigned(slot.Connection!, Assignment.Pipelined);
    }

    /// <summary>The exchange on this connection is over; keep the connection for the next one if it can be.</summary>
    public void Release(Connection connection, bool reusable)
    {
        var slot = (Slot)connection.Tag!;
        slot.Current = null;
        if (reusable) slot.Answered++;
        if (slot.Behind is { Count: > 0 } behind)
        {
            // Pipelined: the next response on the wire is the next exchange's. One cancelled while it
            // waited cannot have its response skipped, so the connection goes, and the exchanges
            // behind it are sent again elsewhere (OnClose).
            var head = behind.Dequeue();
            slot.Current = head;
            if (!head.OnBecameHead()) connection.Close();
            else if (reusable && !isClosed) TopUp(slot);
            return;
        }
        if (!reusable || isClosed || connection.State >= ConnectionState.Draining) return;
        while (slot.Origin.Waiting.TryDequeue(out var next))
        {
            if (next.IsFinished) continue;
            slot.Current = next;
            next.OnAssigned(connection, Assignment.Reused);
            if (options.MaxPipelineDepth > 1 && next.IsPipelinable) TopUp(slot);
            return;
        }
        slot.Origin.Idle.Add(connection);
        slot.IdleDeadline = manager.Ticks + (long)(options.IdleConnectionTimeout.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        slot.ArmAt(slot.IdleDeadline);
    }

    /// <summary>Moves waiting safe requests onto a pipelined connection that has room, in arrival order.</summary>
    private void TopUp(Slot slot)
    {
        var waiting = slot.Origin.Waiting;
        while (slot.InFlight < options.MaxPipelineDepth && slot.Connection is { State: < ConnectionState.Draining }
            && waiting.TryPeek(out var next) && (next.IsFinished || next.IsPipelinable))
        {
            waiting.Dequeue();
            if (!next.IsFinished) SendBehind(slot, next);
        }
    }

    /// <summary>Makes the connection's timer fire no later than <paramref name="dueTicks"/> (manager ticks).</summary>
    public static void ArmDeadline(Connection connection, long dueTicks) => ((Slot)connection.Tag!).ArmAt(dueTicks);

    /// <summary>Closes a connection whose exchange was abandoned mid-way.</summary>
    public void Discard(Connection connection)
    {
        ((Slot)connection.Tag!).Current = null;
        connection.Close();
    }

    /// <summary>Closes every connection and fails every waiting request. Loop thread, or after the loop stopped.</summary>
    public void CloseAll()
    {
        isClosed = true;
        foreach (var origin in origins.Values)
        {
            while (origin.Waiting.TryDequeue(out var waiting)) waiting.Abort(Closed());
            foreach (var idle in origin.Idle) idle.Close();
            origin.Idle.Clear();
        }
        foreach (var connection in manager.Connections)
            if (connection.Tag is Slot) connection.Close();
    }

    /// <summary>Records an exchange until it finishes. Thread-safe.</summary>
    /// <exception cref="ObjectDisposedException">The client is closing.</exception>
    public void Track(Exchange exchange)
    {
        lock (trackGate)
        {
            if (isClosed) throw Closed();
            exchange.NextTracked = tracked;
            if (tracked is not null) tracked.PreviousTracked = exchange;
            tracked = exchange;
            exchange.IsTracked = true;
        }
    }

    /// <summary>Forgets a finished exchange. Thread-safe.</summary>
    public void Untrack(Exchange exchange)
    {
        lock (trackGate)
        {
            if (!exchange.IsTracked) return;
            if (exchange.PreviousTracked is { } previous) previous.NextTracked = exchange.NextTracked;
            else tracked = exchange.NextTracked;
            if (exchange.NextTracked is { } next) next.PreviousTracked = exchange.PreviousTracked;
            exchange.PreviousTracked = exchange.NextTracked = null;
            exchange.IsTracked = false;
        }
    }

    /// <summary>Refuses new exchanges and fails every unfinished one with <see cref="ObjectDisposedException"/>,
    /// from the calling thread: it needs nothing from the loop, so Dispose completes even when the loop
    /// is blocked. The loop still closes the connections (in CloseAll or the manager's teardown).</summary>
    public void AbandonAll() => AbandonAll(managerGone: false);

    private void OnManagerDisposing() => AbandonAll(managerGone: true);

    private static ObjectDisposedException ManagerGone() => new(nameof(Manager), "the manager running this client was disposed");

    private ObjectDisposedException Closed() => isManagerGone ? ManagerGone() : new(nameof(MeerkatHttpClient));

    private void AbandonAll(bool managerGone)
    {
        manager.Disposing -= OnManagerDisposing;
        Exchange? list;
        ObjectDisposedException reason;
        lock (trackGate)
        {
            if (!isClosed) isManagerGone = managerGone;
            isClosed = true;
            reason = Closed();
            list = tracked;
            tracked = null;
            for (var e = list; e is not null; e = e.NextTracked) e.IsTracked = false;
        }
        while (list is not null)
        {
            var next = list.NextTracked;
            list.PreviousTracked = list.NextTracked = null;
            list.Abandon(reason);
            list = next;
        }
    }

    // HTTP/2 (one exchange per connection in this pool): a stream that ended before its response head raises no
    // event, so the connection goes with that error, and OnClose fails the exchange or sends it again.
    private static readonly Action<Connection, object?, Exception, bool> onStreamLost = static (connection, _, error, _) =>
    {
        ((Slot)connection.Tag!).LastError ??= error;
        connection.Close();
    };

    private readonly Action<Connection> onPumpEnded = static connection => ((Slot)connection.Tag!).Current?.OnPumpEnded();

    private void OnEvent(Connection connection, Event e)
    {
        var slot = (Slot)connection.Tag!;
        switch (e.Kind)
        {
            case EventKind.Connect:
                slot.IsConnected = true;
                slot.Current?.OnConnected();
                break;
            case EventKind.HttpHeaders:
                slot.Current?.OnHeaders(e.Response!);
                break;
            case EventKind.HttpBody:
                slot.Current?.OnBody(e.Data);
                break;
            case EventKind.HttpDone:
                // An aborted transaction: the Error (if any) and Close that follow fail the exchange.
                if (e.IsAborted) slot.LastError ??= e.Error;
                else slot.Current?.OnDone(e.Response!);
                break;
            case EventKind.Write:
                slot.Current?.OnWritable();
                break;
            case EventKind.Error:
                slot.LastError = e.Error;
                break;
            case EventKind.Close:
                OnClose(connection, slot);
                break;
        }
    }

    private void OnClose(Connection connection, Slot slot)
    {
        var origin = slot.Origin;
        origin.Count--;
        origin.Slots.Remove(slot);
        origin.Idle.Remove(connection);
        slot.CancelTimer();
        var exchange = slot.Current;
        slot.Current = null;
        exchange?.OnConnectionLost(slot.LastError);
        while (slot.Behind?.TryDequeue(out var behind) == true) behind.OnConnectionLost(slot.LastError);
        if (isClosed)
        {
            while (origin.Waiting.TryDequeue(out var waiting)) waiting.Abort(Closed());
            return;
        }
        while (origin.Count < options.MaxConnectionsPerOrigin && origin.Waiting.TryDequeue(out var next))
            if (!next.IsFinished) Acquire(next);
    }

    private Origin OriginOf(Uri uri)
    {
        // The last origin used, matched without building its key (most clients talk to one origin).
        if (lastOrigin is { } last && uri.Port == last.Uri.Port && ReferenceEquals(uri.Scheme, last.Uri.Scheme)
            && string.Equals(uri.Host, lastHost, StringComparison.OrdinalIgnoreCase))
            return last;
        var origin = LookUp(uri);
        lastOrigin = origin;
        lastHost = uri.Host;
        return origin;
    }

    private Origin? lastOrigin;
    private string? lastHost;

    private Origin LookUp(Uri uri)
    {
        string key = $"{uri.Scheme}://{uri.IdnHost}:{uri.Port}";
        if (origins.TryGetValue(key, out var origin)) return origin;
        var uriKey = new Uri(key);
        var connectionOptions = options.Connection;
        if (uri.Scheme == Uri.UriSchemeHttps)
            connectionOptions = connectionOptions.WithTls(options.TlsForOrigin?.Invoke(uriKey) ?? options.Tls ?? connectionOptions.Tls);
        origins[key] = origin = new Origin(uriKey, connectionOptions);
        return origin;
    }
}
