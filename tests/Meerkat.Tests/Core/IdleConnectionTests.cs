using System.Net;
using System.Net.Sockets;
using Meerkat.Http;

namespace Meerkat.Tests.Core;

/// <summary>An idle connection costs little: once its bytes are consumed and written, it holds
/// neither a receive nor a send buffer (they went back to the pool).</summary>
public class IdleConnectionTests
{
    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void An_echo_connection_between_messages_holds_no_buffer(PollerBackend backend)
    {
        using var manager = Loop.Create(backend);
        Connection? server = null;
        var listener = manager.Listen("tcp://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind == EventKind.Accept) server = c;
            if (e.Kind != EventKind.Read) return;
            c.Send(e.Data);
            c.Consume(e.Data.Length);
        });
        using var client = new TcpClient();
        client.Connect(IPAddress.Loopback, listener.LocalEndPoint!.Port);
        var stream = client.GetStream();
        for (int round = 0; round < 3; round++)
        {
            var message = new byte[40_000];
            Random.Shared.NextBytes(message);
            stream.Write(message);
            var echoed = new byte[message.Length];
            manager.Until(stream.ReadExactlyAsync(echoed).AsTask());
            Assert.Equal(message, echoed);
            manager.Until(() => server!.SendBufferedBytes == 0, what: "the echo to be written");
            manager.Poll(0);
            Assert.Equal((0, 0), (server!.ReceiveBuffer.Capacity, server.SendBuffer.Capacity));
        }
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public async Task A_kept_alive_http_connection_between_requests_holds_no_buffer(PollerBackend backend)
    {
        using var manager = Loop.Create(backend);
        Connection? server = null;
        var listener = manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind == EventKind.Accept) server = c;
            if (e.Kind == EventKind.HttpMessage) c.Reply(200, "Hello, World!"u8, "text/plain");
        });
        using var client = new HttpClient();
        for (int i = 0; i < 3; i++)
        {
            var response = manager.Until(client.GetStringAsync($"http://127.0.0.1:{listener.LocalEndPoint!.Port}/", TestContext.Current.CancellationToken));
            Assert.Equal("Hello, World!", response);
            manager.Until(() => server is { SendBufferedBytes: 0 }, what: "the response to be written");
            manager.Poll(0);
            Assert.Equal((0, 0), (server!.ReceiveBuffer.Capacity, server.SendBuffer.Capacity));
        }
        await Task.CompletedTask;
    }
}
