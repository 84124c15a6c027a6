using System.Net;
using Meerkat.Polling;

namespace Meerkat;

// The manager's side of the virtual network (Meerkat.Testing, docs/testing.md): listeners and
// outbound connections over VirtualSockets, and what a driver that owns time needs to see.
public sealed partial class Manager
{
    /// <summary>Sees every event before the handlers do (Meerkat.Testing's trace); null when unused.</summary>
    internal Action<Connection, Event>? Observer { get; set; }

    /// <summary>For a driver that owns time (the virtual network): the next iteration has work
    /// without waiting for readiness or a timer.</summary>
    internal bool HasPendingWork =>
        queues.HasWork || inbox.HasWork;

    /// <summary>When the earliest live timer is due (<see cref="Ticks"/>), or null.</summary>
    internal long? NextTimerDue => disposed ? null : timers.NextDue();

    /// <summary>Virtual network: the host name of an outbound connection resolved to <paramref name="address"/>.</summary>
    internal void OnVirtualResolved(Connection connection, IPEndPoint address)
    {
        if (connection.State >= ConnectionState.Closing) return;
        connection.RemoteEndPoint = address;
        Raise(connection, new Event(EventKind.Resolve));
    }

    /// <summary>Virtual network: an outbound connection's link is up.</summary>
    internal void OnVirtualConnected(Connection connection, VirtualSocket link)
    {
        if (connection.State >= ConnectionState.Closing)
        {
            link.Dispose();
            return;
        }
        connection.Virtual = link;
        poller.Add(connection);
        OnConnected(connection);
    }
}
