namespace Meerkat;

/// <summary>How the loops of a <see cref="ManagerGroup"/> share a listening port.</summary>
public enum ListenerSharing
{
    /// <summary><see cref="ReusePort"/> on Linux, <see cref="SharedAcceptor"/> elsewhere.</summary>
    Auto,
    /// <summary>Each loop has its own listening socket on the port (SO_REUSEPORT, Linux): the kernel
    /// spreads new connections over them. The group first checks that no other listener holds the
    /// port (it fails with "address already in use" as one manager would); Linux lets only
    /// processes of the same user join a SO_REUSEPORT port afterwards.</summary>
    ReusePort,
    /// <summary>One listening socket whose accepted connections are handed to the loops in turn
    /// (any platform).</summary>
    SharedAcceptor,
}

/// <summary>Settings of a <see cref="ManagerGroup"/>.</summary>
public sealed class ManagerGroupOptions
{
    /// <summary>How many managers (loops, threads). Default 0: one per processor.</summary>
    public int Count { get; set; }

    /// <summary>How the loops share a port. Default <see cref="ListenerSharing.Auto"/>.</summary>
    public ListenerSharing Sharing { get; set; }

    /// <summary>The settings of every manager of the group. Default: <see cref="ManagerOptions"/>' defaults.</summary>
    public ManagerOptions? Manager { get; set; }
}

/// <summary>
/// Runs several managers, each on its own thread with its own listener on the same port, so a
/// server uses every core. Handlers are the same as for one manager; each connection lives on one
/// loop and all its events are raised there (<see cref="Connection.Manager"/> is that loop, so
/// <see cref="Manager.Post"/> and <see cref="Manager.Wakeup(long, ReadOnlySpan{byte})"/> reach it).
/// </summary>
/// <remarks>
/// Set up listeners with <see cref="Listen"/> before <see cref="Start"/>; then
/// <see cref="Run"/> (or <see cref="Start"/>) runs every loop until <see cref="Stop"/>, and
/// <see cref="Dispose"/> closes every connection of every loop, each with its <see cref="EventKind.Close"/>.
/// </remarks>
public sealed class ManagerGroup : IDisposable
{
    private readonly Manager[] managers;
    private readonly List<SharedAcceptor> acceptors = [];
    private readonly List<Thread> threads = [];
    private readonly ManualResetEventSlim stopped = new(false);
    private int started;
    private int shuttingDown;
    private int loopsEnded;
    private bool disposed;
    private Exception? failure;

    /// <summary>Creates the managers; no thread is started.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative <see cref="ManagerGroupOptions.Count"/>.</exception>
    public ManagerGroup(ManagerGroupOptions? options = null)
    {
        options ??= new ManagerGroupOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(options.Count, nameof(options.Count));
        int count = options.Count == 0 ? Environment.ProcessorCount : options.Count;
        Sharing = options.Sharing switch
        {
            ListenerSharing.Auto => OperatingSystem.IsLinux() ? ListenerSharing.ReusePort : ListenerSharing.SharedAcceptor,
            ListenerSharing.ReusePort when !OperatingSystem.IsLinux() => throw new PlatformNotSupportedException("ListenerSharing.ReusePort needs Linux's SO_REUSEPORT"),
            var sharing => sharing,
        };
        managers = new Manager[count];
        try
        {
            for (int i = 0; i < count; i++) managers[i] = new Manager(options.Manager);
        }
        catch
        {
            foreach (var manager in managers) manager?.Dispose();
            throw;
        }
    }

    /// <summary>The managers, one per loop.</summary>
    public IReadOnlyList<Manager> Managers => managers;

    /// <summary>How this group's loops share a port.</summary>
    public ListenerSharing Sharing { get; }

    /// <summary>
    /// Makes one listener per loop on the same address: <paramref name="listen"/> is called once per
    /// manager with the listen options to pass on, e.g.
    /// <c>group.Listen((m, o) =&gt; m.ListenHttp(url, handler, http, o))</c>. Port 0 picks one free port
    /// for them all. Before <see cref="Start"/> only.
    /// </summary>
    /// <returns>The listeners, in the order of <see cref="Managers"/>.</returns>
    /// <exception cref="InvalidOperationException">The group has started.</exception>
    public IReadOnlyList<Connection> Listen(Func<Manager, ListenOptions, Connection> listen, ListenOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(listen);
        ObjectDisposedException.ThrowIf(disposed, this);
        if (Volatile.Read(ref started) != 0) throw new InvalidOperationException("listen before the group starts");
        options ??= new ListenOptions();
        var listeners = new Connection[managers.Length];
        if (managers.Length == 1)
        {
            listeners[0] = listen(managers[0], options);
        }
        else if (Sharing == ListenerSharing.SharedAcceptor)
        {
            var acceptor = new SharedAcceptor();
            acceptors.Add(acceptor);
            var shared = options.With(reusePort: false, sharedAcceptor: acceptor);
            for (int i = 0; i < managers.Length; i++) listeners[i] = listen(managers[i], shared);
        }
        else
        {
            listeners[0] = listen(managers[0], options.With(reusePort: true, claimPort: true));
            var rest = options.With(reusePort: true, boundPort: listeners[0].LocalEndPoint?.Port);
            for (int i = 1; i < managers.Length; i++) listeners[i] = listen(managers[i], rest);
        }
        return listeners;
    }

