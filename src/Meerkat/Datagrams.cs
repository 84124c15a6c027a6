using System.Net;
using System.Net.Sockets;

namespace Meerkat;

/// <summary>
/// Datagram (UDP) sockets on the loop thread: reading a batch of datagrams, sending one to the
/// connected peer, to the last sender or to any endpoint, keeping datagrams while the socket would
/// block, and multicast membership.
/// </summary>
/// <remarks>
/// Rules: a UDP listener (a bound, unconnected socket) serves many peers, so a failure that one
/// peer or one destination caused (an ICMP error read back, an unreachable address) never fails
/// the listener: the read is skipped, the datagram is dropped and logged (<c>datagram-send-failed</c>).
/// An outbound UDP connection is connected to one peer, and an error on it fails the connection.
/// </remarks>
internal static class Datagrams
{
    private const int ReadBatch = 64;

    /// <summary>Reads up to a batch of datagrams, one <see cref="EventKind.Read"/> each.</summary>
    public static void Read(Manager manager, Connection connection, byte[] buffer)
    {
        for (int i = 0; i < ReadBatch; i++)
        {
            connection.DatagramPeer ??= new SocketAddress(connection.Socket!.AddressFamily);
            int n = Transport.ReceiveDatagram(connection.Socket!, buffer, connection.DatagramPeer, out var error);
            if (error == SocketError.WouldBlock) { connection.ReadReady = false; return; }
            if (error != SocketError.Success)
            {
                if (connection.Role == ConnectionRole.Listener) continue;
                manager.Fail(connection, Transport.Error("receive failed", error));
                return;
            }
            if (connection.Role == ConnectionRole.Listener) connection.RemoteEndPoint = Transport.ToEndPoint(connection.DatagramPeer);
            manager.Raise(connection, new Event(EventKind.Read, buffer.AsSpan(0, n)));
            if (connection.State >= ConnectionState.Closing) return;
        }
        manager.ScheduleRead(connection);
    }

    /// <summary>Sends one datagram: to <paramref name="to"/>, else (a listener) to the last sender,
    /// else (connected) to the peer. Kept for the write phase when the socket would block.</summary>
    public static bool Send(Manager manager, Connection connection, ReadOnlySpan<byte> data, SocketAddress? to)
    {
        if (connection.State is < ConnectionState.Connected or >= ConnectionState.Draining) return false;
        var peer = to ?? (connection.Role == ConnectionRole.Listener ? connection.DatagramPeer : null);
        if (connection.Role == ConnectionRole.Listener && peer is null) return false;
        if (connection.PendingDatagrams is not { Count: > 0 })
        {
            if (Transport.TrySendDatagram(connection, data, peer, out var error)) return true;
            if (error is not null)
            {
                Failed(manager, connection, error, peer);
                return false;
            }
        }
        // The socket would block: keep the datagram, with its destination, for the write phase.
        (connection.PendingDatagrams ??= new()).Enqueue((data.ToArray(), peer is null ? null : Transport.Copy(peer)));
        manager.ScheduleWrite(connection);
        return true;
    }

    /// <summary>Writes the datagrams kept while the socket would block, raising
    /// <see cref="EventKind.Write"/> for each.</summary>
    public static void Flush(Manager manager, Connection connection)
    {
        var queue = connection.PendingDatagrams;
        while (queue is { Count: > 0 })
        {
            var (data, peer) = queue.Peek();
            if (!Transport.TrySendDatagram(connection, data, peer, out var error))
            {
                if (error is null) { connection.WriteReady = false; return; }
                queue.Dequeue();
                if (!Failed(manager, connection, error, peer)) return;
                continue;
            }
            queue.Dequeue();
            manager.Raise(connection, new Event(EventKind.Write, count: data.Length));
            if (connection.State >= ConnectionState.Closing) return;
        }
    }

    /// <summary>The endpoint as the socket's family needs it: an IPv4 endpoint maps onto a
    /// dual-mode IPv6 socket. Throws, naming the mismatch, when the socket cannot reach it.</summary>
    public static SocketAddress Destination(Connection connection, IPEndPoint remote)
    {
        var socket = connection.Socket!;
        if (remote.AddressFamily == socket.AddressFamily) return remote.Serialize();
        if (socket.AddressFamily == AddressFamily.InterNetworkV6 && socket.DualMode)
            return new IPEndPoint(remote.Address.MapToIPv6(), remote.Port).Serialize();
        throw new ArgumentException(
            $"cannot send to {remote} from a socket bound to {connection.LocalEndPoint}: the address families differ " +
            "(listen on udp://[::]:PORT with ListenOptions.DualMode to reach both)", nameof(remote));
    }

