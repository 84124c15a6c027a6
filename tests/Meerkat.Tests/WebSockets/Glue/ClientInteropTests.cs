using System.Net.WebSockets;
using System.Text;
using Meerkat.Http;
using Meerkat.Tests.Core;
using Meerkat.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using DotNetMessageType = System.Net.WebSockets.WebSocketMessageType;
using EventLog = Meerkat.Tests.Core.EventLog;

namespace Meerkat.Tests.WebSockets.Glue;

/// <summary>The Meerkat WebSocket client against servers nobody here wrote: Kestrel in-process,
/// Python's websockets and Node's ws, with and without permessage-deflate.</summary>
public class ClientInteropTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Echo_matrix_against_Kestrel(bool deflate)
    {
        await using var kestrel = await StartKestrel(deflate);
        RunClientScenario(kestrel.Url, deflate, expectServerClose: true);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Echo_matrix_against_Python_websockets(bool deflate)
    {
        string python = WsTestKit.PythonWithWebsockets();
        using var peer = new PeerProcess(python, ["-c", PythonServer, deflate ? "deflate" : "none"]);
        string port = await peer.FirstLine.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(int.TryParse(port, out _), peer.Output + peer.Errors);
        RunClientScenario($"ws://127.0.0.1:{port}/ws", deflate, expectServerClose: true);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Echo_matrix_against_Node_ws(bool deflate)
    {
        var (node, modules) = WsTestKit.NodeWithWs();
        using var peer = new PeerProcess(node, ["-e", NodeServer, deflate ? "deflate" : "none"], new Dictionary<string, string> { ["NODE_PATH"] = modules });
        string port = await peer.FirstLine.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(int.TryParse(port, out _), peer.Output + peer.Errors);
        RunClientScenario($"ws://127.0.0.1:{port}/ws", deflate, expectServerClose: true);
    }

    [Fact]
    public void A_server_that_answers_without_101_fails_the_client_with_the_reason()
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        var log = new EventLog();
        var listener = manager.ListenHttp("http://127.0.0.1:0", (c, e) => { if (e.Kind == EventKind.HttpMessage) c.Reply(404, "nope"); });
        var client = manager.ConnectWebSocket($"ws://127.0.0.1:{listener.LocalEndPoint!.Port}/missing", log.Handler);
        manager.Until(() => log.Of(client).Contains(EventKind.Close));
        Assert.Equal([EventKind.Open, EventKind.Resolve, EventKind.Connect, EventKind.Write, EventKind.Error, EventKind.Close], log.Of(client).Where(k => k != EventKind.Read));
        var error = Assert.IsType<WebSocketHandshakeException>(Assert.Single(log.Errors));
        Assert.Contains("404, not 101", error.Message);
        log.AssertBalanced();
    }

    /// <summary>Drives the Meerkat client through the matrix against an echo server at <paramref name="url"/>;
    /// the loop runs on the test thread, so sends happen between polls.</summary>
    private static void RunClientScenario(string url, bool deflate, bool expectServerClose)
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        var log = new EventLog();
        var recorder = new WsRecorder();
        log.Next = recorder.Observe;
        var options = new WebSocketClientOptions
        {
            Deflate = deflate ? new PerMessageDeflateOptions() : null,
            Headers = [new("X-Test", "matrix")],
        };
        var client = manager.ConnectWebSocket(url, log.Handler, options);
        manager.Until(() => recorder.Opens == 1 || recorder.IsClosed, what: "WsOpen");
        Assert.Empty(log.Errors);
        Assert.Equal(deflate, client.WebSocketDeflate is not null);

        int expected = 0;
        int seed = 100;
        foreach (int length in WsTestKit.Lengths)
        {
            var payload = WsTestKit.RandomBytes(length, seed++);
            Assert.True(client.SendBinary(payload));
            manager.Until(() => recorder.Messages.Count > expected, what: $"the echo of {length} bytes");
            var (kind, data) = recorder.Messages[expected++];
            Assert.Equal(WebSocketMessageKind.Binary, kind);
            Assert.True(payload.AsSpan().SequenceEqual(data), $"echo of {length} bytes differs");
        }

        string text = WsTestKit.LongText(50);
        Assert.True(client.SendText(text));
        manager.Until(() => recorder.Messages.Count > expected);
        Assert.Equal((WebSocketMessageKind.Text, text), (recorder.Messages[expected].Kind, Encoding.UTF8.GetString(recorder.Messages[expected].Data)));
        expected++;

        // Fragments cut inside a character, with pings between them (RFC 6455 §5.4).
        var bytes = Encoding.UTF8.GetBytes(WsTestKit.Utf8Text);
        int cut = Encoding.UTF8.GetByteCount(WsTestKit.Utf8Text[..WsTestKit.Utf8Text.IndexOf('日')]) + 1;
        Assert.True(client.SendFragment(WebSocketMessageKind.Text, bytes.AsSpan(0, cut), false));
        Assert.True(client.SendPing("one"u8));
        Assert.True(client.SendFragment(WebSocketMessageKind.Text, bytes.AsSpan(cut, 5), false));
        Assert.True(client.SendPing("two"u8));
        Assert.True(client.SendFragment(WebSocketMessageKind.Text, bytes.AsSpan(cut + 5), true));
        manager.Until(() => recorder.Messages.Count > expected && recorder.Controls.Count(c => c.Control == WebSocketControl.Pong) >= 2, what: "the fragmented echo and two pongs");
        Assert.Equal(WsTestKit.Utf8Text, Encoding.UTF8.GetString(recorder.Messages[expected++].Data));
        Assert.Equal(["one", "two"], recorder.Controls.Where(c => c.Control == WebSocketControl.Pong).Select(c => Encoding.UTF8.GetString(c.Data)));

        for (int i = 0; i < 100; i++) Assert.True(client.SendText($"message {i}"));
        manager.Until(() => recorder.Messages.Count >= expected + 100, what: "100 echoes");
        for (int i = 0; i < 100; i++) Assert.Equal($"message {i}", Encoding.UTF8.GetString(recorder.Messages[expected + i].Data));

        Assert.True(client.CloseWebSocket((WebSocketCloseCode)4000, "done ✓"));
        Assert.False(client.SendText("too late"));
        manager.Until(() => recorder.IsClosed, what: "the server to close TCP after the closing handshake");
        var close = recorder.CloseFrame!.Value;
        Assert.Equal((WebSocketCloseCode)4000, close.Code);
        Assert.False(close.IsViolation);
        Assert.Empty(log.Errors);
        _ = expectServerClose;
        log.AssertBalanced();
    }

    private sealed class KestrelEcho(WebApplication app, string url) : IAsyncDisposable
    {
        public string Url { get; } = url;

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private static async Task<KestrelEcho> StartKestrel(bool compression)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.UseWebSockets();
        app.Map("/ws", async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest || context.Request.Headers["X-Test"] != "matrix")
            {
                context.Response.StatusCode = 400;
                return;
            }
            using var ws = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { DangerousEnableCompression = compression });
            var buffer = new byte[64 * 1024];
            using var message = new MemoryStream();
            while (true)
            {
                var result = await ws.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == DotNetMessageType.Close)
                {
                    await ws.CloseOutputAsync(result.CloseStatus ?? WebSocketCloseStatus.NormalClosure, result.CloseStatusDescription, CancellationToken.None);
                    return;
                }
                message.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage) continue;
                await ws.SendAsync(message.GetBuffer().AsMemory(0, (int)message.Length), result.MessageType, true, CancellationToken.None);
                message.SetLength(0);
            }
        });
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new KestrelEcho(app, address.Replace("http://", "ws://", StringComparison.Ordinal) + "/ws");
    }

    private const string PythonServer = """
import asyncio, sys, websockets
async def echo(ws, path=None):
    async for message in ws:
        await ws.send(message)
async def main(compression):
    async with websockets.serve(echo, "127.0.0.1", 0, compression=("deflate" if compression == "deflate" else None), max_size=None, ping_interval=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
asyncio.run(main(sys.argv[1]))
""";

    private const string NodeServer = """
const WebSocket = require('ws');
const compression = process.argv.includes('deflate');
const server = new WebSocket.Server({ host: '127.0.0.1', port: 0, perMessageDeflate: compression, maxPayload: 0 }, () => console.log(server.address().port));
server.on('connection', ws => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
""";
}
