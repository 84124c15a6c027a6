using Meerkat.Polling;

namespace Meerkat;

/// <summary>
/// The end of every connection: the closes phase raises <see cref="EventKind.Close"/> for each
/// connection marked closing (after <see cref="EventKind.Open"/> if that never came, and after its
/// protocol ended its open work, <see cref="Protocol.OnClosing"/>) and releases it; teardown does the
/// same for every live connection. libuv style: <c>Close()</c> only marks, the event comes later,
/// exactly once, and nothing of the connection is reused before it.
/// </summary>
/// <remarks>Loop thread only (or the thread disposing the manager, once the loop has stopped).</remarks>
internal sealed class Closer(Manager manager, Poller poller, ConnectionTable table, PhaseQueues queues)
{
    /// <summary>The closes phase: every connection marked closing so far, this iteration's included.</summary>
    public void CloseMarked()
    {
        var marked = queues.Close;
        for (int i = 0; i < marked.Count; i++) Close(marked[i]);
        marked.Clear();
    }

    /// <summary>Teardown: closes every live connection with <see cref="CloseCause.Disposed"/> (those
    /// already closing keep their cause). Each one is released even when a Close handler throws.</summary>
    /// <returns>The first exception a handler threw, to rethrow once all are released.</returns>
    public Exception? CloseAll(Exception? firstError)
    {
        while (table.Count > 0)
        {
            var connection = table[table.Count - 1];
            if (connection.State < ConnectionState.Closing)
            {
                connection.Stage = ConnectionStage.Closing;
                connection.CloseCause = CloseCause.Disposed;
            }
            try
            {
                Close(connection);
            }
            catch (ObjectDisposedException)
            {
                // A Close handler reacting with Connect or AddTimer on this manager: nothing to do.
            }
            catch (Exception ex) when (ex is not LifecycleViolationException)
            {
                // Every connection is still released; the first handler bug is rethrown by the caller.
                firstError ??= ex;
            }
        }
        return firstError;
    }

    private void Close(Connection connection)
    {
        connection.Queued &= ~Queued.Close;
        if (connection.State == ConnectionState.Closed) return;
        connection.Stage = ConnectionStage.Closing;
        try
        {
            if (!connection.IsOpenRaised) manager.Raise(connection, new Event(EventKind.Open));
            else connection.Protocol?.OnClosing(connection, connection.CloseCause, null);
            manager.Raise(connection, new Event(EventKind.Close));
        }
        finally
        {
            Release(connection);
        }
    }

    private void Release(Connection connection)
    {
        connection.Stage = ConnectionStage.Closed;
        connection.DeadlineTimer?.Cancel();
        connection.Connector?.Abort();
        if (connection.IsRegistered) poller.Remove(connection);
        Transport.Close(connection);
        connection.Virtual?.Dispose();
        connection.ReleaseBuffers();
        table.Remove(connection);
    }
}
