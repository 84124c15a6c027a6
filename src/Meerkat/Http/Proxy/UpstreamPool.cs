// How this file works: one reverse proxy's idle kept-alive upstream connections on one loop thread.
// Acquire takes the most recently used idle connection (the likeliest to be still open) or opens a
// new one; Release parks a connection whose response completed with keep-alive. While parked, a
// connection's events come here: its Close removes it, and a sweep timer closes connections idle
// past IdleConnectionTimeout. A connection that a response ended (MustClose) closes itself and is
// removed the same way. Loop thread only: each manager has its own pool.
using Meerkat.Http.Client;

namespace Meerkat.Http.Proxy;

/// <summary>Idle upstream connections of one <see cref="ReverseProxy"/> on one manager. Loop thread only.</summary>
internal sealed class UpstreamPool(Manager manager, Uri upstream, ReverseProxyOptions options)
{
    private readonly List<(Connection Connection, long Since)> idle = [];
    private readonly ConnectionHandler onIdleEvent = OnIdleEvent;
    private ManagerTimer? sweep;

    /// <summary>Upstream connections opened so far (for tests and diagnostics).</summary>
    public int Opened { get; private set; }

    /// <summary>An upstream connection whose events go to <paramref name="handler"/>; <paramref name="reused"/>
    /// says whether it served an earlier request (it may have been closed by the upstream meanwhile).</summary>
    public Connection Acquire(ConnectionHandler handler, bool fresh, out bool reused)
    {
        while (!fresh && idle.Count > 0)
        {
            var (connection, _) = idle[^1];
            idle.RemoveAt(idle.Count - 1);
            if (connection.State >= ConnectionState.Draining || connection.IsPeerClosed) { connection.Close(); continue; }
            connection.Handler = handler;
            reused = true;
            return connection;
        }
        reused = false;
        Opened++;
        return manager.ConnectHttp(upstream, handler, options.ConnectionOptions);
    }

    /// <summary>Parks a connection whose exchange completed; it closes instead when it cannot carry another request.</summary>
    public void Release(Connection connection)
    {
        if (connection.State >= ConnectionState.Draining || connection.IsPeerClosed || connection.PendingHttpRequests > 0
            || idle.Count >= options.MaxIdleConnections || manager.IsShuttingDown)
        {
            connection.Close();
            return;
        }
        connection.Handler = onIdleEvent;
        connection.Tag = this;
        idle.Add((connection, manager.Ticks));
        sweep ??= manager.AddTimer(SweepPeriod(), SweepPeriod(), _ => Sweep());
    }

    private static void OnIdleEvent(Connection connection, Event e)
    {
        if (e.Kind == EventKind.Close && connection.Tag is UpstreamPool pool) pool.Remove(connection);
    }

    private void Remove(Connection connection)
    {
        for (int i = 0; i < idle.Count; i++)
        {
            if (idle[i].Connection != connection) continue;
            idle.RemoveAt(i);
            return;
        }
    }

    private void Sweep()
    {
        long limit = manager.Ticks - (long)(options.IdleConnectionTimeout.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        for (int i = idle.Count - 1; i >= 0; i--)
            if (idle[i].Since <= limit || manager.IsShuttingDown) idle[i].Connection.Close(); // its Close event removes it
        if (idle.Count == 0 || manager.IsShuttingDown)
        {
            sweep?.Cancel();
            sweep = null;
        }
    }

    private TimeSpan SweepPeriod() => TimeSpan.FromTicks(Math.Clamp(options.IdleConnectionTimeout.Ticks / 4, TimeSpan.TicksPerMillisecond * 10, TimeSpan.TicksPerSecond * 5));
}
