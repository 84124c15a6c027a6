using System.Buffers;
using System.Net;
using System.Net.Sockets;

namespace Meerkat;

/// <summary>
/// One socket of a <see cref="Manager"/>: a listener, an accepted (server-side) connection, an
/// outbound (client-side) connection, or a datagram socket. Every member runs on the loop thread
/// unless it says otherwise.
/// </summary>
/// <remarks>
/// Lifecycle: <see cref="EventKind.Open"/> first and <see cref="EventKind.Close"/> last, exactly
/// once each, in every path. After <see cref="EventKind.Close"/> the object is inert:
/// <see cref="Send"/> returns false and no event follows.
/// </remarks>
public sealed class Connection
{
    private const int InitialSendBufferSize = 4 * 1024;

    private readonly IoBuffer receiveBuffer;
    private readonly IoBuffer sendBuffer;

    internal Connection(Manager manager, long id, ConnectionRole role, bool isDatagram, ConnectionHandler? handler)
    {
        Manager = manager;
        Id = id;
        Role = role;
        IsDatagram = isDatagram;
        Handler = handler;
        var options = manager.Options;
        receiveBuffer = new IoBuffer(options.ReceiveBufferSize, options.MaxReceiveBufferSize);
        // The send buffer starts in a smaller pool bucket than the receive buffer: both are in use
        // during a handler (request read, response written), and ArrayPool.Shared keeps one array per
        // bucket per thread, so with distinct buckets both come back from the thread's cache (no
        // allocation per request) although neither stays with an idle connection.
        sendBuffer = new IoBuffer(Math.Min(InitialSendBufferSize, options.MaxSendBufferSize), options.MaxSendBufferSize);
    }

    /// <summary>Unique within the process, never reused; the address for <see cref="Manager.Wakeup(long, ReadOnlySpan{byte})"/>.</summary>
    public long Id { get; }

    /// <summary>What the connection is for.</summary>
    public ConnectionRole Role { get; }

    /// <summary>True for UDP: each <see cref="EventKind.Read"/> is one datagram and each
    /// <see cref="Send"/> one datagram.</summary>
    public bool IsDatagram { get; }

    /// <summary>The manager that owns the connection.</summary>
    public Manager Manager { get; }

    /// <summary>Where the connection is in its life.</summary>
    public ConnectionState State { get; private set; }

    /// <summary><see cref="State"/> with the loop's sub-states (<see cref="ConnectionStage"/>); setting
    /// it sets <see cref="State"/>.</summary>
    internal ConnectionStage Stage
    {
        get => stage;
        set
        {
            stage = value;
            State = value switch
            {
                ConnectionStage.Open or ConnectionStage.Connecting => ConnectionState.Open,
                ConnectionStage.Connected => ConnectionState.Connected,
                ConnectionStage.Draining or ConnectionStage.HalfClosed => ConnectionState.Draining,
                ConnectionStage.Closing => ConnectionState.Closing,
                _ => ConnectionState.Closed,
            };
        }
    }

    private ConnectionStage stage;

    /// <summary>The local address, once bound or connected.</summary>
    public IPEndPoint? LocalEndPoint { get; internal set; }

    /// <summary>The peer's address: for a datagram listener, the sender of the last datagram
    /// (where <see cref="Send"/> replies).</summary>
    public IPEndPoint? RemoteEndPoint { get; internal set; }

    /// <summary>The user handler. May be replaced at any time on the loop thread.</summary>
    public ConnectionHandler? Handler { get; set; }

    /// <summary>A value for the application's per-connection state.</summary>
    public object? Tag { get; set; }

    /// <summary>The HTTP router's per-connection state (Http/Routing), kept apart from <see cref="Tag"/>,
    /// which stays the application's. On a multiplexed connection (HTTP/2) it is the addressed stream's.</summary>
    internal object? RoutingState
    {
        get => Protocol is { IsMultiplexed: true } multiplexed ? multiplexed.AddressedRoutingState : routingState;
        set
        {
            if (Protocol is { IsMultiplexed: true } multiplexed) multiplexed.AddressedRoutingState = value;
            else routingState = value;
        }
    }

    private object? routingState;

    /// <summary>True once the peer has closed its sending side (end of stream read).</summary>
    public bool IsPeerClosed { get; internal set; }

    /// <summary>Bytes received and not yet consumed (see <see cref="Consume"/>). Valid until
    /// the callback returns.</summary>
    public ReadOnlySpan<byte> Received => receiveBuffer.Span;