    /// <summary>Joins (or leaves) a multicast group on one interface (0: the system's choice).</summary>
    public static void ChangeMembership(Connection connection, IPAddress group, int interfaceIndex, bool join)
    {
        RequireBoundDatagram(connection, join ? "JoinMulticastGroup" : "LeaveMulticastGroup");
        ArgumentNullException.ThrowIfNull(group);
        if (!IsMulticast(group)) throw new ArgumentException($"{group} is not a multicast address (224.0.0.0/4 or ff00::/8)", nameof(group));
        ArgumentOutOfRangeException.ThrowIfNegative(interfaceIndex);
        var socket = connection.Socket!;
        if (group.AddressFamily != socket.AddressFamily)
            throw new ArgumentException($"cannot join {group} on a socket bound to {connection.LocalEndPoint}: the address families differ", nameof(group));
        if (join) ReceiveOnlyJoinedGroups(socket);
        try
        {
            if (group.AddressFamily == AddressFamily.InterNetwork)
                socket.SetSocketOption(SocketOptionLevel.IP, join ? SocketOptionName.AddMembership : SocketOptionName.DropMembership, new MulticastOption(group, interfaceIndex));
            else
                socket.SetSocketOption(SocketOptionLevel.IPv6, join ? SocketOptionName.AddMembership : SocketOptionName.DropMembership, new IPv6MulticastOption(group, interfaceIndex));
        }
        catch (SocketException ex)
        {
            throw new MeerkatException($"{(join ? "joining" : "leaving")} multicast group {group} on interface {interfaceIndex} failed: {Transport.Describe(ex.SocketErrorCode)}", ex);
        }
    }

    /// <summary>Sets how multicast datagrams leave this socket.</summary>
    public static void SetMulticastSendOptions(Connection connection, int interfaceIndex, int hopLimit, bool loopback)
    {
        if (!connection.IsDatagram || connection.Socket is null || connection.State >= ConnectionState.Closing)
            throw new InvalidOperationException("SetMulticastSendOptions needs an open UDP socket: a udp:// listener, or a udp:// connection after its Connect event");
        ArgumentOutOfRangeException.ThrowIfNegative(interfaceIndex);
        ArgumentOutOfRangeException.ThrowIfNegative(hopLimit);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(hopLimit, 255);
        var socket = connection.Socket;
        var level = socket.AddressFamily == AddressFamily.InterNetwork ? SocketOptionLevel.IP : SocketOptionLevel.IPv6;
        try
        {
            // IPv4 takes the interface index in network byte order (the .NET convention); IPv6 in host order.
            socket.SetSocketOption(level, SocketOptionName.MulticastInterface,
                level == SocketOptionLevel.IP ? IPAddress.HostToNetworkOrder(interfaceIndex) : interfaceIndex);
            socket.SetSocketOption(level, SocketOptionName.MulticastTimeToLive, hopLimit);
            socket.SetSocketOption(level, SocketOptionName.MulticastLoopback, loopback);
        }
        catch (SocketException ex)
        {
            throw new MeerkatException($"setting the multicast interface {interfaceIndex} failed: {Transport.Describe(ex.SocketErrorCode)}", ex);
        }
    }

    /// <summary>Linux delivers a group's datagrams to every socket bound to the wildcard address and
    /// the port once any socket of the host joined the group (IP_MULTICAST_ALL defaults to 1). A
    /// socket that joins groups should receive those groups only: turn it off (best effort; kernels
    /// before 4.20 lack the IPv6 option).</summary>
    private static void ReceiveOnlyJoinedGroups(Socket socket)
    {
        if (!OperatingSystem.IsLinux()) return;
        const int IpProtoIp = 0, IpMulticastAll = 49, IpProtoIpv6 = 41, Ipv6MulticastAll = 29;
        bool v4 = socket.AddressFamily == AddressFamily.InterNetwork;
        try
        {
            socket.SetRawSocketOption(v4 ? IpProtoIp : IpProtoIpv6, v4 ? IpMulticastAll : Ipv6MulticastAll, BitConverter.GetBytes(0));
        }
        catch (SocketException)
        {
            // An older kernel: the socket keeps the system's default.
        }
    }

    private static void RequireBoundDatagram(Connection connection, string what)
    {
        if (!connection.IsDatagram || connection.Role != ConnectionRole.Listener)
            throw new InvalidOperationException($"{what} needs a UDP listener (Manager.Listen(\"udp://...\")): only a bound, unconnected socket receives a group's datagrams");
        if (connection.State >= ConnectionState.Closing) throw new InvalidOperationException($"{what} on a closed connection");
    }

    private static bool IsMulticast(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetworkV6 ? address.IsIPv6Multicast
        : address.AddressFamily == AddressFamily.InterNetwork && (address.GetAddressBytes()[0] & 0xF0) == 0xE0;

    /// <summary>A send failed. A listener drops the datagram and logs why (true: carry on); a
    /// connected socket fails (false).</summary>
    private static bool Failed(Manager manager, Connection connection, Exception error, SocketAddress? peer)
    {
        if (connection.Role != ConnectionRole.Listener)
        {
            manager.Fail(connection, error);
            return false;
        }
        if (manager.IsLogging(LogSeverity.Warning))
        {
            string where = peer is null ? "" : $" to {Transport.ToEndPoint(peer)}";
            manager.Log(LogSeverity.Warning, "datagram-send-failed", $"a datagram{where} was dropped: {error.Message}", error, connection.Id);
        }
        return true;
    }
}
