using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Meerkat.Polling;

namespace Meerkat;

/// <summary>
/// The socket calls of the loop, all non-blocking and made directly on the loop thread: none
/// goes through the thread pool. Would-block comes back as <see cref="SocketError.WouldBlock"/>
/// or null, never as an exception thrown across the loop.
/// </summary>
internal static class Transport
{
    private const int SolSocketLinux = 1;
    private const int SoReuseAddrLinux = 2;
    private const int SoReusePortLinux = 15;
    private const int SolSocketBsd = 0xffff;
    private const int SoReuseAddrBsd = 0x0004;

    /// <summary>
    /// Sets up a listener before its bind. A TCP listener takes plain SO_REUSEADDR, set as a raw
    /// option, so that it can bind again over connections left in TIME_WAIT (.NET sets it at bind
    /// on Unix anyway; this says so). Never .NET's <see cref="SocketOptionName.ReuseAddress"/>:
    /// on Unix that sets SO_REUSEPORT too, which let a second listener (any local process) bind the
    /// same port and take a share of its connections. So a busy port fails with "address already
    /// in use", and SO_REUSEPORT is set only when asked for (<see cref="ListenOptions.ReusePort"/>).
    /// A UDP listener gets neither: for datagrams SO_REUSEADDR itself shares the port.
    /// </summary>
    public static void ConfigureListener(Socket socket, ListenOptions options, bool datagram)
    {
        if (!datagram) AllowRebindOverTimeWait(socket);
        if (options.ReusePort && OperatingSystem.IsLinux()) socket.SetRawSocketOption(SolSocketLinux, SoReusePortLinux, BitConverter.GetBytes(1));
        if (socket.AddressFamily == AddressFamily.InterNetworkV6) socket.DualMode = options.DualMode;
        if (!datagram) socket.NoDelay = true;
    }