    /// <summary>Bytes waiting in the send buffer.</summary>
    public int SendBufferedBytes => PendingSendBytes;

    /// <summary>True while the send buffer is under the high-water mark: a producer may send more.
    /// When false, wait for <see cref="EventKind.Write"/> events. On an HTTP/2 connection it also
    /// takes in the flow-control window of the stream being answered (the one whose event is being
    /// raised, see docs/http2.md).</summary>
    public bool IsWritable => State < ConnectionState.Draining && PendingSendBytes < Manager.Options.SendHighWaterMark
        && (Protocol is null || Protocol.IsAddressedWritable);

    /// <summary>Queues bytes to send; they are written when the loop reaches its write phase.</summary>
    /// <returns>False, with nothing queued, when the connection is closing or closed or the data
    /// would overflow <see cref="ManagerOptions.MaxSendBufferSize"/>.</returns>
    public bool Send(ReadOnlySpan<byte> data)
    {
        if (State >= ConnectionState.Draining || Role == ConnectionRole.Listener && !IsDatagram) return false;
        if (IsDatagram) return Datagrams.Send(Manager, this, data, null);
        if (!sendBuffer.Append(data)) return false;
        Manager.ScheduleWrite(this);
        return true;
    }

    /// <summary>Sends one datagram from a UDP listener to <paramref name="remote"/>, any address
    /// (a peer that never wrote, a multicast group), beside <see cref="Send"/>'s reply to the last sender.</summary>
    /// <returns>True when the datagram was sent, or kept to be sent in the write phase (the socket
    /// would block: a <see cref="EventKind.Write"/> follows). False, with nothing sent, when the
    /// connection is closed or the system refused the destination (unreachable, say): a listener
    /// serves other peers, so it stays open and the reason goes to <see cref="ManagerOptions.Log"/>.</returns>
    /// <exception cref="InvalidOperationException">The connection is not a UDP listener (an outbound
    /// UDP connection is connected to its one peer: use <see cref="Send"/>).</exception>
    /// <exception cref="ArgumentException">The address family of <paramref name="remote"/> cannot be
    /// reached from this socket (an IPv4 address from an IPv6 socket without
    /// <see cref="ListenOptions.DualMode"/>).</exception>
    public bool SendTo(IPEndPoint remote, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(remote);
        if (!IsDatagram || Role != ConnectionRole.Listener)
            throw new InvalidOperationException("SendTo needs a UDP listener (Manager.Listen(\"udp://...\")); a connected socket sends to its peer with Send");
        if (State >= ConnectionState.Draining) return false;
        return Datagrams.Send(Manager, this, data, Datagrams.Destination(this, remote));
    }

    /// <summary>Receives the datagrams sent to multicast <paramref name="group"/> (IPv4 224.0.0.0/4
    /// or IPv6 ff00::/8) on this UDP listener, as <see cref="EventKind.Read"/> events like any other.
    /// Bind the listener to the wildcard address (<c>udp://0.0.0.0:PORT</c>, <c>udp://[::]:PORT</c>)
    /// and the group's port.</summary>
    /// <param name="group">The group address, of the listener's address family.</param>
    /// <param name="interfaceIndex">The network interface to join on (see
    /// <c>NetworkInterface.GetIPProperties().GetIPv4Properties().Index</c>); 0 lets the system choose.</param>
    /// <exception cref="InvalidOperationException">Not an open UDP listener.</exception>
    /// <exception cref="ArgumentException">Not a multicast address, or the wrong address family.</exception>
    /// <exception cref="MeerkatException">The system refused (joined already, no such interface...).</exception>
    public void JoinMulticastGroup(IPAddress group, int interfaceIndex = 0) => Datagrams.ChangeMembership(this, group, interfaceIndex, join: true);

    /// <summary>Stops receiving the datagrams of a group joined with <see cref="JoinMulticastGroup"/>.</summary>
    /// <exception cref="InvalidOperationException">Not an open UDP listener.</exception>
    /// <exception cref="ArgumentException">Not a multicast address, or the wrong address family.</exception>
    /// <exception cref="MeerkatException">The system refused (the group was not joined on that interface...).</exception>
    public void LeaveMulticastGroup(IPAddress group, int interfaceIndex = 0) => Datagrams.ChangeMembership(this, group, interfaceIndex, join: false);

