using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Meerkat.Tests.Core;

/// <summary>
/// A loopback address and port that never answers a connection attempt: a listener with a
/// backlog of 0 whose one-place accept queue is already taken by a connection nobody accepts.
/// </summary>
/// <remarks>
/// Linux drops a SYN that arrives at a listener whose accept queue is full (with the default
/// <c>net.ipv4.tcp_abort_on_overflow = 0</c>): the client stays in SYN_SENT and retransmits, as
/// towards a host whose packets vanish, yet nothing leaves loopback. The alternatives were worse:
/// a seam in the connector that fakes a pending connect would not test the real socket path, an
/// iptables DROP rule needs privileges and changes the machine, an unroutable address sends
/// packets off the machine, and a loopback port with no listener answers with a reset at once
/// (that is the "refused" case, tested separately). The hole checks that a probe really stays
/// pending, and <see cref="PendingAttempts"/> reads the kernel's socket table (<c>/proc/net/tcp*</c>),
/// so tests can see that the connector closed its losing attempts.
/// </remarks>
internal sealed class BlackHole : IDisposable
{
    private const string SynSent = "02";
    private readonly Socket listener;
    private readonly Socket filler;

    private BlackHole(Socket listener, Socket filler, IPEndPoint endPoint)
    {
        this.listener = listener;
        this.filler = filler;
        EndPoint = endPoint;
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>Opens a hole on <paramref name="address"/>:<paramref name="port"/>, or returns null
    /// when that port is taken there. Skips the test (fails it under CI on Linux) when the kernel
    /// answers the attempt after all.</summary>
    public static BlackHole? TryOpen(IPAddress address, int port)
    {
        if (!OperatingSystem.IsLinux()) Assert.Skip("the never-answering loopback address relies on Linux dropping SYNs to a full accept queue");
        var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(address, port));
        }
        catch (SocketException)
        {
            listener.Dispose();
            return null;
        }
        listener.Listen(0);
        var endPoint = (IPEndPoint)listener.LocalEndPoint!;
        var filler = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        filler.Connect(endPoint);
        var hole = new BlackHole(listener, filler, endPoint);
        using var probe = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
        try
        {
            probe.Connect(endPoint);
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
        {
        }
        // Bounded wait for something that must not happen: the probe connecting.
        bool answered = probe.Poll(TimeSpan.FromMilliseconds(300), SelectMode.SelectWrite) || probe.Poll(0, SelectMode.SelectError);
        int pending = hole.PendingAttempts();
        if (answered || pending != 1)
        {
            hole.Dispose();
            string why = $"the kernel answered a connection attempt to a full accept queue at {endPoint} (answered {answered}, SYN_SENT {pending})";
            if (Environment.GetEnvironmentVariable("CI") == "true") Assert.Fail(why);
            Assert.Skip(why);
        }
        return hole;
    }

    /// <summary>Sockets of this machine in SYN_SENT towards the hole: connection attempts still pending.</summary>
    public int PendingAttempts()
    {
        string table = EndPoint.AddressFamily == AddressFamily.InterNetworkV6 ? "/proc/net/tcp6" : "/proc/net/tcp";
        string remote = Hex(EndPoint);
        int count = 0;
        foreach (var line in File.ReadLines(table).Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 3 && fields[2] == remote && fields[3] == SynSent) count++;
        }
        return count;
    }

    public void Dispose()
    {
        filler.Dispose();
        listener.Dispose();
    }

    /// <summary>An endpoint as /proc/net/tcp* writes it: the address as 32-bit words in host
    /// (little-endian) order, then the port, in upper-case hex.</summary>
    private static string Hex(IPEndPoint endPoint)
    {
        var bytes = endPoint.Address.GetAddressBytes();
        var text = new System.Text.StringBuilder();
        for (int word = 0; word < bytes.Length; word += 4)
            for (int i = 3; i >= 0; i--) text.Append(bytes[word + i].ToString("X2", CultureInfo.InvariantCulture));
        return $"{text}:{endPoint.Port.ToString("X4", CultureInfo.InvariantCulture)}";
    }
}