    /// <summary>Binds <paramref name="endPoint"/> without SO_REUSEPORT and lets it go again: throws
    /// "address already in use" when another listener holds the port, and returns the port (the
    /// one picked for port 0) for listeners that share it through SO_REUSEPORT to bind next.</summary>
    public static int ClaimPort(IPEndPoint endPoint)
    {
        using var probe = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        AllowRebindOverTimeWait(probe);
        probe.Bind(endPoint);
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private static void AllowRebindOverTimeWait(Socket socket)
    {
        if (OperatingSystem.IsLinux()) socket.SetRawSocketOption(SolSocketLinux, SoReuseAddrLinux, BitConverter.GetBytes(1));
        else if (OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD()) socket.SetRawSocketOption(SolSocketBsd, SoReuseAddrBsd, BitConverter.GetBytes(1));
        // Windows rebinds over TIME_WAIT without it, and its SO_REUSEADDR would allow port theft.
    }

    /// <summary>Accepts one pending connection with accept4 (Linux, the epoll backend): its descriptor,
    /// non-blocking and with TCP_NODELAY, and the peer's address; -1 when none is pending.</summary>
    /// <remarks>No .NET <see cref="Socket"/> is made for it: the loop reads, writes, shuts down and
    /// closes the descriptor itself, so an idle connection holds none of the socket's objects (the
    /// socket, its safe handle, its cached end points, and the async context non-blocking mode
    /// creates: about 400 bytes).</remarks>
    public static unsafe int AcceptDescriptor(Socket listener, out IPEndPoint? remote)
    {
        byte* address = stackalloc byte[SocketAddressCapacity];
        int length = SocketAddressCapacity;
        int fd = Libc.accept4((int)listener.Handle, address, &length, Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC);
        remote = null;
        if (fd < 0) return -1;
        remote = ToEndPoint(new ReadOnlySpan<byte>(address, Math.Min(length, SocketAddressCapacity)));
        int one = 1;
        Libc.setsockopt(fd, Libc.IPPROTO_TCP, Libc.TCP_NODELAY, (byte*)&one, sizeof(int));
        return fd;
    }

    /// <summary>Accepts one pending connection, or returns null when none is pending (the portable backend).</summary>
    public static Socket? Accept(Socket listener)
    {
        if (!listener.Poll(0, SelectMode.SelectRead)) return null;
        try
        {
            return Prepare(listener.Accept());
        }
        catch (SocketException)
        {
            return null;
        }
    }

    /// <summary>The local address of a socket <paramref name="listener"/> accepted: the listener's own
    /// end point when it is bound to one address (every connection then shares that object, and no
    /// getsockname is made), else the address the socket was given.</summary>
    public static IPEndPoint? AcceptedLocalEndPoint(Connection listener, Socket accepted) =>
        IsBoundToOneAddress(listener) ? listener.LocalEndPoint : (IPEndPoint?)accepted.LocalEndPoint;

    /// <inheritdoc cref="AcceptedLocalEndPoint(Connection, Socket)"/>
    public static unsafe IPEndPoint? AcceptedLocalEndPoint(Connection listener, int descriptor)
    {
        if (IsBoundToOneAddress(listener)) return listener.LocalEndPoint;
        byte* address = stackalloc byte[SocketAddressCapacity];
        int length = SocketAddressCapacity;
        return Libc.getsockname(descriptor, address, &length) == 0 ? ToEndPoint(new ReadOnlySpan<byte>(address, Math.Min(length, SocketAddressCapacity))) : null;
    }

    private static bool IsBoundToOneAddress(Connection listener) =>
        listener.LocalEndPoint is { } bound && !bound.Address.Equals(IPAddress.Any) && !bound.Address.Equals(IPAddress.IPv6Any);

    /// <summary>Room for a <c>sockaddr_in6</c> (28 bytes) and then some.</summary>
    private const int SocketAddressCapacity = 64;

    /// <summary>An IPv4 or IPv6 <c>sockaddr</c> (Linux layout) as an end point; null for other families.</summary>
    private static IPEndPoint? ToEndPoint(ReadOnlySpan<byte> address)
    {
        if (address.Length < 4) return null;
        int family = BinaryPrimitives.ReadUInt16LittleEndian(address);
        int port = BinaryPrimitives.ReadUInt16BigEndian(address[2..]);
        if (family == Libc.AF_INET && address.Length >= 8) return new IPEndPoint(new IPAddress(address.Slice(4, 4)), port);
        if (family == Libc.AF_INET6 && address.Length >= 28)
            return new IPEndPoint(new IPAddress(address.Slice(8, 16), BinaryPrimitives.ReadUInt32LittleEndian(address[24..])), port);
        return null;
    }

    /// <summary>The descriptor the loop reads, writes and registers for the connection.</summary>
    public static int DescriptorOf(Connection connection) =>
        connection.Descriptor >= 0 ? connection.Descriptor : (int)connection.Socket!.Handle;

    /// <summary>Closes the connection's socket: its .NET <see cref="Socket"/>, or its bare descriptor.</summary>
    public static void Close(Connection connection)
    {
        connection.Socket?.Dispose();
        CloseDescriptor(connection.Descriptor);
        connection.Descriptor = -1;
    }

    /// <summary>Closes a bare descriptor; nothing for -1.</summary>
    public static void CloseDescriptor(int descriptor)
    {
        if (descriptor >= 0 && OperatingSystem.IsLinux()) Libc.close(descriptor);
    }

    /// <summary>Starts a non-blocking connect. Returns the socket (completed says whether it is
    /// connected already), or null with the failure.</summary>
    public static Socket? BeginConnect(IPEndPoint endPoint, bool datagram, out bool completed, out Exception? failure)
    {
        var socket = datagram
            ? new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp)
            : new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        socket.Blocking = false;
        if (!datagram) socket.NoDelay = true;
        failure = null;
        completed = false;
        try
        {
            socket.Connect(endPoint);
            completed = true;
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress or SocketError.AlreadyInProgress)
        {
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            failure = Error($"connect to {endPoint} failed", ex.SocketErrorCode);
            return null;
        }
        return socket;
    }