    /// <summary>Sets how multicast datagrams sent from this UDP socket leave: through which
    /// interface (0: the routing table's choice), with which TTL or hop limit (1: the local network
    /// only; 0: this host only), and whether this host's own members receive them too.</summary>
    /// <exception cref="InvalidOperationException">Not an open UDP socket (an outbound one before its
    /// <see cref="EventKind.Connect"/>).</exception>
    /// <exception cref="MeerkatException">The system refused (no such interface...).</exception>
    public void SetMulticastSendOptions(int interfaceIndex = 0, int hopLimit = 1, bool loopback = true) =>
        Datagrams.SetMulticastSendOptions(this, interfaceIndex, hopLimit, loopback);

    /// <summary>Removes <paramref name="count"/> bytes from the front of <see cref="Received"/>.</summary>
    public void Consume(int count)
    {
        receiveBuffer.Consume(count);
        Security?.OnConsumed(this);
        if (ReadReady) Manager.ScheduleRead(this);
    }

    /// <summary>Closes now: unsent bytes are discarded, and <see cref="EventKind.Close"/> is raised
    /// later, by the loop. Idempotent.</summary>
    public void Close()
    {
        if (State >= ConnectionState.Closing) return;
        Stage = ConnectionStage.Closing;
        Manager.ScheduleClose(this);
    }

    /// <summary>Closes once the send buffer is written: the connection half-closes, then reads and
    /// discards until the peer closes or <see cref="ManagerOptions.LingerTimeout"/> passes, so the
    /// peer receives everything instead of a reset. No <see cref="EventKind.Read"/> follows.
    /// Idempotent.</summary>
    public void CloseAfterDrain()
    {
        if (State >= ConnectionState.Draining) return;
        if (State == ConnectionState.Open || Role == ConnectionRole.Listener || IsDatagram) { Close(); return; }
        Stage = ConnectionStage.Draining;
        Manager.ScheduleWrite(this);
    }

    /// <summary>Starts a timer that raises <see cref="EventKind.Timer"/> on this connection, first
    /// after <paramref name="due"/>, then every <paramref name="period"/> if it is positive.
    /// It stops when the connection closes.</summary>
    public ManagerTimer AddTimer(TimeSpan due, TimeSpan period = default) => Manager.AddTimer(due, period, null, this);

    /// <inheritdoc/>
    public override string ToString() => $"#{Id} {Role} {State} {RemoteEndPoint}";

    // ---- loop internals ----

    internal Socket? Socket { get; set; }
    /// <summary>The descriptor of a socket accepted on the epoll backend, which the loop owns without a
    /// .NET <see cref="System.Net.Sockets.Socket"/> (Transport); -1 otherwise.</summary>
    internal int Descriptor { get; set; } = -1;
    /// <summary>The in-memory socket, instead of <see cref="Socket"/>, on a virtual network.</summary>
    internal Polling.VirtualSocket? Virtual { get; set; }
    internal int PollerSlot { get; set; } = -1;
    internal int Index { get; set; } = -1;
    /// <summary>What the backend reported and the loop has not used up.</summary>
    internal Readiness Readiness { get; set; }

    /// <summary>The backend saw the socket readable and the loop has not yet read it dry.</summary>
    internal bool ReadReady
    {
        get => (Readiness & Readiness.Readable) != 0;
        set => Readiness = value ? Readiness | Readiness.Readable : Readiness & ~Readiness.Readable;
    }

    /// <summary>How much the next read asks for (the loop adapts it to the traffic).</summary>
    internal int ReadSize { get; set; } = StreamIO.MinReadSize;
    /// <summary>The backend saw the socket writable and no write has since come back short.</summary>
    internal bool WriteReady
    {
        get => (Readiness & Readiness.Writable) != 0;
        set => Readiness = value ? Readiness | Readiness.Writable : Readiness & ~Readiness.Writable;
    }

    /// <summary>The backend saw the peer hang up: keep reading until end of stream.</summary>
    internal bool PeerHangup
    {
        get => (Readiness & Readiness.HungUp) != 0;
        set => Readiness = value ? Readiness | Readiness.HungUp : Readiness & ~Readiness.HungUp;
    }

