// How this file works: after a 101 the proxy splices the client's and the upstream's connections.
// Each side gets a TunnelProtocol naming its peer. Received bytes are sent to the peer while the
// peer can take them (IsWritable) and consumed only once sent; otherwise they wait in the receive
// buffer, which fills, and the loop stops reading that side (backpressure). The peer's Write event
// (its send buffer drained) schedules the waiting side's work phase to forward the rest. When one
// side ends (its peer closed, an error, a close) the other is closed after its send buffer drains,
// so bytes already forwarded still arrive. Loop thread only.
namespace Meerkat.Http.Proxy;

/// <summary>A byte splice from one connection to its peer (the proxy's WebSocket tunnel).</summary>
internal sealed class TunnelProtocol(Connection peer) : Protocol
{
    /// <summary>Makes <paramref name="connection"/> a tunnel to <paramref name="peer"/>: the bytes already in
    /// its receive buffer are forwarded in the next work phase.</summary>
    public static void Install(Connection connection, Connection peer)
    {
        connection.Protocol = new TunnelProtocol(peer);
        connection.Manager.ScheduleWork(connection);
    }

    public override void OnEvent(Connection connection, Event e)
    {
        switch (e.Kind)
        {
            case EventKind.Read:
                Forward(connection);
                break;
            case EventKind.Write when peer.Protocol is TunnelProtocol && peer.State < ConnectionState.Closing && !peer.Received.IsEmpty:
                peer.Manager.ScheduleWork(peer); // room again: the peer forwards what it holds
                break;
        }
    }

    public override void OnWork(Connection connection) => Forward(connection);

    public override bool OnEndOfStream(Connection connection)
    {
        Forward(connection);
        if (connection.Received.IsEmpty) peer.CloseAfterDrain();
        return false; // this side closes once its own output is written
    }

    public override void OnClosing(Connection connection, CloseCause cause, Exception? error)
    {
        if (peer.State < ConnectionState.Closing) peer.CloseAfterDrain();
    }

    private void Forward(Connection connection)
    {
        if (connection.State >= ConnectionState.Closing) return;
        var received = connection.Received;
        if (received.IsEmpty) return;
        if (peer.State >= ConnectionState.Draining)
        {
            connection.Consume(received.Length); // nobody to deliver to: the close is on its way
            return;
        }
        if (!peer.IsWritable) return;
        peer.Send(received);
        connection.Consume(received.Length);
        if (connection.IsPeerClosed) peer.CloseAfterDrain();
    }
}
