using System.Text;
using Meerkat.Http;
using Meerkat.Testing;
using Meerkat.WebSockets;

namespace Meerkat.Tests.Testing;

/// <summary>The ordinary API on the virtual network: the same calls, no socket, virtual time.</summary>
public sealed class VirtualNetworkTests
{
    [Fact]
    public void TcpEchoRunsOverNamedHosts()
    {
        using var h = new VirtualHarness();
        var listener = h.Server.Listen("tcp://server.test:7", (c, e) =>
        {
            if (e.Kind == EventKind.Read) c.Send(e.Data);
        });
        var received = new MemoryStream();
        var kinds = new List<EventKind>();
        var client = h.Client.Connect("tcp://server.test:7", (c, e) =>
        {
            kinds.Add(e.Kind);
            if (e.Kind == EventKind.Connect) c.Send("hello, virtual world"u8);
            if (e.Kind == EventKind.Read) received.Write(e.Data);
        });
        h.RunUntil(() => received.Length == 20, "the echo");
        Assert.Equal("hello, virtual world", Encoding.UTF8.GetString(received.ToArray()));
        Assert.Equal([EventKind.Open, EventKind.Resolve, EventKind.Connect], kinds.Where(k => k is EventKind.Open or EventKind.Resolve or EventKind.Connect));
        Assert.Equal(PollerBackend.Virtual, h.Client.Backend);
        Assert.Equal(7, client.RemoteEndPoint!.Port);
        Assert.Equal(listener.LocalEndPoint, client.RemoteEndPoint);
        Assert.Equal(TimeSpan.Zero, h.Network.Elapsed); // nothing waited: no latency configured
    }

    [Fact]
    public void HttpRequestAndResponseRunUnchanged()
    {
        using var h = new VirtualHarness();
        h.Server.ListenHttp("http://server.test:80", (c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage) c.Reply(200, "path " + e.Request!.PathString);
        }, h.ServerOptions());
        var record = h.Get("/hello");
        h.RunUntil(() => record.Done == 1, "the response");
        Assert.Equal(200, record.Status);
        Assert.Equal("path /hello", record.Text);
        Assert.Equal(HttpOutcome.Completed, record.Outcome);
    }

    [Fact]
    public void WebSocketEchoRunsUnchanged()
    {
        using var h = new VirtualHarness();
        h.Server.ListenHttp("http://server.test:80", (c, e) =>
        {
            if (e.Kind == EventKind.HttpHeaders && e.Request!.PathIs("/ws"u8)) c.UpgradeToWebSocket();
            else if (e.Kind == EventKind.WsMessage) c.SendMessage(e.WebSocket!.MessageKind, e.Data);
        }, h.ServerOptions());
        var echoed = new List<string>();
        h.Client.ConnectWebSocket("ws://server.test/ws", (c, e) =>
        {
            if (e.Kind == EventKind.WsOpen) { c.SendText("one"); c.SendText("two"); }
            if (e.WebSocketText is { } text) echoed.Add(text);
        });
        h.RunUntil(() => echoed.Count == 2, "two echoes");
        Assert.Equal(["one", "two"], echoed);
    }

    [Fact]
    public void TimersRunOnVirtualTimeInNoWallTime()
    {
        using var h = new VirtualHarness();
        int fired = 0;
        h.Server.AddTimer(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1), _ => fired++);
        var wall = System.Diagnostics.Stopwatch.StartNew();
        h.Network.RunFor(TimeSpan.FromHours(1));
        Assert.Equal(60, fired);
        Assert.Equal(TimeSpan.FromHours(1), h.Network.Elapsed);
        Assert.True(h.Server.Time >= TimeSpan.FromHours(1));
        Assert.True(wall.Elapsed < TimeSpan.FromSeconds(10), $"an hour of virtual time took {wall.Elapsed}");
    }

    [Fact]
    public void ListeningTwiceOnOneAddressFails()
    {
        using var h = new VirtualHarness();
        h.Server.Listen("tcp://server.test:80", null);
        var ex = Assert.Throws<System.Net.Sockets.SocketException>(() => h.Server.Listen("tcp://server.test:80", null));
        Assert.Equal(System.Net.Sockets.SocketError.AddressAlreadyInUse, ex.SocketErrorCode);
    }

    [Fact]
    public void DatagramsAreRefusedWithAClearError()
    {
        using var h = new VirtualHarness();
        var ex = Assert.Throws<NotSupportedException>(() => h.Server.Listen("udp://server.test:53", null));
        Assert.Contains("TCP only", ex.Message);
    }

    [Fact]
    public void ChoosingTheVirtualBackendDirectlyIsAnError()
    {
        var ex = Assert.Throws<ArgumentException>(() => new Manager(new ManagerOptions { Backend = PollerBackend.Virtual }));
        Assert.Contains("Meerkat.Testing", ex.Message);
    }
}