    internal bool IsRegistered => PollerSlot >= 0;
    internal string? Host { get; set; }
    internal int Port { get; set; }
    internal Func<Connection, Protocol?>? AcceptedProtocol { get; set; }
    /// <summary>Resolves and connects an outbound connection until it connects or fails; null after.
    /// On a connection attempt, the connector it belongs to.</summary>
    internal OutboundConnector? Connector { get; set; }
    internal long ReadyStamp { get; set; } = -1;
    /// <summary>The phase queues the connection is in (<see cref="PhaseQueues"/>).</summary>
    internal Queued Queued { get; set; }

    /// <summary>Its <see cref="EventKind.Open"/> was raised (or, accepted, is being raised): events may follow.</summary>
    internal bool IsOpenRaised => (Queued & Queued.Open) == 0;
    /// <summary>meerkat.active_connections was incremented for this connection (Diagnostics/ConnectionTelemetry).</summary>
    internal bool IsCountedActive { get; set; }
    internal ManagerTimer? DeadlineTimer { get; set; }
    /// <summary>Why the connection closes, for its protocol's <see cref="Protocol.OnClosing"/>.</summary>
    internal CloseCause CloseCause { get; set; }
    internal Protocol? Protocol { get; set; }
    /// <summary>TLS, between the socket and the protocol; null for plain connections.</summary>
    internal SecurityLayer? Security { get; set; }
    internal Func<Connection, SecurityLayer?>? AcceptedSecurity { get; set; }
    internal IoBuffer ReceiveBuffer => receiveBuffer;
    internal ReadOnlyMemory<byte> ReceivedMemory => receiveBuffer.Memory;
    internal IoBuffer SendBuffer => sendBuffer;
    /// <summary>Where socket reads go: ciphertext under TLS, else the receive buffer.</summary>
    internal IoBuffer SocketInbound => Security?.Inbound ?? receiveBuffer;
    /// <summary>What socket writes take: ciphertext under TLS, else the send buffer.</summary>
    internal IoBuffer SocketOutbound => Security?.Outbound ?? sendBuffer;
    /// <summary>Plaintext and ciphertext not yet written: what backpressure counts.</summary>
    internal int PendingSendBytes => sendBuffer.Length + (Security?.Outbound.Length ?? 0);
    internal SocketAddress? DatagramPeer { get; set; }
    internal Queue<(byte[] Data, SocketAddress? Peer)>? PendingDatagrams { get; set; }

    /// <summary>Reading is paused while the send buffer is over its high-water mark, or the
    /// receive buffer is full of bytes nobody consumed.</summary>
    internal bool IsReadPaused =>
        PendingSendBytes >= Manager.Options.SendHighWaterMark
        || receiveBuffer.Length >= receiveBuffer.Limit;

    /// <summary>What the level-triggered backend should watch.</summary>
    internal bool WantsRead => Stage != ConnectionStage.Connecting && (State == ConnectionState.Draining || !IsReadPaused);

    internal bool WantsWrite => Stage == ConnectionStage.Connecting || !SocketOutbound.IsEmpty || PendingDatagrams is { Count: > 0 };

    internal void MarkReady(List<Connection> ready)
    {
        long stamp = Manager.Iteration;
        if (ReadyStamp == stamp) return;
        ReadyStamp = stamp;
        ready.Add(this);
    }

    /// <summary>Writes straight into the send buffer (protocol writers); the loop flushes it.</summary>
    internal IBufferWriter<byte> SendWriter => sendWriter ??= new SendBufferWriter(this);

    private SendBufferWriter? sendWriter;

    private sealed class SendBufferWriter(Connection connection) : IBufferWriter<byte>
    {
        public void Advance(int count)
        {
            connection.sendBuffer.Advance(count);
            connection.Manager.ScheduleWrite(connection);
        }

        public Memory<byte> GetMemory(int sizeHint = 0) => connection.sendBuffer.GetWriteMemory(Math.Max(sizeHint, 256));

        public Span<byte> GetSpan(int sizeHint = 0) => connection.sendBuffer.GetWriteSpan(Math.Max(sizeHint, 256));
    }

    /// <summary>Returns the receive and send buffers' arrays to the pool while they are empty, so that an
    /// idle connection holds none (a broker's thousands of quiet clients); the next read or send rents again.</summary>
    internal void ReleaseIdleBuffers()
    {
        if (receiveBuffer.IsEmpty) receiveBuffer.Release();
        if (sendBuffer.IsEmpty) sendBuffer.Release();
    }

    internal void ReleaseBuffers()
    {
        Security?.Release();
        receiveBuffer.Release();
        sendBuffer.Release();
    }
}
