using System.Net;
using System.Net.Sockets;

namespace Meerkat.Polling;

/// <summary>
/// An in-memory socket of a virtual network (Meerkat.Testing): what the loop calls instead of a
/// <see cref="Socket"/> when its backend is a <see cref="VirtualBackend"/>. Same contract as the
/// non-blocking socket calls of <see cref="Transport"/>: would-block comes back as
/// <see cref="SocketError.WouldBlock"/>, end of stream as 0 bytes, never an exception.
/// </summary>
internal abstract class VirtualSocket
{
    /// <summary>The address this end is bound to.</summary>
    public abstract IPEndPoint LocalEndPoint { get; }

    /// <summary>The peer's address; null for a listener.</summary>
    public abstract IPEndPoint? RemoteEndPoint { get; }

    /// <summary>A listener: the next connection waiting in its backlog, or null.</summary>
    public abstract VirtualSocket? Accept();

    /// <summary>Reads what has arrived: the count, 0 at end of stream, or an error.</summary>
    public abstract int Receive(Span<byte> buffer, out SocketError error);

    /// <summary>Writes what the link takes now: the count, or an error.</summary>
    public abstract int Send(ReadOnlySpan<byte> data, out SocketError error);

    /// <summary>Ends this side's stream (the peer reads end of stream once it has the rest).</summary>
    public abstract void ShutdownSend();

    /// <summary>Closes this end: unread input is dropped; a peer still sending sees a reset.</summary>
    public abstract void Dispose();
}

/// <summary>
/// The readiness backend of a virtual network: reports virtual sockets ready (level-triggered, as
/// <see cref="PortablePoller"/> does), never blocks (the test driver owns time), and makes the
/// listeners and outbound connections of its manager.
/// </summary>
internal abstract class VirtualBackend : Poller
{
    /// <summary>Binds a listener on <paramref name="host"/> (a name such as <c>server.test</c> or an
    /// IP literal) and <paramref name="port"/> (0: a free one).</summary>
    /// <exception cref="SocketException">The address is in use.</exception>
    public abstract VirtualSocket Listen(Connection listener, string host, int port, int backlog);

    /// <summary>Starts resolving and connecting an outbound connection, after its Open. The backend
    /// later posts, on the loop thread, <see cref="Manager.OnVirtualResolved"/> and
    /// <see cref="Manager.OnVirtualConnected"/>, or <see cref="Manager.Fail"/>.</summary>
    public abstract void Connect(Connection connection);

    /// <inheritdoc/>
    protected override void Signal()
    {
        // Nothing blocks: the driver looks at every manager's queues after each step.
    }
}
