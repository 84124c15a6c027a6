// How this file works: MeerkatHttpClient's connections, per origin, on the loop thread. A request
// (Exchange) takes an idle kept-alive connection, or opens a new one while the origin is under
// MaxConnectionsPerOrigin, or waits in the origin's queue. A connection returns to the idle list
// after a keep-alive response and closes after IdleConnectionTimeout there. Every pooled
// connection has one Slot (its Tag) naming the exchanges it serves; the connection's events go
// to them, and its Close hands the next waiting exchange a slot. Origins are keyed on
// scheme, host and port, so http:// and https:// to one host never share a connection; each
// https:// origin has its own connection options carrying its TLS settings. With
// MaxPipelineDepth above 1, safe requests may also queue on a busy connection (Slot.Behind):
// Current is always the exchange whose response is being read, and when it is done the next one
// behind it takes its place.
//
// HTTP/2 (HttpClientConnectionOptions.EnableHttp2 over TLS, Http2PriorKnowledge on http://): an
// HTTP/2 connection carries many exchanges at once, each a stream (Slot.Streams), up to the
// server's SETTINGS_MAX_CONCURRENT_STREAMS (Http2ClientProtocol.StreamRoom). A request takes the
// first HTTP/2 connection of its origin with room; when all are full, another connection is opened
// while the origin is under MaxConnectionsPerOrigin, and only then does it wait. A connection whose
// protocol is not known yet (TLS, ALPN not done) takes one exchange and the others wait for its
// answer rather than each opening a connection. Events reach the stream's exchange by its tag
// (Http2ClientProtocol.CurrentTag). A stream that ends before its response head (the server refused
// it, a GOAWAY's last stream id passed it, the connection failed) is handed back to its exchange,
// which sends it again or fails; the other streams go on. After a GOAWAY the connection drains:
// no new streams, and it no longer counts against MaxConnectionsPerOrigin, so new requests go to a
// fresh connection at once. Every exchange's deadline runs on the slot's one timer (OnTimer visits
// them all; each re-arms for its own).
namespace Meerkat.Http.Client;

internal sealed class ConnectionPool
{
    private readonly Manager manager;
    private readonly MeerkatHttpClientOptions options;

    public ConnectionPool(Manager manager, MeerkatHttpClientOptions options)
    {
        this.manager = manager;
        this.options = options;
        onStreamLost = OnStreamLost;
        onPumpEnded = OnPumpEnded;
        // A manager disposed under the client (one the caller runs) fails every request still pending,
        // including those whose posted work the manager will never run.
        manager.Disposing += OnManagerDisposing;
    }

    // HTTP/2: a stream that ended before its response head raises no event; its exchange is told (OnStreamLost).
    private readonly Action<Connection, object?, Exception, bool> onStreamLost;
    private readonly Action<Connection> onPumpEnded;

    private sealed class Origin(Uri uri, HttpClientConnectionOptions connectionOptions)
    {
        public Uri Uri { get; } = uri;
        public HttpClientConnectionOptions ConnectionOptions { get; } = connectionOptions;
        /// <summary>New connections may speak HTTP/2 (prior knowledge, or h2 offered by ALPN).</summary>
        public bool OffersHttp2 { get; } = uri.Scheme == Uri.UriSchemeHttps ? connectionOptions.EnableHttp2 : connectionOptions.Http2PriorKnowledge;
        /// <summary>ALPN chose HTTP/1.1 here last time: requests need not wait for a connection's answer.</summary>
        public bool ChoseHttp11 { get; set; }
        public List<Connection> Idle { get; } = [];
        public List<Slot> Slots { get; } = [];
        public Queue<Exchange> Waiting { get; } = new();
        public int Count { get; set; }
    }

