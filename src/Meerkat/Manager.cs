using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Meerkat.Diagnostics;
using Meerkat.Http;
using Meerkat.Polling;

namespace Meerkat;

/// <summary>
/// The event manager: owns connections and timers, and raises all their events on the one
/// thread that calls <see cref="Poll"/>.
/// </summary>
/// <remarks>
/// <para>One iteration of <see cref="Poll"/> runs these phases, in order (docs/design.md):</para>
/// <list type="number">
/// <item>raise <see cref="EventKind.Open"/> for connections created since the last iteration;</item>
/// <item>wait for readiness, at most until the next timer, not at all when work is pending;</item>
/// <item>deliver <see cref="Post"/>ed actions and <see cref="Wakeup(long, ReadOnlySpan{byte})"/> payloads;</item>
/// <item>service ready sockets: accept, finish connects, read (protocol handler, then user handler);</item>
/// <item>raise <see cref="EventKind.Poll"/> on every connection;</item>
/// <item>run due timers;</item>
/// <item>let protocols continue work that API calls made possible (a deferred response completed);</item>
/// <item>write send buffers, one write per connection;</item>
/// <item>close what is marked closing, raising <see cref="EventKind.Close"/>.</item>
/// </list>
/// <para>Thread-safe members: <see cref="Wakeup(long, ReadOnlySpan{byte})"/>, <see cref="Post"/>,
/// <see cref="Stop"/> and <see cref="Dispose"/>. Everything else runs on the loop thread (or
/// before the loop first runs).</para>
/// </remarks>
public sealed partial class Manager : IDisposable
{
    private readonly Poller poller;
    private readonly LifecycleChecker? checker;
    private readonly ConnectionTable table;
    private readonly PhaseQueues queues = new();
    private readonly List<Connection> ready = [];
    private readonly TimerQueue timers = new();
    private readonly Inbox inbox;
    private readonly StreamIO streams;
    /// <summary>Where an iteration's socket reads and writes go to the kernel together (null: one call each).</summary>
    private readonly SocketBatch? batch;

    /// <summary>The socket batch, when this manager has one (tests read its counts).</summary>
    internal SocketBatch? Batch => batch;

    /// <summary>How many ready sockets the next wait takes at most (<see cref="Poller.EventLimit"/>); tests read it.</summary>
    internal int ReadyLimit => poller.EventLimit;

    private readonly Acceptor acceptor;
    private readonly Closer closer;
    private readonly Listeners listeners;
    private readonly ManualResetEventSlim runExited = new(true);
    /// <summary>What datagram reads and a draining connection's discarded input are read into.</summary>
    private readonly byte[] scratch = new byte[64 * 1024];
    private readonly Lock shutdownLock = new();
    private GracefulShutdown? shutdown;
    private int loopThread = -1;
    private volatile bool disposed;
    private bool disposeAfterPoll;

    /// <summary>Creates a manager; no thread is started.</summary>
    public Manager(ManagerOptions? options = null)
    {
        Options = options ?? new ManagerOptions();
        Options.Validate();
        Clock = new LoopClock(Options.TimeProvider);
        poller = Options.VirtualBackend?.Invoke(this) ?? Poller.Create(Options.Backend);
        Backend = poller switch
        {
            PortablePoller => PollerBackend.Portable,
            EpollPoller => PollerBackend.Epoll,
            _ => PollerBackend.Virtual,
        };
        if (Options.CheckInvariants) checker = new LifecycleChecker();
        Metrics = MeerkatMetrics.For(Options.MeterFactory);
        table = new ConnectionTable(Metrics);
        inbox = new Inbox(this, poller, table);
        if (OperatingSystem.IsLinux() && poller is EpollPoller && Options.BatchSocketCalls) batch = SocketBatch.TryCreate();
        streams = new StreamIO(this, queues, scratch, batch);
        acceptor = new Acceptor(this, poller, table, queues);
        closer = new Closer(this, poller, table, queues);
        listeners = new Listeners(this, poller, table, queues);
    }

