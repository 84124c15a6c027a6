using System.Collections.Concurrent;
using Meerkat.Diagnostics;

namespace Meerkat;

/// <summary>
/// The manager's live connections (listeners included; internal connection attempts never): a
/// list the loop walks, an index by id that other threads may read (<see cref="Contains"/>, for
/// <see cref="Manager.Wakeup(long, ReadOnlySpan{byte})"/>), and the count of accepted and outbound
/// connections that <see cref="ManagerOptions.MaxConnections"/> and graceful shutdown look at. Adding
/// and removing count the connection in the manager's metrics (<see cref="ConnectionTelemetry"/>).
/// </summary>
/// <remarks>Loop thread only, except <see cref="Contains"/> and <see cref="NextId"/>. Removal swaps
/// the last connection into the freed slot (<see cref="Connection.Index"/>), so it costs O(1) and a
/// walk by index must read <see cref="Count"/> again after each event it raises.</remarks>
internal sealed class ConnectionTable(MeerkatMetrics metrics)
{
    private static long lastId;

    private readonly List<Connection> connections = [];
    private readonly ConcurrentDictionary<long, Connection> byId = new();

    /// <summary>The live connections, in no particular order.</summary>
    public IReadOnlyList<Connection> All => connections;

    /// <summary>Live connections, listeners included.</summary>
    public int Count => connections.Count;

    /// <summary>Live accepted and outbound connections (not listeners).</summary>
    public int ActiveCount { get; private set; }

    public Connection this[int index] => connections[index];

    /// <summary>A new id from the process-wide sequence (connections and wakeup targets). Thread-safe.</summary>
    public static long NextId() => Interlocked.Increment(ref lastId);

    /// <summary>True while a connection with this id is live. Thread-safe.</summary>
    public bool Contains(long id) => byId.ContainsKey(id);

    public bool TryGet(long id, out Connection connection) => byId.TryGetValue(id, out connection!);

    /// <summary>Adds a connection; it counts as active unless it is a listener.</summary>
    public void Add(Connection connection)
    {
        connection.Index = connections.Count;
        connections.Add(connection);
        byId[connection.Id] = connection;
        if (connection.Role != ConnectionRole.Listener) ActiveCount++;
        ConnectionTelemetry.Opened(metrics, connection);
    }

    public void Remove(Connection connection)
    {
        int index = connection.Index;
        var last = connections[^1];
        connections[index] = last;
        last.Index = index;
        connections.RemoveAt(connections.Count - 1);
        byId.TryRemove(connection.Id, out _);
        if (connection.Role != ConnectionRole.Listener) ActiveCount--;
        ConnectionTelemetry.Closed(metrics, connection);
    }
}
