using Meerkat.Polling;

namespace Meerkat.Testing;

/// <summary>
/// The readiness backend of one manager on a <see cref="VirtualNetwork"/>: level-triggered like the
/// portable backend, never blocking (the network's driver owns time).
/// </summary>
internal sealed class VirtualNetworkBackend(VirtualNetwork network, VirtualHost host) : VirtualBackend
{
    private readonly List<Connection> watched = [];

    public VirtualHost Host => host;

    public override void Add(Connection connection)
    {
        connection.PollerSlot = watched.Count;
        watched.Add(connection);
    }

    public override void Remove(Connection connection)
    {
        int slot = connection.PollerSlot;
        if (slot < 0) return;
        var last = watched[^1];
        watched[slot] = last;
        last.PollerSlot = slot;
        watched.RemoveAt(watched.Count - 1);
        connection.PollerSlot = -1;
    }

    public override void Wait(int timeoutMs, List<Connection> ready)
    {
        foreach (var connection in watched)
        {
            switch (connection.Virtual)
            {
                case VirtualListener listener when connection.WantsRead && listener.Readable:
                    connection.ReadReady = true;
                    connection.MarkReady(ready);
                    break;
                case VirtualEnd end:
                    if (connection.WantsRead && end.Readable)
                    {
                        connection.ReadReady = true;
                        connection.MarkReady(ready);
                    }
                    if (connection.WantsWrite && end.Writable)
                    {
                        connection.WriteReady = true;
                        connection.MarkReady(ready);
                    }
                    break;
            }
        }
    }

    /// <summary>Something is ready that the next iteration would service.</summary>
    public bool HasReady()
    {
        foreach (var connection in watched)
        {
            if (connection.State >= ConnectionState.Closing) continue;
            switch (connection.Virtual)
            {
                case VirtualListener listener when connection.WantsRead && listener.Readable:
                    return true;
                case VirtualEnd end when (connection.WantsRead && end.Readable) || (connection.WantsWrite && end.Writable):
                    return true;
            }
        }
        return false;
    }

    public override VirtualSocket Listen(Connection listener, string hostName, int port, int backlog) => network.Bind(host, hostName, port, backlog);

    public override void Connect(Connection connection) => network.StartConnect(host, connection);

    public override void Dispose()
    {
    }
}
