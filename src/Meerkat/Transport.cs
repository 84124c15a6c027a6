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

    /// <summary>Accepts one pending connection, or returns null when none is pending.</summary>
    /// <remarks>With accept4 the descriptor is non-blocking from the start, and the socket's
    /// <see cref="Socket.Blocking"/> is left alone: setting it would give each connection the .NET
    /// socket's async machinery (about 220 bytes that an idle connection would keep for nothing), and
    /// the loop reads and writes the descriptor itself (<see cref="Receive"/>, <see cref="Send"/>).</remarks>
    public static unsafe Socket? Accept(Socket listener, bool useAccept4)
    {
        if (useAccept4 && OperatingSystem.IsLinux())
        {
            int fd = Libc.accept4((int)listener.Handle, null, null, Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC);
            if (fd < 0) return null;
            var accepted = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
            accepted.NoDelay = true;
            return accepted;
        }
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
        listener.LocalEndPoint is { } bound && !bound.Address.Equals(IPAddress.Any) && !bound.Address.Equals(IPAddress.IPv6Any)
            ? bound
            : (IPEndPoint?)accepted.LocalEndPoint;

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
    public static unsafe int Receive(Socket socket, Span<byte> buffer, out SocketError error)
    {
        if (!OperatingSystem.IsLinux()) return socket.Receive(buffer, SocketFlags.None, out error);
        fixed (byte* start = buffer)
        {
            while (true)
            {
                nint n = Libc.recv((int)socket.Handle, start, buffer.Length, 0);
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
    public static unsafe int Send(Socket socket, ReadOnlySpan<byte> data, out SocketError error)
    {
        if (!OperatingSystem.IsLinux()) return socket.Send(data, SocketFlags.None, out error);
        fixed (byte* start = data)
        {
            while (true)
            {
                nint n = Libc.send((int)socket.Handle, start, data.Length, Libc.MSG_NOSIGNAL);
                if (n >= 0)
                {
                    error = SocketError.Success;
                    return (int)n;
                }
                if (LastError(out error)) return 0;
            }
        }
    }

    /// <summary>The failed call's errno as a SocketError; false when it was interrupted (call again).</summary>
    private static bool LastError(out SocketError error)
    {
        int errno = Marshal.GetLastPInvokeError();
        error = errno == Libc.EAGAIN ? SocketError.WouldBlock : FromErrno(errno);
        return errno != Libc.EINTR;
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