    /// <summary>The settings this manager was made with.</summary>
    public ManagerOptions Options { get; }

    /// <summary>The readiness backend in use.</summary>
    public PollerBackend Backend { get; }

    /// <summary>Live connections, listeners included. Loop thread only.</summary>
    public IReadOnlyList<Connection> Connections => table.All;

    /// <summary>Number of loop iterations so far.</summary>
    public long Iteration { get; private set; }

    /// <summary>The system's monotonic time, in <see cref="Stopwatch"/> ticks. The loop itself reads
    /// its own clock (<see cref="Time"/>), which a test may replace (<see cref="ManagerOptions.TimeProvider"/>).</summary>
    public static long Now => Stopwatch.GetTimestamp();

    /// <summary>The loop's monotonic time: every timer and deadline of this manager and its protocols
    /// is measured on it. The system clock unless <see cref="ManagerOptions.TimeProvider"/> says
    /// otherwise (a virtual clock under Meerkat.Testing). Only differences between two readings mean
    /// anything.</summary>
    public TimeSpan Time => Clock.Now;

    /// <summary>The loop's one clock (<see cref="LoopClock"/>): timers, deadlines and telemetry durations.</summary>
    internal LoopClock Clock { get; }

    /// <summary>The loop's clock in <see cref="Stopwatch"/> ticks: the one time source of the loop and
    /// the sans-I/O cores it drives (they take it as an argument).</summary>
    internal long Ticks => Clock.Ticks;

    /// <summary><see cref="Ticks"/> read once per iteration, after the wait for readiness: what the
    /// protocols' hot paths give their cores as "now" (<see cref="LoopClock.IterationTicks"/>).</summary>
    internal long IterationTicks => Clock.IterationTicks;

    /// <summary><see cref="IterationTicks"/> when the loop runs on the system's clock, else 0: a reading
    /// of the system's monotonic clock that code outside the loop's time may use (the Date field's cache).</summary>
    internal long SystemIterationTicks => Clock.IsSystem ? Clock.IterationTicks : 0;

    /// <summary>The instruments this manager records to (docs/observability.md).</summary>
    internal MeerkatMetrics Metrics { get; }

    /// <summary>Opens and closes counted by the invariant checker (null when it is off).</summary>
    internal (int Opens, int Closes)? CheckedCounts => checker is null ? null : (checker.OpenCount, checker.CloseCount);

    /// <summary>Raised on the loop thread when <see cref="Dispose"/> begins, before any connection is
    /// closed (and after posting became impossible): owners of work waiting on this loop (the HTTP
    /// client's pending requests) complete it here instead of leaving it hanging.</summary>
    internal event Action? Disposing;

    // ------------------------------------------------------------------ public API

    /// <summary>Listens on <c>tcp://host:port</c> or binds <c>udp://host:port</c>. Port 0 picks a
    /// free port, readable at once from <see cref="Connection.LocalEndPoint"/>.</summary>
    /// <returns>The listener; its <see cref="EventKind.Open"/> is raised by the next <see cref="Poll"/>.
    /// Accepted connections start with the same handler.</returns>
    /// <exception cref="ArgumentException">The URL is malformed or its scheme is not tcp/udp.</exception>
    /// <exception cref="SocketException">The address cannot be bound.</exception>
    public Connection Listen(string url, ConnectionHandler? handler, ListenOptions? options = null)
    {
        var address = NetworkAddress.Parse(url);
        bool datagram = address.Scheme switch
        {
            "tcp" => false,
            "udp" => true,
            _ => throw new ArgumentException($"Listen takes tcp:// or udp:// URLs, not '{address.Scheme}://'", nameof(url)),
        };
        return Listen(address, datagram, handler, options, null);
    }

