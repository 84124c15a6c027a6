namespace Meerkat;

/// <summary>What a connection is for. Never changes.</summary>
public enum ConnectionRole
{
    /// <summary>A listening socket (TCP) or a bound datagram socket (UDP).</summary>
    Listener,
    /// <summary>Accepted by a listener: the server side.</summary>
    Accepted,
    /// <summary>Made by <see cref="Manager.Connect(string, ConnectionHandler)"/>: the client side.</summary>
    Outbound,
    /// <summary>The manager's own (its wakeup channel); never shown to user handlers.</summary>
    Internal,
}

/// <summary>
/// Where a connection is in its life. Ordered, so checks read <c>state &gt;= Draining</c>.
/// </summary>
public enum ConnectionState
{
    /// <summary>Created: <see cref="EventKind.Open"/> raised or pending; outbound connections resolve and connect here.</summary>
    Open,
    /// <summary>Established (or listening): data flows. Next: Draining, Closing.</summary>
    Connected,
    /// <summary>Closing once the send buffer is written; reads are discarded. Next: Closing.</summary>
    Draining,
    /// <summary>Marked for close; the <see cref="EventKind.Close"/> event comes from the loop. Next: Closed.</summary>
    Closing,
    /// <summary>Closed: inert, sends are refused and no event follows.</summary>
    Closed,
}
