using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Meerkat.Tests.Core;

public class DatagramTests
{
    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Udp_echo_keeps_datagram_boundaries_and_replies_to_the_sender(PollerBackend backend)
    {
        var log = new EventLog();
        using var manager = Loop.Create(backend);
        log.Next = (c, e) =>
        {
            if (e.Kind == EventKind.Read && c.Role == ConnectionRole.Listener) Assert.True(c.Send(e.Data));
        };
        var server = manager.Listen("udp://127.0.0.1:0", log.Handler);
        var replies = new List<string>();
        var client = manager.Connect($"udp://127.0.0.1:{server.LocalEndPoint!.Port}", (c, e) =>
        {
            log.Record(c, e);
            if (e.Kind == EventKind.Connect)
                foreach (var word in new[] { "one", "", "three" }) Assert.True(c.Send(Encoding.ASCII.GetBytes(word)));
            if (e.Kind == EventKind.Read) replies.Add(Encoding.ASCII.GetString(e.Data));
        });
        manager.Until(() => replies.Count == 3, what: "three echoed datagrams");
        Assert.Equal(["one", "", "three"], replies);
        Assert.Equal(client.LocalEndPoint!.Port, server.RemoteEndPoint!.Port);
        client.Close();
        server.Close();
        manager.Poll(0);
        log.AssertBalanced();
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Udp_listener_on_ipv6_receives_from_a_plain_socket(PollerBackend backend)
    {
        using var manager = Loop.Create(backend);
        string? got = null;
        var server = manager.Listen("udp://[::1]:0", (c, e) => { if (e.Kind == EventKind.Read) got = Encoding.ASCII.GetString(e.Data); });
        using var peer = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
        peer.SendTo("ping"u8, new IPEndPoint(IPAddress.IPv6Loopback, server.LocalEndPoint!.Port));
        manager.Until(() => got is not null, what: "the datagram");
        Assert.Equal("ping", got);
        Assert.Equal(IPAddress.IPv6Loopback, server.RemoteEndPoint!.Address);
    }
}
