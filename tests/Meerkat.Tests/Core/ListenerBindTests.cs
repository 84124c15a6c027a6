using System.Net;
using System.Net.Sockets;

namespace Meerkat.Tests.Core;

/// <summary>
/// Binding a port that a listener holds fails ("address already in use") instead of silently
/// sharing it, unless every listener on it asked for <see cref="ListenOptions.ReusePort"/>; a port
/// whose old connections linger in TIME_WAIT can still be bound again.
/// </summary>
public class ListenerBindTests
{
    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_second_listener_on_a_busy_port_fails_and_the_first_keeps_every_connection(PollerBackend backend)
    {
        using var first = Loop.Create(backend);
        using var second = Loop.Create(backend);
        int accepted = 0;
        var listener = first.Listen("tcp://127.0.0.1:0", (c, e) => { if (e.Kind == EventKind.Accept) accepted++; });
        int port = listener.LocalEndPoint!.Port;

        var refused = Assert.Throws<SocketException>(() => second.Listen($"tcp://127.0.0.1:{port}", null));
        Assert.Equal(SocketError.AddressAlreadyInUse, refused.SocketErrorCode);
        // Another program binding with .NET's ReuseAddress (SO_REUSEADDR and SO_REUSEPORT on Linux) fails too.
        using (var thief = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            thief.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            Assert.Equal(SocketError.AddressAlreadyInUse, Assert.Throws<SocketException>(() => thief.Bind(new IPEndPoint(IPAddress.Loopback, port))).SocketErrorCode);
        }

        const int Connections = 20;
        var clients = new List<TcpClient>();
        try
        {
            for (int i = 0; i < Connections; i++)
            {
                var client = new TcpClient();
                clients.Add(client);
                first.Until(client.ConnectAsync(IPAddress.Loopback, port));
            }
            first.Until(() => accepted == Connections, what: "every connection to reach the first listener");
            second.Poll(0);
        }
        finally
        {
            foreach (var client in clients) client.Dispose();
        }
    }

    [Fact]
    public void Listeners_that_all_ask_for_ReusePort_share_the_port()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "SO_REUSEPORT port sharing is Linux-only here");
        using var manager = Loop.Create(PollerBackend.Auto);
        var options = new ListenOptions { ReusePort = true };
        var one = manager.Listen("tcp://127.0.0.1:0", null, options);
        int port = one.LocalEndPoint!.Port;
        var two = manager.Listen($"tcp://127.0.0.1:{port}", null, options);
        Assert.Equal(port, two.LocalEndPoint!.Port);
        Assert.Throws<SocketException>(() => manager.Listen($"tcp://127.0.0.1:{port}", null));
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_port_can_be_bound_again_while_its_closed_connections_wait_in_TIME_WAIT(PollerBackend backend)
    {
        using var manager = Loop.Create(backend);
        // The server closes first, so its side of the connection (on the listening port) enters TIME_WAIT.
        var listener = manager.Listen("tcp://127.0.0.1:0", (c, e) => { if (e.Kind == EventKind.Accept) c.Close(); });
        int port = listener.LocalEndPoint!.Port;
        var client = manager.Connect($"tcp://127.0.0.1:{port}", null);
        manager.Until(() => client.State == ConnectionState.Closed, what: "the server to close the connection");
        listener.Close();
        manager.Until(() => listener.State == ConnectionState.Closed, what: "the listener to close");

        var again = manager.Listen($"tcp://127.0.0.1:{port}", null);
        Assert.Equal(port, again.LocalEndPoint!.Port);
    }
}