    /// <summary>The outcome of a non-blocking connect, read from SO_ERROR.</summary>
    public static SocketError ConnectResult(Socket socket)
    {
        int code = (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
        if (code == 0) return SocketError.Success;
        // .NET translates SO_ERROR to a SocketError on most platforms; map a raw errno otherwise.
        return code >= 10000 ? (SocketError)code : FromErrno(code);
    }

    /// <summary>Reads what the socket has into <paramref name="buffer"/>: the count (0 at the end of the
    /// stream), or 0 with <see cref="SocketError.WouldBlock"/> or the failure. On Linux the descriptor
    /// (non-blocking, as every stream socket of the loop is) is read directly.</summary>
    public static unsafe int Receive(Connection connection, Span<byte> buffer, out SocketError error)
    {
        if (!OperatingSystem.IsLinux()) return connection.Socket!.Receive(buffer, SocketFlags.None, out error);
        int fd = DescriptorOf(connection);
        fixed (byte* start = buffer)
        {
            while (true)
            {
                nint n = Libc.recv(fd, start, buffer.Length, 0);
                if (n >= 0)
                {
                    error = SocketError.Success;
                    return (int)n;
                }
                if (LastError(out error)) return 0;
            }
        }
    }

    /// <summary>Writes as much of <paramref name="data"/> as the socket takes: the count, or 0 with
    /// <see cref="SocketError.WouldBlock"/> or the failure. On Linux the descriptor is written directly
    /// (MSG_NOSIGNAL: a peer that is gone is an error, never a SIGPIPE).</summary>
    public static unsafe int Send(Connection connection, ReadOnlySpan<byte> data, out SocketError error)
    {
        if (!OperatingSystem.IsLinux()) return connection.Socket!.Send(data, SocketFlags.None, out error);
        int fd = DescriptorOf(connection);
        fixed (byte* start = data)
        {
            while (true)
            {
                nint n = Libc.send(fd, start, data.Length, Libc.MSG_NOSIGNAL);
                if (n >= 0)
                {
                    error = SocketError.Success;
                    return (int)n;
                }
                if (LastError(out error)) return 0;
            }
        }
    }

    /// <summary>An errno (a negative io_uring result, negated) as a SocketError.</summary>
    public static SocketError ErrorOf(int errno) => errno == Libc.EAGAIN ? SocketError.WouldBlock : FromErrno(errno);

    /// <summary>The failed call's errno as a SocketError; false when it was interrupted (call again).</summary>
    private static bool LastError(out SocketError error)
    {
        int errno = Marshal.GetLastPInvokeError();
        error = ErrorOf(errno);
        return errno != Libc.EINTR;
    }

    /// <summary>Half-closes the connection (FIN after what was written); errors are ignored: the close follows.</summary>
    public static void ShutdownSend(Connection connection)
    {
        if (connection.Descriptor >= 0)
        {
            if (OperatingSystem.IsLinux()) Libc.shutdown(connection.Descriptor, Libc.SHUT_WR);
            return;
        }
        ShutdownSend(connection.Socket!);
    }

    public static void ShutdownSend(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            // The peer is gone already; the close that follows is all that is left to do.
        }
    }

    public static int ReceiveDatagram(Socket socket, byte[] buffer, SocketAddress peer, out SocketError error)
    {
        try
        {
            error = SocketError.Success;
            return socket.ReceiveFrom(buffer, SocketFlags.None, peer);
        }
        catch (SocketException ex)
        {
            error = ex.SocketErrorCode;
            return 0;
        }
    }

    /// <summary>Sends one datagram; false with a null error when the socket would block.</summary>
    public static bool TrySendDatagram(Connection connection, ReadOnlySpan<byte> data, SocketAddress? peer, out Exception? error)
    {
        error = null;
        try
        {
            if (peer is null) connection.Socket!.Send(data);
            else connection.Socket!.SendTo(data, SocketFlags.None, peer);
            return true;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.WouldBlock)
        {
            return false;
        }
        catch (SocketException ex)
        {
            error = Error("send failed", ex.SocketErrorCode);
            return false;
        }
    }

    public static SocketAddress Copy(SocketAddress address)
    {
        var copy = new SocketAddress(address.Family, address.Size);
        address.Buffer.Span.CopyTo(copy.Buffer.Span);
        return copy;
    }

    public static IPEndPoint ToEndPoint(SocketAddress address) =>
        (IPEndPoint)new IPEndPoint(address.Family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0).Create(address);

    public static MeerkatException Error(string what, SocketError error) =>
        new($"{what}: {Describe(error)}", new SocketException((int)error));

    /// <summary>A socket error in words, for messages ("connection refused").</summary>
    public static string Describe(SocketError error) => error switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.ConnectionReset => "connection reset by peer",
        SocketError.TimedOut => "timed out",
        SocketError.HostUnreachable => "host unreachable",
        SocketError.NetworkUnreachable => "network unreachable",
        SocketError.Shutdown => "the connection was shut down",
        _ => error.ToString(),
    };

    public static Socket Prepare(Socket socket)
    {
        socket.Blocking = false;
        socket.NoDelay = true;
        return socket;
    }

    /// <summary>Linux errno values a connect, a read or a write can end with.</summary>
    private static SocketError FromErrno(int errno) => errno switch
    {
        111 => SocketError.ConnectionRefused,
        104 => SocketError.ConnectionReset,
        32 => SocketError.Shutdown, // EPIPE: written after the peer or we shut the stream down
        103 => SocketError.ConnectionAborted,
        107 => SocketError.NotConnected,
        105 or 12 => SocketError.NoBufferSpaceAvailable, // ENOBUFS, ENOMEM
        110 => SocketError.TimedOut,
        113 => SocketError.HostUnreachable,
        101 => SocketError.NetworkUnreachable,
        61 when OperatingSystem.IsMacOS() => SocketError.ConnectionRefused,
        _ => SocketError.SocketError,
    };
}
