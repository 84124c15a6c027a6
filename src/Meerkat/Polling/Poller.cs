namespace Meerkat.Polling;

/// <summary>
/// A readiness backend: tells the loop which sockets can be read or written.
/// </summary>
/// <remarks>
/// Like mio's <c>Poll</c>, it promises little: readiness may be spurious, and a backend may
/// report a socket only when its state changes (edge-triggered), so the loop reads until a read
/// comes back short and remembers, in <see cref="Connection"/>'s readiness flags, what it has not
/// used yet. Every member except <see cref="Wake"/> runs on the loop thread.
/// </remarks>
internal abstract class Poller : IDisposable
{
    /// <summary>Starts watching the connection's socket.</summary>
    public abstract void Add(Connection connection);

    /// <summary>Stops watching the connection's socket; call before closing it.</summary>
    public abstract void Remove(Connection connection);

    /// <summary>Waits up to <paramref name="timeoutMs"/> (-1: forever) for readiness or a
    /// <see cref="Wake"/>, sets the readiness flags of ready connections and appends each of them
    /// to <paramref name="ready"/> once.</summary>
    public abstract void Wait(int timeoutMs, List<Connection> ready);

    /// <summary>At most this many ready sockets per <see cref="Wait"/>; a backend that can (epoll)
    /// leaves the rest queued, in order, for the next one. The loop lowers it when its reads are large
    /// (<see cref="StreamIO.NextReadyLimit"/>) so that an iteration's answers go out sooner.</summary>
    public int EventLimit { get; set; } = int.MaxValue;

    // 1 while a wake is signalled and not yet drained, or while the loop spins (SpinUntil): either
    // way the loop will look at its queues again without a signal, so Wake skips the system call.
    private int wakeSignalled;

    /// <summary>Interrupts a <see cref="Wait"/> in progress, or makes the next one return at once.
    /// Callable from any thread.</summary>
    public void Wake()
    {
        if (Interlocked.Exchange(ref wakeSignalled, 1) != 0) return;
        Signal();
    }

    /// <summary>Makes the wake channel readable (one system call).</summary>
    protected abstract void Signal();

    /// <summary>The wake channel was drained: the next <see cref="Wake"/> signals again. Call after
    /// reading the channel, never before (see EpollPoller.DrainWake).</summary>
    protected void WakeDrained() => Interlocked.Exchange(ref wakeSignalled, 0);

    /// <summary>Busy-waits up to <paramref name="budgetTicks"/> (Stopwatch ticks) for
    /// <paramref name="arrived"/> to turn true, with wakes suppressed meanwhile (no system call
    /// on either side). Returns whether it did; false also when a wake is already signalled, in
    /// which case the next <see cref="Wait"/> returns at once.</summary>
    public bool SpinUntil(Func<bool> arrived, long budgetTicks)
    {
        if (Interlocked.CompareExchange(ref wakeSignalled, 1, 0) != 0) return false;
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        var spinner = default(SpinWait);
        bool done;
        while (!(done = arrived()) && System.Diagnostics.Stopwatch.GetTimestamp() - start < budgetTicks)
            spinner.SpinOnce(sleep1Threshold: -1);
        // Release, then look again: a Wake between the last look and the release saw the flag set
        // and did not signal, so its work must be seen here.
        Interlocked.Exchange(ref wakeSignalled, 0);
        return done || arrived();
    }

    /// <summary>Releases the backend's own handles.</summary>
    public abstract void Dispose();

    /// <summary>The backend named by the options or, for <see cref="PollerBackend.Auto"/>, by the
    /// <c>MEERKAT_BACKEND</c> environment variable, else the platform's best.</summary>
    public static Poller Create(PollerBackend backend)
    {
        if (backend == PollerBackend.Auto)
        {
            backend = Environment.GetEnvironmentVariable("MEERKAT_BACKEND")?.ToLowerInvariant() switch
            {
                "portable" => PollerBackend.Portable,
                "epoll" => PollerBackend.Epoll,
                _ => OperatingSystem.IsLinux() ? PollerBackend.Epoll : PollerBackend.Portable,
            };
        }
        if (backend == PollerBackend.Portable) return new PortablePoller();
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("the epoll backend needs Linux; use PollerBackend.Portable");
        return new EpollPoller();
    }
}