    /// <summary>Opens an outbound connection to <c>tcp://host:port</c> or <c>udp://host:port</c>.
    /// Host names are resolved off the loop thread (<see cref="ManagerOptions.Resolver"/>, within
    /// <see cref="ManagerOptions.ResolveTimeout"/>), and every resolved address is tried, IPv6 and
    /// IPv4 raced as in Happy Eyeballs (RFC 8305): the first to connect wins, the others are closed
    /// without a trace. Events: <see cref="EventKind.Open"/>, then <see cref="EventKind.Resolve"/>
    /// (once) and <see cref="EventKind.Connect"/>, or <see cref="EventKind.Error"/> and
    /// <see cref="EventKind.Close"/>. Bytes sent before <see cref="EventKind.Connect"/> are queued.</summary>
    public Connection Connect(string url, ConnectionHandler? handler)
    {
        var address = NetworkAddress.Parse(url);
        bool datagram = address.Scheme switch
        {
            "tcp" => false,
            "udp" => true,
            _ => throw new ArgumentException($"Connect takes tcp:// or udp:// URLs, not '{address.Scheme}://'", nameof(url)),
        };
        return Connect(address, datagram, handler, null);
    }

    /// <summary>Runs <see cref="Poll"/> until <see cref="Stop"/> is called or the token is cancelled,
    /// on the calling thread.</summary>
    public void Run(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        using var registration = cancellationToken.Register(Stop);
        runExited.Reset();
        try
        {
            while (!inbox.IsStopRequested && !cancellationToken.IsCancellationRequested && !disposed) Poll(-1);
        }
        finally
        {
            inbox.ClearStop();
            runExited.Set();
        }
    }

    /// <summary>Runs the loop on a dedicated thread until <see cref="Stop"/> or cancellation.</summary>
    public Task RunAsync(CancellationToken cancellationToken = default) =>
        Task.Factory.StartNew(() => Run(cancellationToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>Makes <see cref="Run"/> return after the current iteration. Thread-safe.</summary>
    public void Stop() => inbox.RequestStop(wake: !disposed);

    /// <summary>Starts a graceful shutdown and returns at once; safe from any thread, including a
    /// signal handler. The manager stops accepting (listeners close, new connections are refused),
    /// lets work in progress finish within <paramref name="deadline"/> (HTTP: in-flight requests,
    /// deferred ones included, are answered, with <c>Connection: close</c> when their response has not
    /// started; idle kept-alive connections close at once), then closes what is left (an HTTP
    /// transaction cut there ends with <see cref="Http.HttpOutcome.Shutdown"/>). Once no connection is
    /// left, <see cref="Run"/> returns. Calling it again with a shorter deadline brings the end
    /// forward (<see cref="TimeSpan.Zero"/>: close everything now). Logged as <c>shutdown</c> records.</summary>
    public void Shutdown(TimeSpan deadline) => _ = ShutdownAsync(deadline);

    /// <summary>As <see cref="Shutdown"/>; the task completes once every connection is closed (or the
    /// manager is disposed). The loop must be running (<see cref="Run"/>, or calls to <see cref="Poll"/>).</summary>
    public Task ShutdownAsync(TimeSpan deadline)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(deadline, TimeSpan.Zero);
        GracefulShutdown current;
        lock (shutdownLock)
        {
            current = shutdown ??= new GracefulShutdown();
        }
        if (disposed) return Task.CompletedTask;
        inbox.Post(new Action(() => current.Begin(this, deadline)));
        return current.Completion;
    }

    /// <summary>True once <see cref="Shutdown"/> was called.</summary>
    public bool IsShuttingDown => shutdown is not null;

    /// <summary>Delivers <paramref name="payload"/> (copied; any size) as a <see cref="EventKind.Wakeup"/>
    /// event on connection <paramref name="connectionId"/>. Thread-safe; payloads to one connection
    /// arrive in the order they were sent; none is dropped while the connection lives.</summary>
    /// <param name="connectionId">A connection's <see cref="Connection.Id"/>, or an HTTP server request's
    /// <c>Id</c> (<c>e.Request.Id</c>): the Wakeup is then raised on the request's connection with
    /// <c>e.Request</c> set, and <c>c.Reply(...)</c> there answers that request (the way to finish a
    /// deferred response when an HTTP/2 connection has several requests in progress). A request's id
    /// lives until its <see cref="EventKind.HttpDone"/>.</param>
    /// <param name="payload">The bytes the event carries.</param>
    /// <returns>False when the connection (or the request) is gone, or the manager disposed.</returns>
    public bool Wakeup(long connectionId, ReadOnlySpan<byte> payload) => !disposed && inbox.Wakeup(connectionId, payload);

    /// <summary>Delivers an empty <see cref="EventKind.Wakeup"/>. Thread-safe.</summary>
    public bool Wakeup(long connectionId) => Wakeup(connectionId, ReadOnlySpan<byte>.Empty);

    /// <summary>Runs <paramref name="action"/> on the loop thread during the next iteration. Thread-safe.
    /// Exceptions it throws propagate out of <see cref="Poll"/>.</summary>
    public void Post(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        ObjectDisposedException.ThrowIf(disposed, this);
        inbox.Post(action);
    }

    /// <summary>As <see cref="Post"/>, for an object that is its own work (no delegate to allocate).</summary>
    internal void PostWork(ILoopWorkItem item)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        inbox.Post(item);
    }