    /// <summary>Starts one thread per manager, each running <see cref="Manager.Run"/>.</summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (Interlocked.Exchange(ref started, 1) != 0) throw new InvalidOperationException("the group has started already");
        for (int i = 0; i < managers.Length; i++)
        {
            var manager = managers[i];
            var thread = new Thread(() => RunLoop(manager)) { Name = $"meerkat loop {i}", IsBackground = true };
            threads.Add(thread);
            thread.Start();
        }
        foreach (var acceptor in acceptors) acceptor.Start();
    }

    /// <summary>Starts the loops and blocks until <see cref="Stop"/> or cancellation, or until a
    /// loop fails: then every loop stops and the failure is rethrown here.</summary>
    public void Run(CancellationToken cancellationToken = default)
    {
        Start();
        using var registration = cancellationToken.Register(Stop);
        stopped.Wait(CancellationToken.None);
        if (Volatile.Read(ref failure) is { } error) throw new AggregateException("a loop of the group failed", error);
    }

    /// <summary>Makes every loop return after its current iteration. Thread-safe.</summary>
    public void Stop()
    {
        foreach (var acceptor in acceptors) acceptor.Dispose();
        foreach (var manager in managers) manager.Stop();
        stopped.Set();
    }

    /// <summary>A graceful shutdown of every loop (see <see cref="Manager.Shutdown"/>): no new
    /// connection is accepted, work in progress finishes within <paramref name="deadline"/>, then what
    /// is left is closed; <see cref="Run"/> returns once every loop is done. Calling it again with a
    /// shorter deadline brings the end forward (<see cref="TimeSpan.Zero"/>: now). Thread-safe, also
    /// from a signal handler.</summary>
    /// <returns>Completes when every loop has closed its last connection.</returns>
    public Task ShutdownAsync(TimeSpan deadline)
    {
        Volatile.Write(ref shuttingDown, 1);
        foreach (var acceptor in acceptors) acceptor.Dispose();
        if (Volatile.Read(ref started) == 0) Stop();
        return Task.WhenAll(managers.Select(m => m.ShutdownAsync(deadline)));
    }

    /// <summary>As <see cref="ShutdownAsync"/>, without waiting.</summary>
    public void Shutdown(TimeSpan deadline) => _ = ShutdownAsync(deadline);

    /// <summary>Delivers a <see cref="EventKind.Wakeup"/> to the connection, on whichever loop owns it. Thread-safe.</summary>
    /// <returns>False when no loop has that connection.</returns>
    public bool Wakeup(long connectionId, ReadOnlySpan<byte> payload)
    {
        foreach (var manager in managers)
            if (manager.Wakeup(connectionId, payload)) return true;
        return false;
    }

    /// <summary>Stops every loop, waits for its thread, and disposes every manager (each
    /// connection gets its <see cref="EventKind.Close"/>).</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        Stop();
        foreach (var thread in threads) thread.Join();
        List<Exception>? errors = null;
        foreach (var manager in managers)
        {
            try
            {
                manager.Dispose();
            }
            catch (Exception ex)
            {
                (errors ??= []).Add(ex);
            }
        }
        if (errors is not null) throw new AggregateException("disposing the group's managers", errors);
    }

    private void RunLoop(Manager manager)
    {
        try
        {
            manager.Run();
        }
        catch (Exception ex)
        {
            // A handler threw out of this loop: the group stops, and Run rethrows it.
            Interlocked.CompareExchange(ref failure, ex, null);
            Stop();
        }
        finally
        {
            // One loop ending ends them all, and the group's Run; during a shutdown each loop ends
            // when its own work is done, and the group when the last one is.
            if (Volatile.Read(ref shuttingDown) == 0 || Interlocked.Increment(ref loopsEnded) == managers.Length || Volatile.Read(ref failure) is not null) Stop();
        }
    }
}
