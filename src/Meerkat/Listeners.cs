using System.Net;
using System.Net.Sockets;
using Meerkat.Polling;

namespace Meerkat;

/// <summary>
/// Makes listeners for <see cref="Manager.Listen(string, ConnectionHandler?, ListenOptions?)"/> and the
/// protocols' <c>Listen*</c>: a bound socket of this loop (TCP or UDP), a socketless listener fed by a
/// <see cref="ManagerGroup"/>'s shared acceptor, or a listener on the virtual network. Each starts
/// <see cref="ConnectionStage.Connected"/>, with its <see cref="EventKind.Open"/> owed to the next
/// opens phase; its accepted connections take its handler, protocol and security layer.
/// </summary>
/// <remarks>Loop thread only (the manager checks). A bind that fails throws at once and is logged
/// (<c>listen-failed</c>); nothing is registered then.</remarks>
internal sealed class Listeners(Manager manager, Poller poller, ConnectionTable table, PhaseQueues queues)
{
    public Connection Listen(NetworkAddress address, bool datagram, ConnectionHandler? handler, ListenOptions? options,
        Func<Connection, Protocol?>? protocol, Func<Connection, SecurityLayer?>? security)
    {
        if (poller is VirtualBackend network) return ListenVirtual(network, address, datagram, handler, options, protocol, security);
        var ip = address.Literal ?? throw new ArgumentException($"listen address '{address.Host}' must be an IP literal or localhost", nameof(address));
        if (options?.SharedAcceptor is { } shared) return ListenShared(shared, new IPEndPoint(ip, address.Port), datagram, handler, options, protocol, security);
        var socket = Bind(address, ip, datagram, options);
        var listener = new Connection(manager, ConnectionTable.NextId(), ConnectionRole.Listener, datagram, handler)
        {
            Socket = socket,
            Stage = ConnectionStage.Connected,
            LocalEndPoint = (IPEndPoint?)socket.LocalEndPoint,
            AcceptedProtocol = protocol,
            AcceptedSecurity = security,
        };
        Register(listener);
        poller.Add(listener);
        if (manager.IsLogging(LogSeverity.Information))
            manager.Log(LogSeverity.Information, "listen", $"listening on {(datagram ? "udp" : "tcp")}://{listener.LocalEndPoint}", connectionId: listener.Id);
        return listener;
    }

    private Socket Bind(NetworkAddress address, IPAddress ip, bool datagram, ListenOptions? options)
    {
        var socket = datagram
            ? new Socket(ip.AddressFamily, SocketType.Dgram, ProtocolType.Udp)
            : new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            Transport.ConfigureListener(socket, options ?? ListenOptions.Default, datagram);
            int port = options?.BoundPort ?? address.Port;
            if (options?.ClaimPort == true) port = Transport.ClaimPort(new IPEndPoint(ip, port));
            socket.Bind(new IPEndPoint(ip, port));
            if (!datagram) socket.Listen((options ?? ListenOptions.Default).Backlog);
            socket.Blocking = false;
            return socket;
        }
        catch (Exception ex)
        {
            socket.Dispose();
            manager.Log(LogSeverity.Error, "listen-failed", $"cannot listen on {address.Scheme}://{address.Host}:{address.Port}: {ex.Message}", ex);
            throw;
        }
    }

    /// <summary>A listener without a socket of its own: the <paramref name="shared"/> acceptor binds
    /// once and hands this loop its share of the accepted sockets (<see cref="Manager.Adopt"/>).</summary>
    private Connection ListenShared(SharedAcceptor shared, IPEndPoint endPoint, bool datagram, ConnectionHandler? handler, ListenOptions options,
        Func<Connection, Protocol?>? protocol, Func<Connection, SecurityLayer?>? security)
    {
        if (datagram) throw new NotSupportedException("a shared acceptor hands over TCP connections only; share a UDP port with ListenOptions.ReusePort (Linux)");
        var listener = new Connection(manager, ConnectionTable.NextId(), ConnectionRole.Listener, datagram, handler)
        {
            Stage = ConnectionStage.Connected,
            LocalEndPoint = shared.Bind(endPoint, options),
            AcceptedProtocol = protocol,
            AcceptedSecurity = security,
        };
        Register(listener);
        shared.Add(listener);
        return listener;
    }

    /// <summary>A listener on the virtual network: any host name (<c>server.test</c>) or IP literal.</summary>
    private Connection ListenVirtual(VirtualBackend network, NetworkAddress address, bool datagram, ConnectionHandler? handler, ListenOptions? options,
        Func<Connection, Protocol?>? protocol, Func<Connection, SecurityLayer?>? security)
    {
        if (datagram) throw new NotSupportedException("the virtual network carries TCP only");
        var listener = new Connection(manager, ConnectionTable.NextId(), ConnectionRole.Listener, datagram, handler)
        {
            Stage = ConnectionStage.Connected,
            AcceptedProtocol = protocol,
            AcceptedSecurity = security,
        };
        listener.Virtual = network.Listen(listener, address.Host, options?.BoundPort ?? address.Port, (options ?? ListenOptions.Default).Backlog);
        listener.LocalEndPoint = listener.Virtual.LocalEndPoint;
        Register(listener);
        poller.Add(listener);
        return listener;
    }

    private void Register(Connection listener)
    {
        table.Add(listener);
        queues.QueueOpen(listener);
    }
}
