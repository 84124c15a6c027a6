// How this file works: the transport's instruments, called by the Manager at the points of a
// connection's life (registered, released, bytes read and written, failed, refused) and once per
// loop iteration (lag). Each method checks its instrument's Enabled first; attribute values are
// constants, so recording allocates nothing.
using System.Diagnostics;

namespace Meerkat.Diagnostics;

/// <summary>Connection, byte, error and loop-lag measurements (docs/observability.md).</summary>
internal static class ConnectionTelemetry
{
    /// <summary>A connection was created (listener, accepted or outbound; internal ones are not counted).</summary>
    public static void Opened(MeerkatMetrics metrics, Connection connection)
    {
        if (connection.Role == ConnectionRole.Internal) return;
        var role = new KeyValuePair<string, object?>(TelemetryTags.Role, TelemetryTags.RoleOf(connection.Role));
        var transport = new KeyValuePair<string, object?>(TelemetryTags.Transport, TelemetryTags.TransportOf(connection));
        if (metrics.OpenedConnections.Enabled) metrics.OpenedConnections.Add(1, role, transport);
        if (metrics.ActiveConnections.Enabled)
        {
            connection.IsCountedActive = true;
            metrics.ActiveConnections.Add(1, role, transport);
        }
    }

    /// <summary>A connection was released after its Close.</summary>
    public static void Closed(MeerkatMetrics metrics, Connection connection)
    {
        if (connection.Role == ConnectionRole.Internal) return;
        var role = new KeyValuePair<string, object?>(TelemetryTags.Role, TelemetryTags.RoleOf(connection.Role));
        var transport = new KeyValuePair<string, object?>(TelemetryTags.Transport, TelemetryTags.TransportOf(connection));
        if (metrics.ClosedConnections.Enabled) metrics.ClosedConnections.Add(1, role, transport);
        if (connection.IsCountedActive)
        {
            connection.IsCountedActive = false;
            metrics.ActiveConnections.Add(-1, role, transport);
        }
    }

    /// <summary>Bytes read from the socket (ciphertext under TLS).</summary>
    public static void Received(MeerkatMetrics metrics, Connection connection, int count)
    {
        if (metrics.NetworkIo.Enabled)
            metrics.NetworkIo.Add(count, new(TelemetryTags.Direction, "receive"), new(TelemetryTags.Role, TelemetryTags.RoleOf(connection.Role)));
    }

    /// <summary>Bytes written to the socket (ciphertext under TLS).</summary>
    public static void Sent(MeerkatMetrics metrics, Connection connection, int count)
    {
        if (metrics.NetworkIo.Enabled)
            metrics.NetworkIo.Add(count, new(TelemetryTags.Direction, "transmit"), new(TelemetryTags.Role, TelemetryTags.RoleOf(connection.Role)));
    }

    /// <summary>Counts one failure of kind <paramref name="errorType"/> on <paramref name="connection"/>.</summary>
    public static void Error(MeerkatMetrics metrics, Connection connection, string errorType)
    {
        if (metrics.Errors.Enabled)
            metrics.Errors.Add(1, new(TelemetryTags.ErrorType, errorType), new(TelemetryTags.Role, TelemetryTags.RoleOf(connection.Role)));
    }

    /// <summary>The loop started handling its last ready connection: <paramref name="since"/> is when the
    /// wait returned, on the manager's clock.</summary>
    public static void Lag(Manager manager, long since) =>
        manager.Metrics.LoopLag.Record(LoopClock.Seconds(since, manager.Ticks));
}