    /// <summary>Calls <paramref name="callback"/> on the loop thread after <paramref name="due"/>,
    /// then every <paramref name="period"/> if it is positive, until cancelled.</summary>
    public ManagerTimer AddTimer(TimeSpan due, TimeSpan period, Action<ManagerTimer> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        return AddTimer(due, period, callback, null);
    }

    /// <summary>Runs one iteration of the loop, waiting at most <paramref name="timeoutMs"/>
    /// milliseconds (-1: until something happens) for readiness, a timer or a wakeup.</summary>
    /// <returns>The number of connections that were ready.</returns>
    public int Poll(int timeoutMs)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        int previous = Interlocked.CompareExchange(ref loopThread, Environment.CurrentManagedThreadId, -1);
        if (previous != -1 && previous != Environment.CurrentManagedThreadId)
            throw new InvalidOperationException("Poll is already running on another thread: one manager, one loop thread");
        try
        {
            Iteration++;
            ready.Clear();
            RaisePendingOpens();
            WaitForReadiness(timeoutMs);
            Clock.StartIteration();
            long readyAt = ready.Count > 0 && Metrics.LoopLag.Enabled ? Clock.IterationTicks : 0;
            inbox.Deliver();
            ServiceReadyConnections(readyAt);
            poller.EventLimit = streams.NextReadyLimit(poller.EventLimit, table.Count);
            RaisePollEvents();
            RunDueTimers();
            RunProtocolWork();
            FlushWrites();
            closer.CloseMarked();
            shutdown?.CheckDone(this, table.ActiveCount);
            return ready.Count;
        }
        finally
        {
            loopThread = -1;
            if (disposeAfterPoll) Teardown();
        }
    }

    /// <summary>Stops the loop (waiting for a <see cref="Run"/> on another thread to return),
    /// raises <see cref="EventKind.Close"/> on every live connection, and releases everything.
    /// Called from inside a handler, it takes effect when the current iteration ends.</summary>
    public void Dispose()
    {
        if (disposed || disposeAfterPoll) return;
        if (loopThread == Environment.CurrentManagedThreadId)
        {
            disposeAfterPoll = true;
            inbox.RequestStop(wake: false);
            return;
        }
        Stop();
        runExited.Wait();
        Teardown();
    }

    // ------------------------------------------------------------------ for protocols

    /// <summary>True when a record of <paramref name="severity"/> would reach the log hook: check it
    /// before building a message.</summary>
    internal bool IsLogging(LogSeverity severity) => Options.Log is not null && severity >= Options.MinimumLogSeverity;

    /// <summary>Gives a record to <see cref="ManagerOptions.Log"/>; a hook that throws is not allowed to
    /// break the loop.</summary>
    internal void Log(LogSeverity severity, string eventName, string message, Exception? exception = null, long connectionId = 0)
    {
        if (!IsLogging(severity)) return;
        try
        {
            Options.Log!(new LogEntry(severity, eventName, message, exception, connectionId));
        }
        catch (Exception ex) when (ex is not LifecycleViolationException)
        {
            // A broken log hook must not take the loop down with it.
        }
    }

    /// <summary>Loop thread: a new id, from the sequence of connection ids, that <see cref="Wakeup(long, ReadOnlySpan{byte})"/>
    /// delivers to <paramref name="connection"/>'s protocol (<see cref="Protocol.OnAddressedWakeup"/>) with
    /// <paramref name="target"/>, until <see cref="UnregisterWakeupTarget"/>.</summary>
    internal long RegisterWakeupTarget(Connection connection, object target) => inbox.RegisterTarget(connection, target);

    /// <summary>Forgets an id of <see cref="RegisterWakeupTarget"/>: later wakeups to it are refused (queued ones dropped).</summary>
    internal void UnregisterWakeupTarget(long id) => inbox.UnregisterTarget(id);

    internal Connection Listen(NetworkAddress address, bool datagram, ConnectionHandler? handler, ListenOptions? options, Func<Connection, Protocol?>? protocol,
        Func<Connection, SecurityLayer?>? security = null)
    {
        EnsureLoopThread();
        return listeners.Listen(address, datagram, handler, options, protocol, security);
    }

    internal Connection Connect(NetworkAddress address, bool datagram, ConnectionHandler? handler, Protocol? protocol,
        Func<Connection, SecurityLayer?>? security = null)
    {
        EnsureLoopThread();
        var connection = new Connection(this, ConnectionTable.NextId(), ConnectionRole.Outbound, datagram, handler)
        {
            Host = address.Host,
            Port = address.Port,
            Protocol = protocol,
        };
        connection.Security = security?.Invoke(connection);
        if (poller is not VirtualBackend) connection.Connector = new OutboundConnector(this, connection);
        connection.DeadlineTimer = AddTimer(Options.ConnectTimeout, TimeSpan.Zero, _ => OnConnectTimeout(connection), null);
        Register(connection);
        return connection;
    }

    internal ManagerTimer AddTimer(TimeSpan due, TimeSpan period, Action<ManagerTimer>? callback, Connection? connection)
    {
        if (due < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(due), "a timer cannot be due in the past");
        EnsureLoopThread();
        var timer = new ManagerTimer(this, Ticks + LoopClock.ToTicks(due), period > TimeSpan.Zero ? LoopClock.ToTicks(period) : 0, callback, connection);
        timers.Add(timer);
        return timer;
    }

    /// <summary>Raises an event: the protocol layer sees it first, then the user's handler. An
    /// exception from a handler fails the connection (Error, then Close) instead of the loop.</summary>
    internal void Raise(Connection connection, Event e)
    {
        if (connection.State == ConnectionState.Closed) return;
        checker?.Observe(connection, e.Kind, loopThread, e.Subject);
        Observer?.Invoke(connection, e);
        if (e.Kind == EventKind.Open) connection.Queued &= ~Queued.Open;
        try
        {
            connection.Protocol?.OnEvent(connection, e);
            connection.Handler?.Invoke(connection, e);
        }
        catch (Exception ex) when (ex is not LifecycleViolationException && e.Kind is not (EventKind.Close or EventKind.Error))
        {
            HandlerThrew(connection, e.Kind, ex);
        }
    }

    /// <summary>Raises a protocol-made event (HTTP, WebSocket) to the user's handler only.</summary>
    internal void RaiseToUser(Connection connection, Event e)
    {
        if (RaiseHttpToUser(connection, e) is { } ex) HandlerThrew(connection, e.Kind, ex);
    }

    /// <summary>Raises a protocol-made event to the user's handler only and returns what the handler
    /// threw instead of failing the connection: the protocol answers it (an HTTP server sends 500).</summary>
    /// <remarks>A server transaction's events (those about an <see cref="HttpRequest"/>, whatever the
    /// HTTP version) are where its metrics and span begin and end (<see cref="HttpServerTelemetry"/>); its
    /// span is <see cref="Activity.Current"/> while the handler runs, so client requests made there join its trace.</remarks>
    internal Exception? RaiseHttpToUser(Connection connection, Event e)
    {
        if (connection.State == ConnectionState.Closed) return null;
        checker?.Observe(connection, e.Kind, loopThread, e.Subject);
        Observer?.Invoke(connection, e);
        if (e.Subject is not HttpRequest request) return InvokeHandler(connection, e);
        var ambient = Activity.Current;
        if (e.Kind == EventKind.HttpHeaders) HttpServerTelemetry.Begin(connection, request);
        var span = request.Telemetry.Span;
        if (span is not null) Activity.Current = span;
        var error = InvokeHandler(connection, e);
        if (e.Kind == EventKind.HttpDone) HttpServerTelemetry.End(connection, request, (HttpOutcome)e.Count, e.Error ?? error);
        if (span is not null || e.Kind == EventKind.HttpHeaders) Activity.Current = ambient;
        return error;
    }

    private static Exception? InvokeHandler(Connection connection, Event e)
    {
        try
        {
            connection.Handler?.Invoke(connection, e);
            return null;
        }
        catch (Exception ex) when (ex is not LifecycleViolationException)
        {
            return ex;
        }
    }

    /// <summary>A handler threw on a non-protocol event: log it, then Error and Close.</summary>
    private void HandlerThrew(Connection connection, EventKind kind, Exception ex)
    {
        Log(LogSeverity.Error, "handler-error", $"the handler threw on {kind}: {ex.Message}", ex, connection.Id);
        Fail(connection, new MeerkatException($"the handler threw on {kind}: {ex.Message}", ex), CloseCause.HandlerError);
    }

    /// <summary>Raises <see cref="EventKind.Error"/> (unless the connection is already closing), then closes.
    /// The protocol first ends its open work (<see cref="Protocol.OnClosing"/>), since nothing but Close may follow Error.</summary>
    internal void Fail(Connection connection, Exception error, CloseCause cause = CloseCause.Failed)
    {
        if (connection.State >= ConnectionState.Closing) return;
        connection.CloseCause = cause;
        ConnectionTelemetry.Error(Metrics, connection, TelemetryTags.FailureOf(cause, error));
        if (cause == CloseCause.Failed && IsLogging(LogSeverity.Debug))
            Log(LogSeverity.Debug, "connection-failed", $"connection #{connection.Id} ({connection.Role}) failed: {error.Message}", error, connection.Id);
        if (connection.IsOpenRaised)
        {
            connection.Protocol?.OnClosing(connection, cause, error);
            Raise(connection, new Event(EventKind.Error, error: error));
        }
        connection.Close();
    }

    internal void ScheduleWrite(Connection connection) => queues.ScheduleWrite(connection);

    /// <summary>Asks for the connection's <see cref="Protocol.OnWork"/> in this iteration's work phase,
    /// so a protocol never raises events from inside a user's API call.</summary>
    internal void ScheduleWork(Connection connection) => queues.ScheduleWork(connection);

    internal void ScheduleRead(Connection connection) => queues.ScheduleRead(connection);

    internal void ScheduleClose(Connection connection) => queues.ScheduleClose(connection);

    // ------------------------------------------------------------------ phases

    private void RaisePendingOpens()
    {
        var openQueue = queues.Open;
        for (int i = 0; i < openQueue.Count; i++)
        {
            var connection = openQueue[i];
            if (connection.IsOpenRaised) continue;
            Raise(connection, new Event(EventKind.Open));
            if (connection.Role != ConnectionRole.Outbound || connection.State != ConnectionState.Open) continue;
            if (poller is VirtualBackend network) network.Connect(connection);
            else connection.Connector?.Start();
        }
        openQueue.Clear();
    }

    private void WaitForReadiness(int timeoutMs)
    {
        int timeout = queues.HasWork || inbox.HasWork ? 0 : TimeoutUntilNextTimer(timeoutMs);
        if (inbox.SpinIfExpected(timeout)) timeout = 0;
        var readQueue = queues.Read;
        foreach (var connection in readQueue)
        {
            connection.Queued &= ~Queued.Read;
            if (connection.State < ConnectionState.Closing) connection.MarkReady(ready);
        }
        readQueue.Clear();
        poller.Wait(timeout, ready);
    }

    /// <summary>Loop thread: work was just handed to another thread that will probably post back
    /// within microseconds (a client request's caller, continuing after its response). The next wait
    /// spins briefly for that post before sleeping, so the round trip costs no wake-up.</summary>
    internal void ExpectPostSoon() => inbox.ExpectPostSoon();

    /// <param name="readyAt">When the wait returned, to measure the loop lag (0: not measured): the
    /// time until the last ready connection is handled is the longest any of them waited.</param>
    private void ServiceReadyConnections(long readyAt)
    {
        streams.StageReads(ready);
        for (int i = 0; i < ready.Count; i++)
        {
            var connection = ready[i];
            if (readyAt != 0 && i == ready.Count - 1) ConnectionTelemetry.Lag(this, readyAt);
            if (connection.State >= ConnectionState.Closing) continue;
            if (connection.Stage == ConnectionStage.Connecting)
            {
                if (connection.WriteReady || connection.ReadReady) connection.Connector?.OnAttemptReady(connection);
                continue;
            }
            if (connection.ReadReady)
            {
                if (connection.IsDatagram) Datagrams.Read(this, connection, scratch);
                else if (connection.Role == ConnectionRole.Listener) acceptor.AcceptAll(connection);
                else streams.Read(connection, i);
            }
            if (connection.WriteReady && connection.WantsWrite) ScheduleWrite(connection);
        }
    }

    private void RaisePollEvents()
    {
        for (int i = 0, n = table.Count; i < n && i < table.Count; i++)
        {
            var connection = table[i];
            if (connection.IsOpenRaised && connection.State < ConnectionState.Closing) Raise(connection, new Event(EventKind.Poll));
        }
    }

    private void RunDueTimers()
    {
        long now = Ticks;
        while (timers.TryTakeDue(now, out var timer))
        {
            var callback = timer.Callback;
            if (timer.PeriodTicks > 0)
            {
                timer.DueTicks += timer.PeriodTicks;
                if (timer.DueTicks <= now) timer.DueTicks = now + timer.PeriodTicks;
                timers.Add(timer);
            }
            else
            {
                timer.Cancel();
            }
            if (timer.Connection is { } connection)
            {
                if (connection.State >= ConnectionState.Closing) timer.Cancel();
                else if (connection.IsOpenRaised) Raise(connection, new Event(EventKind.Timer, subject: timer));
            }
            else
            {
                callback?.Invoke(timer);
            }
        }
    }

    private void RunProtocolWork()
    {
        var workQueue = queues.Work;
        for (int i = 0; i < workQueue.Count; i++)
        {
            var connection = workQueue[i];
            connection.Queued &= ~Queued.Work;
            if (connection.State < ConnectionState.Closing) connection.Security?.OnWork(connection);
            if (connection.State < ConnectionState.Closing) connection.Protocol?.OnWork(connection);
            connection.ReceiveBuffer.ReleaseIfEmpty();
        }
        workQueue.Clear();
    }

    private void FlushWrites()
    {
        // Only what is queued now: a producer refilling on every Write event waits for the next
        // iteration instead of holding the loop here.
        var writeQueue = queues.Write;
        int count = writeQueue.Count;
        for (int i = 0; i < count; i++)
        {
            var connection = writeQueue[i];
            connection.Queued &= ~Queued.Write;
            if (connection.State is ConnectionState.Open or >= ConnectionState.Closing) continue;
            if (connection.IsDatagram) Datagrams.Flush(this, connection);
            else
            {
                connection.Security?.PrepareWrite(connection, connection.State == ConnectionState.Draining);
                if (!connection.SocketOutbound.IsEmpty && connection.State < ConnectionState.Closing)
                {
                    if (streams.StageWrite(connection)) continue;
                    streams.Write(connection);
                }
            }
            streams.AfterWrite(connection);
        }
        writeQueue.RemoveRange(0, count);
        streams.RunStagedWrites();
    }

    // ------------------------------------------------------------------ transport steps

    /// <summary>Makes an accepted socket a connection of <paramref name="listener"/>: from its own
    /// accept, or handed over by the acceptor a <see cref="ManagerGroup"/> shares between loops.
    /// Loop thread only.</summary>
    internal void Adopt(Connection listener, Socket socket) => acceptor.Adopt(listener, socket);

    /// <summary>The peer's stream ended (after all its plaintext was delivered): tell the protocol,
    /// then close once the send buffer is written.</summary>
    internal void PeerClosed(Connection connection) => StreamIO.PeerClosed(connection);

    /// <summary>Starts watching a socket the connection owns (an outbound connection's, once it
    /// connects, or a connection attempt's).</summary>
    internal void Watch(Connection connection) => poller.Add(connection);

    /// <summary>Stops watching the connection's socket; before it is closed or handed over.</summary>
    internal void Unwatch(Connection connection) => poller.Remove(connection);

    /// <summary>An outbound connection has its connected socket (OutboundConnector): raise
    /// <see cref="EventKind.Connect"/> and start what waited for it.</summary>
    internal void OnConnected(Connection connection)
    {
        connection.DeadlineTimer?.Cancel();
        connection.DeadlineTimer = null;
        connection.Stage = ConnectionStage.Connected;
        connection.LocalEndPoint = connection.Virtual?.LocalEndPoint ?? (IPEndPoint?)connection.Socket!.LocalEndPoint;
        Raise(connection, new Event(EventKind.Connect));
        if (connection.State < ConnectionState.Closing) connection.Security?.Start(connection);
        if (!connection.SendBuffer.IsEmpty) ScheduleWrite(connection);
    }

    private void OnConnectTimeout(Connection connection)
    {
        if (connection.State >= ConnectionState.Connected) return;
        Fail(connection, new TimeoutException($"connect to {connection.Host}:{connection.Port} timed out after {Options.ConnectTimeout.TotalSeconds:0.###} s"));
    }

    private void Teardown()
    {
        if (disposed) return;
        disposed = true;
        disposeAfterPoll = false;
        loopThread = Environment.CurrentManagedThreadId;
        Exception? firstError = null;
        try
        {
            try
            {
                Disposing?.Invoke();
            }
            catch (Exception ex) when (ex is not LifecycleViolationException)
            {
                firstError = ex;
            }
            firstError = closer.CloseAll(firstError);
        }
        finally
        {
            loopThread = -1;
            shutdown?.Finish();
            timers.Clear();
            inbox.Discard();
            poller.Dispose();
            if (OperatingSystem.IsLinux()) batch?.Dispose();
        }
        if (firstError is not null) throw new AggregateException("a Close handler threw during Dispose", firstError);
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>An outbound connection made by an API call: live from now on, its
    /// <see cref="EventKind.Open"/> raised by the next opens phase.</summary>
    private void Register(Connection connection)
    {
        table.Add(connection);
        queues.QueueOpen(connection);
    }

    private int TimeoutUntilNextTimer(int timeoutMs) =>
        timers.NextDue() is { } due ? Clock.MillisecondsUntil(due, timeoutMs) : timeoutMs;

    private void EnsureLoopThread()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        int thread = loopThread;
        if (thread != -1 && thread != Environment.CurrentManagedThreadId)
            throw new InvalidOperationException("call this on the loop thread; from other threads use Manager.Post");
    }

}