    /// <summary>What a pooled connection carries, as far as the pool knows. Successors:
    /// Undecided (TLS offering h2, ALPN not done: one exchange, Current) -> Http1, Http2;
    /// Http1 (one exchange at a time, Current, and pipelined ones Behind): terminal;
    /// Http2 (exchanges as streams, Streams) -> Draining;
    /// Draining (GOAWAY or a connection error: streams in flight finish, no new ones; not counted against
    /// MaxConnectionsPerOrigin): terminal.</summary>
    private enum SlotMode { Undecided, Http1, Http2, Draining }

    /// <summary>One timer per connection, re-armed lazily: it serves the current exchanges' deadlines
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
        public SlotMode Mode { get; set; }
        /// <summary>The connection's HTTP/2 protocol (Undecided, Http2, Draining), else null.</summary>
        public Http2.Http2ClientProtocol? Http2 { get; set; }
        /// <summary>HTTP/2: the exchanges whose streams are on this connection.</summary>
        public List<Exchange> Streams { get; } = [];
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
            if (Streams.Count > 0)
            {
                // Each re-arms for its own deadline; one that times out leaves the list (or, for the
                // connect deadline, fails the connection and empties it).
                for (int i = Streams.Count - 1; i >= 0; i--)
                    if (i < Streams.Count) Streams[i].OnTimer();
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
        if (origin.OffersHttp2)
        {
            if (StreamSlot(origin, exchange.WantsFreshConnection) is { } multiplexed)
            {
                AddStream(multiplexed, exchange);
                return;
            }
            if (!origin.ChoseHttp11 && HasUndecided(origin))
            {
                origin.Waiting.Enqueue(exchange); // served when ALPN has answered (Decide)
                return;
            }
            if (exchange.WantsFreshConnection && origin.Count >= options.MaxConnectionsPerOrigin && IdleStreamSlot(origin) is { } idle)
                idle.Connection!.Close(); // a fresh connection is wanted but the origin is full: give up an idle one
        }
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
            var slot = new Slot(manager, origin);
            origin.Slots.Add(slot);
            var connection = manager.ConnectHttp(origin.Uri, OnEvent, origin.ConnectionOptions);
            connection.Tag = slot;
            slot.Connection = connection;
            if (connection.Protocol is IHttpClientProtocol protocol) protocol.PumpEnded = onPumpEnded;
            if (connection.Protocol is Http2.Http2ClientProtocol http2)
            {
                http2.StreamLost = onStreamLost;
                slot.Http2 = http2;
                // Prior knowledge (http://) is HTTP/2 from the first byte; over TLS, ALPN decides.
                slot.Mode = origin.Uri.Scheme == Uri.UriSchemeHttp ? SlotMode.Http2 : SlotMode.Undecided;
            }
            else
            {
                slot.Mode = SlotMode.Http1;
            }
            if (slot.Mode == SlotMode.Http2)
            {
                AddStream(slot, exchange);
                return;
            }
            slot.Current = exchange;
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

    /// <summary>The first HTTP/2 connection of the origin with room for one more stream. One with no stream in
    /// flight is passed over when the request wants a fresh connection (an idle one may be stale too).</summary>
    private static Slot? StreamSlot(Origin origin, bool wantsFresh)
    {
        foreach (var slot in origin.Slots)
        {
            if (slot.Mode != SlotMode.Http2 || slot.Connection is not { State: < ConnectionState.Draining }) continue;
            if (wantsFresh && slot.Streams.Count == 0) continue;
            if (slot.Http2!.StreamRoom > 0) return slot;
        }
        return null;
    }

    private static Slot? IdleStreamSlot(Origin origin)
    {
        foreach (var slot in origin.Slots)
            if (slot.Mode == SlotMode.Http2 && slot.Streams.Count == 0 && slot.Connection is { State: < ConnectionState.Draining }) return slot;
        return null;
    }

    private static bool HasUndecided(Origin origin)
    {
        foreach (var slot in origin.Slots)
            if (slot.Mode == SlotMode.Undecided) return true;
        return false;
    }

    /// <summary>Puts the exchange on an HTTP/2 connection as a stream (sent now if the connection is up, else at Connect).</summary>
    private static void AddStream(Slot slot, Exchange exchange)
    {
        slot.Streams.Add(exchange);
        exchange.IsStream = true;
        slot.IdleDeadline = 0;
        exchange.OnAssigned(slot.Connection!, slot.IsConnected ? Assignment.Reused : Assignment.New);
    }

    /// <summary>ALPN answered on an Undecided connection: HTTP/2 makes its exchange the first stream and lets the
    /// waiting ones on; HTTP/1.1 makes it an ordinary connection, and the waiting ones open their own.</summary>
    private void Decide(Connection connection, Slot slot)
    {
        if (slot.Mode != SlotMode.Undecided) return;
        if (slot.Http2 is { IsHttp2: true })
        {
            slot.Mode = SlotMode.Http2;
            slot.Origin.ChoseHttp11 = false;
            if (slot.Current is { } first)
            {
                slot.Streams.Add(first);
                first.IsStream = true;
            }
            slot.Current = null;
        }
        else
        {
            slot.Mode = SlotMode.Http1;
            slot.Origin.ChoseHttp11 = true;
            slot.Http2 = null;
        }
        if (!isClosed && connection.State < ConnectionState.Draining) ServeWaiting(slot.Origin);
    }

    /// <summary>Places waiting exchanges, in order, while they can go somewhere now.</summary>
    private void ServeWaiting(Origin origin)
    {
        if (isClosed) return;
        while (origin.Waiting.TryPeek(out var next))
        {
            if (next.IsFinished)
            {
                origin.Waiting.Dequeue();
                continue;
            }
            bool waitsForAlpn = origin.OffersHttp2 && !origin.ChoseHttp11 && HasUndecided(origin);
            bool placeable = StreamSlot(origin, next.WantsFreshConnection) is not null
                || (!waitsForAlpn && (origin.Count < options.MaxConnectionsPerOrigin || origin.Idle.Count > 0));
            if (!placeable) return;
            origin.Waiting.Dequeue();
            Acquire(next);
        }
    }

    /// <summary>An exchange's stream is over (ended, cancelled or lost): it leaves the connection, which takes
    /// a waiting exchange or, with none left, starts its idle time.</summary>
    public void ReleaseStream(Connection connection, Exchange exchange)
    {
        if (!exchange.IsStream) return;
        exchange.IsStream = false;
        var slot = (Slot)connection.Tag!;
        slot.Streams.Remove(exchange);
        if (isClosed) return;
        if (slot.Mode == SlotMode.Http2 && slot.Streams.Count == 0 && connection.State < ConnectionState.Draining)
        {
            slot.IdleDeadline = manager.Ticks + (long)(options.IdleConnectionTimeout.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
            slot.ArmAt(slot.IdleDeadline);
        }
        if (slot.Origin.Waiting.Count > 0) ServeWaiting(slot.Origin);
    }

    /// <summary>The connection takes no more streams (GOAWAY, a connection error): the streams in flight finish
    /// there, and it no longer counts against the origin's limit, so a fresh connection may open at once.</summary>
    private void Drain(Slot slot)
    {
        if (slot.Mode != SlotMode.Http2) return;
        slot.Mode = SlotMode.Draining;
        slot.Origin.Count--;
        ServeWaiting(slot.Origin);
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

    private void OnStreamLost(Connection connection, object? tag, Exception error, bool isRefused)
    {
        var slot = (Slot)connection.Tag!;
        if (slot.Mode is SlotMode.Http2 or SlotMode.Draining && tag is not Exchange { IsStream: true })
            return; // an exchange that already left (cancelled, timed out): its stream's end is no news
        if (tag is not Exchange { IsStream: true } exchange)
        {
            // Not one of the streams (an Undecided connection's exchange): the connection goes with that
            // error, and OnClose fails the exchange or sends it again.
            slot.LastError ??= error;
            connection.Close();
            return;
        }
        // Still connecting: the connection failed; OnClose fails it with the connection's own error.
        if (exchange.State == ExchangeState.Connecting) return;
        ReleaseStream(connection, exchange);
        exchange.OnStreamLost(error, isRefused);
    }

    private void OnPumpEnded(Connection connection)
    {
        var slot = (Slot)connection.Tag!;
        slot.Current?.OnPumpEnded();
        var streams = slot.Streams;
        for (int i = streams.Count - 1; i >= 0; i--)
            if (i < streams.Count) streams[i].OnPumpEnded();
        if (slot.Mode == SlotMode.Http2 && !slot.Http2!.IsAcceptingStreams) Drain(slot);
        else if (slot.Mode == SlotMode.Http2 && slot.Origin.Waiting.Count > 0 && !isClosed) ServeWaiting(slot.Origin); // its SETTINGS may allow more
    }

    /// <summary>The exchange an event is about: on HTTP/2, the stream's (by its tag), else the connection's current one.</summary>
    private static Exchange? Target(Connection connection, Slot slot) =>
        connection.Protocol is Http2.Http2ClientProtocol { IsHttp2: true } http2 ? http2.CurrentTag as Exchange : slot.Current;

    private void OnEvent(Connection connection, Event e)
    {
        var slot = (Slot)connection.Tag!;
        switch (e.Kind)
        {
            case EventKind.Connect:
                slot.IsConnected = true;
                slot.Current?.OnConnected();
                if (slot.Streams.Count > 0)
                    foreach (var stream in slot.Streams.ToArray()) stream.OnConnected();
                break;
            case EventKind.TlsHandshake:
                Decide(connection, slot);
                break;
            case EventKind.HttpHeaders when Target(connection, slot) is { IsFinished: false } exchange:
                exchange.OnHeaders(e.Response!);
                break;
            case EventKind.HttpBody when Target(connection, slot) is { IsFinished: false } exchange:
                exchange.OnBody(e.Data);
                break;
            case EventKind.HttpDone when slot.Mode is SlotMode.Http2 or SlotMode.Draining:
                // One stream's end: an aborted one (reset, cut by a connection error) fails that exchange only.
                if (Target(connection, slot) is not { IsFinished: false } ended) break;
                if (!e.IsAborted)
                {
                    ended.OnDone(e.Response!);
                    break;
                }
                ReleaseStream(connection, ended);
                ended.OnStreamFailed(e.Error);
                break;
            case EventKind.HttpDone:
                // An aborted transaction: the Error (if any) and Close that follow fail the exchange.
                if (e.IsAborted) slot.LastError ??= e.Error;
                else slot.Current?.OnDone(e.Response!);
                break;
            case EventKind.Write:
                slot.Current?.OnWritable();
                for (int i = slot.Streams.Count - 1; i >= 0; i--)
                    if (i < slot.Streams.Count) slot.Streams[i].OnWritable();
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
        if (slot.Mode != SlotMode.Draining) origin.Count--;
        slot.Mode = SlotMode.Draining;
        origin.Slots.Remove(slot);
        origin.Idle.Remove(connection);
        slot.CancelTimer();
        var exchange = slot.Current;
        slot.Current = null;
        exchange?.OnConnectionLost(slot.LastError);
        while (slot.Behind?.TryDequeue(out var behind) == true) behind.OnConnectionLost(slot.LastError);
        if (slot.Streams.Count > 0)
        {
            var streams = slot.Streams.ToArray();
            slot.Streams.Clear();
            foreach (var stream in streams) stream.IsStream = false;
            foreach (var stream in streams) stream.OnConnectionLost(slot.LastError);
        }
        if (isClosed)
        {
            while (origin.Waiting.TryDequeue(out var waiting)) waiting.Abort(Closed());
            return;
        }
        ServeWaiting(origin);
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
