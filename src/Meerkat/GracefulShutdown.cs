// How this file works: the manager's graceful shutdown, run on the loop thread. Begin closes every
// listener (new connections are refused), tells each connection's protocol (Protocol.OnShutdown:
// the HTTP server closes idle connections at once and busy ones after their current response) and
// starts the deadline. At the deadline every connection still open is closed with
// CloseCause.Shutdown (an HTTP transaction then ends with HttpOutcome.Shutdown). The shutdown is
// complete when no accepted or outbound connection is left; the manager then stops its Run loop.
//
// States and their legal successors:
//   Requested -> Running (Begin, on the loop), Complete (the manager disposed first)
//   Running   -> Complete (no connection left, or the manager disposed)
//   Complete  (terminal)
namespace Meerkat;

/// <summary>One graceful shutdown of a <see cref="Manager"/>.</summary>
internal sealed class GracefulShutdown
{
    private enum State { Requested, Running, Complete }

    private readonly TaskCompletionSource completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private State state;
    private ManagerTimer? deadlineTimer;
    private long deadlineTicks = long.MaxValue;

    public Task Completion => completion.Task;

    /// <summary>Loop thread: starts, or brings the deadline forward when it is called again with a shorter one.</summary>
    public void Begin(Manager manager, TimeSpan deadline)
    {
        if (state == State.Complete) return;
        state = State.Running;
        long due = manager.Ticks + LoopClock.ToTicks(deadline);
        if (due >= deadlineTicks) return;
        bool first = deadlineTicks == long.MaxValue;
        deadlineTicks = due;
        deadlineTimer?.Cancel();
        deadlineTimer = manager.AddTimer(deadline, TimeSpan.Zero, _ => Expire(manager));
        if (!first) return;
        var connections = manager.Connections;
        int busy = 0;
        for (int i = connections.Count - 1; i >= 0; i--)
        {
            var connection = connections[i];
            if (connection.Role == ConnectionRole.Listener) connection.Close();
            else if (connection.Role != ConnectionRole.Internal && connection.State < ConnectionState.Closing && connection.IsOpenRaised)
            {
                busy++;
                connection.Protocol?.OnShutdown(connection);
            }
        }
        manager.Log(LogSeverity.Information, "shutdown", $"shutting down: listeners closed, {busy} connections finishing within {deadline.TotalSeconds:0.###} s");
    }

    /// <summary>Loop thread, after each iteration's closes: complete once nothing is left.</summary>
    public void CheckDone(Manager manager, int liveConnections)
    {
        if (state != State.Running || liveConnections > 0) return;
        deadlineTimer?.Cancel();
        manager.Log(LogSeverity.Information, "shutdown", "shutdown complete: every connection closed");
        Finish();
        manager.Stop();
    }

    /// <summary>The manager is disposed before the shutdown completed.</summary>
    public void Finish()
    {
        state = State.Complete;
        completion.TrySetResult();
    }

    private void Expire(Manager manager)
    {
        var connections = manager.Connections;
        int closed = 0;
        for (int i = connections.Count - 1; i >= 0; i--)
        {
            var connection = connections[i];
            if (connection.Role == ConnectionRole.Internal || connection.State >= ConnectionState.Closing) continue;
            connection.CloseCause = CloseCause.Shutdown;
            connection.Close();
            closed++;
        }
        if (closed > 0) manager.Log(LogSeverity.Warning, "shutdown", $"shutdown deadline passed: {closed} connections closed with work in progress");
    }
}
