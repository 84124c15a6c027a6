using System.Net;
using System.Net.NetworkInformation;
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

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void SendTo_reaches_peers_that_never_wrote_and_Send_still_replies_to_the_last_sender(PollerBackend backend)
    {
        using var manager = Loop.Create(backend);
        var server = manager.Listen("udp://127.0.0.1:0", (c, e) => { if (e.Kind == EventKind.Read) c.Send("reply"u8); });
        using var a = Peer(IPAddress.Loopback);
        using var b = Peer(IPAddress.Loopback);
        Assert.True(server.SendTo((IPEndPoint)a.LocalEndPoint!, "to a"u8));
        Assert.True(server.SendTo((IPEndPoint)b.LocalEndPoint!, "to b"u8));
        Assert.Equal("to a", manager.Until(ReceiveAsync(a)));
        Assert.Equal("to b", manager.Until(ReceiveAsync(b)));
        a.SendTo("hello"u8, server.LocalEndPoint!);
        Assert.Equal("reply", manager.Until(ReceiveAsync(a)));
        Assert.Equal(a.LocalEndPoint, server.RemoteEndPoint);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void SendTo_from_a_dual_mode_ipv6_listener_reaches_an_ipv4_peer(PollerBackend backend)
    {
        using var manager = Loop.Create(backend);
        var server = manager.Listen("udp://[::]:0", null, new ListenOptions { DualMode = true });
        using var four = Peer(IPAddress.Loopback);
        using var six = Peer(IPAddress.IPv6Loopback);
        Assert.True(server.SendTo((IPEndPoint)four.LocalEndPoint!, "v4"u8));
        Assert.True(server.SendTo((IPEndPoint)six.LocalEndPoint!, "v6"u8));
        Assert.Equal("v4", manager.Until(ReceiveAsync(four)));
        Assert.Equal("v6", manager.Until(ReceiveAsync(six)));
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void SendTo_names_the_mistake_and_a_refused_destination_leaves_the_listener_open(PollerBackend backend)
    {
        var logged = new List<LogEntry>();
        using var manager = Loop.Create(backend, o => o.Log = (in LogEntry entry) => logged.Add(entry));
        var server = manager.Listen("udp://127.0.0.1:0", null);
        var v4only = Assert.Throws<ArgumentException>(() => server.SendTo(new IPEndPoint(IPAddress.IPv6Loopback, 9), "x"u8));
        Assert.Contains("address families differ", v4only.Message, StringComparison.Ordinal);
        var tcp = manager.Listen("tcp://127.0.0.1:0", null);
        Assert.Throws<InvalidOperationException>(() => tcp.SendTo(new IPEndPoint(IPAddress.Loopback, 9), "x"u8));

        // Linux refuses UDP port 0 at once (EINVAL): nothing is sent anywhere.
        Assert.False(server.SendTo(new IPEndPoint(IPAddress.Loopback, 0), "nowhere"u8));
        Assert.Equal(ConnectionState.Connected, server.State);
        Assert.Contains(logged, entry => entry.EventName == "datagram-send-failed" && entry.ConnectionId == server.Id);
        using var peer = Peer(IPAddress.Loopback);
        Assert.True(server.SendTo((IPEndPoint)peer.LocalEndPoint!, "still open"u8));
        Assert.Equal("still open", manager.Until(ReceiveAsync(peer)));

        server.Close();
        manager.Poll(0);
        Assert.False(server.SendTo((IPEndPoint)peer.LocalEndPoint!, "closed"u8));
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Multicast_ipv4_join_receive_and_leave_on_loopback(PollerBackend backend)
    {
        // lo has no MULTICAST flag here and no route for 224.0.0.0/4; naming lo as the interface for
        // both the membership and the sender is enough, and keeps every datagram on loopback.
        int lo = NetworkInterface.LoopbackInterfaceIndex;
        var group = IPAddress.Parse("239.255.77.1");
        var marker = IPAddress.Parse("239.255.77.2");
        RunMulticast(backend, "udp://0.0.0.0:0", "udp://127.0.0.1:0", group, marker, lo, hopLimit: 1, what: "IPv4 multicast on lo");
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Multicast_ipv6_join_receive_and_leave_on_this_host(PollerBackend backend)
    {
        // IPv6 multicast needs an interface that supports it; lo usually does not. Interface-local
        // groups (ff01::/16, RFC 4291 §2.7) "are useful only for loopback transmission of multicast":
        // the kernel delivers them to this host's members and never transmits them; the hop limit of
        // 0 says the same again.
        if (!Socket.OSSupportsIPv6) Assert.Skip("this machine has no IPv6");
        var nic = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.NetworkInterfaceType == NetworkInterfaceType.Loopback && n.SupportsMulticast && n.Supports(NetworkInterfaceComponent.IPv6))
            ?? NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.OperationalStatus == OperationalStatus.Up && n.SupportsMulticast && n.Supports(NetworkInterfaceComponent.IPv6));
        if (nic is null) Assert.Skip("no network interface here supports IPv6 multicast");
        int index = nic.GetIPProperties().GetIPv6Properties().Index;
        RunMulticast(backend, "udp://[::]:0", "udp://[::]:0", IPAddress.Parse("ff01::7e:1"), IPAddress.Parse("ff01::7e:2"), index, hopLimit: 0,
            what: $"IPv6 interface-local multicast on {nic.Name}");
    }

    /// <summary>A receiver joins two groups; a Meerkat sender and a plain socket send to the first;
    /// after leaving it, a datagram to it is followed by one to the second group (still joined),
    /// which must arrive alone.</summary>
    private static void RunMulticast(PollerBackend backend, string receiverUrl, string senderUrl, IPAddress group, IPAddress marker, int interfaceIndex, int hopLimit, string what)
    {
        using var manager = Loop.Create(backend);
        var received = new List<string>();
        var senders = new Dictionary<string, int>();
        var receiver = manager.Listen(receiverUrl, (c, e) =>
        {
            if (e.Kind != EventKind.Read) return;
            received.Add(Encoding.ASCII.GetString(e.Data));
            senders[received[^1]] = c.RemoteEndPoint!.Port;
        });
        int port = receiver.LocalEndPoint!.Port;
        receiver.JoinMulticastGroup(group, interfaceIndex);
        receiver.JoinMulticastGroup(marker, interfaceIndex);
        var sender = manager.Listen(senderUrl, null);
        sender.SetMulticastSendOptions(interfaceIndex, hopLimit, loopback: true);
        if (!sender.SendTo(new IPEndPoint(group, port), "from meerkat"u8))
        {
            string why = $"the kernel refused to send {what} (group {group}, interface {interfaceIndex})";
            if (Environment.GetEnvironmentVariable("CI") == "true" && OperatingSystem.IsLinux()) Assert.Fail(why);
            Assert.Skip(why);
        }
        manager.Until(() => received.Contains("from meerkat"), what: $"{what}: the datagram sent by Meerkat");

        using var plain = new Socket(group.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        var level = group.AddressFamily == AddressFamily.InterNetwork ? SocketOptionLevel.IP : SocketOptionLevel.IPv6;
        plain.SetSocketOption(level, SocketOptionName.MulticastInterface, level == SocketOptionLevel.IP ? IPAddress.HostToNetworkOrder(interfaceIndex) : interfaceIndex);
        plain.SetSocketOption(level, SocketOptionName.MulticastTimeToLive, hopLimit);
        plain.SendTo("from a socket"u8, new IPEndPoint(group, port));
        manager.Until(() => received.Contains("from a socket"), what: $"{what}: the datagram sent by a plain socket");
        Assert.Equal(sender.LocalEndPoint!.Port, senders["from meerkat"]);

        receiver.LeaveMulticastGroup(group, interfaceIndex);
        Assert.True(sender.SendTo(new IPEndPoint(group, port), "after leave"u8));
        Assert.True(sender.SendTo(new IPEndPoint(marker, port), "marker"u8));
        manager.Until(() => received.Contains("marker"), what: $"{what}: the datagram to the group still joined");
        Assert.DoesNotContain("after leave", received);

        var error = Assert.Throws<MeerkatException>(() => receiver.LeaveMulticastGroup(group, interfaceIndex));
        Assert.Contains(group.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => receiver.JoinMulticastGroup(group.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback));
    }

    [Fact]
    public void Multicast_membership_needs_a_udp_listener()
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        var tcp = manager.Listen("tcp://127.0.0.1:0", null);
        Assert.Throws<InvalidOperationException>(() => tcp.JoinMulticastGroup(IPAddress.Parse("239.255.77.1")));
        var udp = manager.Listen("udp://0.0.0.0:0", null);
        Assert.Throws<ArgumentException>(() => udp.JoinMulticastGroup(IPAddress.Parse("ff01::1")));
        var outbound = manager.Connect($"udp://127.0.0.1:{udp.LocalEndPoint!.Port}", null);
        Assert.Throws<InvalidOperationException>(() => outbound.JoinMulticastGroup(IPAddress.Parse("239.255.77.1")));
        Assert.Throws<InvalidOperationException>(() => outbound.SetMulticastSendOptions());
    }

    private static Socket Peer(IPAddress address)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(address, 0));
        return socket;
    }

    private static async Task<string> ReceiveAsync(Socket socket)
    {
        var buffer = new byte[2048];
        using var timeout = new CancellationTokenSource(Loop.Deadline);
        int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        return Encoding.ASCII.GetString(buffer, 0, n);
    }
}
