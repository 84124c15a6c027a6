using System.Net;
using System.Net.Sockets;
using Meerkat.Diagnostics;
using Meerkat.Polling;

namespace Meerkat;

/// <summary>
/// Accepts the connections of a ready TCP listener (the loop's ready phase, up to
/// <see cref="AcceptBatch"/> per iteration) and makes each one a connection of that listener:
/// its protocol and security layer from the listener, <see cref="EventKind.Open"/> then
/// <see cref="EventKind.Accept"/> at once, and the handshake started. Beyond
/// <see cref="ManagerOptions.MaxConnections"/> an accepted socket is closed at once.
/// </summary>
/// <remarks>Loop thread only. The same path serves sockets a <see cref="ManagerGroup"/>'s shared
/// acceptor hands over (<see cref="Adopt(Connection, Socket)"/>) and the virtual network's accepted links.</remarks>
internal sealed class Acceptor(Manager manager, Poller poller, ConnectionTable table, PhaseQueues queues)
{
    private const int AcceptBatch = 128;

    private long lastRefusalLog;
    private int refusedSinceLog;

    /// <summary>Accepts until the listener's queue is empty or a batch is done (then it is read again
    /// next iteration).</summary>
    public void AcceptAll(Connection listener)
    {
        for (int i = 0; i < AcceptBatch; i++)
        {
            if (listener.Virtual is { } virtualListener)
            {
                if (virtualListener.Accept() is not { } accepted)
                {
                    listener.ReadReady = false;
                    return;
                }
                Adopt(listener, null, accepted, -1, accepted.LocalEndPoint, accepted.RemoteEndPoint);
                continue;
            }
            if (manager.Backend == PollerBackend.Epoll && OperatingSystem.IsLinux())
            {
                // A bare descriptor: no .NET Socket (and no async context) per accepted connection.
                int descriptor = Transport.AcceptDescriptor(listener.Socket!, out var remote);
                if (descriptor < 0)
                {
                    listener.ReadReady = false;
                    return;
                }
                Adopt(listener, null, null, descriptor, Transport.AcceptedLocalEndPoint(listener, descriptor), remote);
                continue;
            }
            var socket = Transport.Accept(listener.Socket!);
            if (socket is null)
            {
                listener.ReadReady = false;
                return;
            }
            Adopt(listener, socket);
        }
        queues.ScheduleRead(listener);
    }

    /// <summary>Makes an accepted socket a connection of <paramref name="listener"/>.</summary>
    public void Adopt(Connection listener, Socket socket) =>
        Adopt(listener, socket, null, -1, Transport.AcceptedLocalEndPoint(listener, socket), (IPEndPoint?)socket.RemoteEndPoint);

    private void Adopt(Connection listener, Socket? socket, VirtualSocket? virtualSocket, int descriptor, IPEndPoint? local, IPEndPoint? remote)
    {
        if (table.ActiveCount >= manager.Options.MaxConnections)
        {
            socket?.Dispose();
            virtualSocket?.Dispose();
            Transport.CloseDescriptor(descriptor);
            RefuseOverLimit(listener);
            return;
        }
        if (listener.State >= ConnectionState.Closing)
        {
            socket?.Dispose();
            virtualSocket?.Dispose();
            Transport.CloseDescriptor(descriptor);
            return;
        }
        var connection = new Connection(manager, ConnectionTable.NextId(), ConnectionRole.Accepted, false, listener.Handler)
        {
            Socket = socket,
            Descriptor = descriptor,
            Virtual = virtualSocket,
            Stage = ConnectionStage.Connected,
            LocalEndPoint = local,
            RemoteEndPoint = remote,
        };
        connection.Protocol = listener.AcceptedProtocol?.Invoke(connection);
        connection.Security = listener.AcceptedSecurity?.Invoke(connection);
        table.Add(connection);
        poller.Add(connection);
        manager.Raise(connection, new Event(EventKind.Open));
        if (connection.State < ConnectionState.Closing) manager.Raise(connection, new Event(EventKind.Accept));
        if (connection.State < ConnectionState.Closing) connection.Security?.Start(connection);
    }

    /// <summary>An accepted socket was closed at once: <see cref="ManagerOptions.MaxConnections"/> is reached.
    /// Counted each time, logged at most once a second (a flood must not flood the log too).</summary>
    private void RefuseOverLimit(Connection listener)
    {
        ConnectionTelemetry.Error(manager.Metrics, listener, "connection_limit");
        refusedSinceLog++;
        long now = manager.Ticks;
        if (lastRefusalLog != 0 && now - lastRefusalLog < LoopClock.ToTicks(TimeSpan.FromSeconds(1))) return;
        lastRefusalLog = now;
        manager.Log(LogSeverity.Warning, "connection-limit",
            $"MaxConnections ({manager.Options.MaxConnections}) reached: {refusedSinceLog} connection(s) refused on {listener.LocalEndPoint}", connectionId: listener.Id);
        refusedSinceLog = 0;
    }
}
