using System.Net.Security;
using System.Net.WebSockets;
using System.Text;
using Meerkat.Http;
using Meerkat.Tests.Core;
using Meerkat.Tls;
using Meerkat.WebSockets;
using DotNetMessageType = System.Net.WebSockets.WebSocketMessageType;

namespace Meerkat.Tests.WebSockets.Glue;

/// <summary>The Meerkat WebSocket server against clients nobody here wrote: ClientWebSocket, Python's
/// websockets and Node's ws, with and without permessage-deflate.</summary>
public class ServerInteropTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Echo_matrix_with_ClientWebSocket(bool deflate)
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        var log = new EventLog();
        var (listener, recorder) = WsTestKit.StartEchoServer(manager, log, new WebSocketServerOptions { Deflate = deflate ? new PerMessageDeflateOptions() : null });
        var url = new Uri($"ws://127.0.0.1:{listener.LocalEndPoint!.Port}/ws");
        var run = Task.Run(async () =>
        {
            using var ws = new ClientWebSocket();
            if (deflate) ws.Options.DangerousDeflateOptions = new WebSocketDeflateOptions();
            await ws.ConnectAsync(url, CancellationToken.None);
            await RunClientScenario(ws);
            await ws.CloseAsync((WebSocketCloseStatus)4001, "bye ✓", CancellationToken.None);
            return ws.CloseStatus;
        });
        var status = manager.Until(run);
        Assert.Equal((WebSocketCloseStatus)4001, status);
        manager.Until(() => recorder.IsClosed, what: "the server to close TCP after the closing handshake");
        var close = recorder.CloseFrame!.Value;
        Assert.Equal((WebSocketCloseCode)4001, close.Code);
        Assert.Equal("bye ✓", close.Reason);
        Assert.Equal(deflate, recorder.IsCompressed);
        Assert.Empty(log.Errors);
        log.AssertBalanced(listener);
    }

    /// <summary>Sizes around every length encoding, 16 MiB, multi-byte text, fragments, 100 back to back.</summary>
    internal static async Task RunClientScenario(System.Net.WebSockets.WebSocket ws)
    {
        int seed = 0;
        foreach (int length in WsTestKit.Lengths)
        {
            var payload = WsTestKit.RandomBytes(length, seed++);
            await ws.SendAsync(payload, DotNetMessageType.Binary, true, CancellationToken.None);
            var (echo, type) = await Receive(ws);
            Assert.Equal(DotNetMessageType.Binary, type);
            Assert.True(payload.AsSpan().SequenceEqual(echo), $"echo of {length} bytes differs");
        }

        var text = WsTestKit.LongText(50);
        await ws.SendAsync(Encoding.UTF8.GetBytes(text), DotNetMessageType.Text, true, CancellationToken.None);
        var (textEcho, textType) = await Receive(ws);
        Assert.Equal(DotNetMessageType.Text, textType);
        Assert.Equal(text, Encoding.UTF8.GetString(textEcho));

        // Fragmented, split inside a multi-byte character: UTF-8 is checked across fragments.
        var bytes = Encoding.UTF8.GetBytes(WsTestKit.Utf8Text);
        int cut = Encoding.UTF8.GetByteCount(WsTestKit.Utf8Text[..WsTestKit.Utf8Text.IndexOf('日')]) + 1;
        await ws.SendAsync(bytes.AsMemory(0, cut), DotNetMessageType.Text, false, CancellationToken.None);
        await ws.SendAsync(bytes.AsMemory(cut, 5), DotNetMessageType.Text, false, CancellationToken.None);
        await ws.SendAsync(bytes.AsMemory(cut + 5), DotNetMessageType.Text, true, CancellationToken.None);
        var (fragmentEcho, _) = await Receive(ws);
        Assert.Equal(WsTestKit.Utf8Text, Encoding.UTF8.GetString(fragmentEcho));

        for (int i = 0; i < 100; i++)
            await ws.SendAsync(Encoding.UTF8.GetBytes($"message {i}"), DotNetMessageType.Text, true, CancellationToken.None);
        for (int i = 0; i < 100; i++)
            Assert.Equal($"message {i}", Encoding.UTF8.GetString((await Receive(ws)).Data));
    }

    internal static async Task<(byte[] Data, DotNetMessageType Type)> Receive(System.Net.WebSockets.WebSocket ws)
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            var result = await ws.ReceiveAsync(buffer, CancellationToken.None);
            if (result.MessageType == DotNetMessageType.Close) throw new InvalidOperationException($"closed: {result.CloseStatus} {result.CloseStatusDescription}");
            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage) return (message.ToArray(), result.MessageType);
        }
    }

    [Fact]
    public void Server_initiated_close_reaches_ClientWebSocket_with_code_and_reason_then_the_server_closes_TCP()
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        var log = new EventLog();
        var server = new WsRecorder();
        log.Next = (c, e) =>
        {
            if (e.Kind == EventKind.HttpHeaders) c.UpgradeToWebSocket(new WebSocketServerOptions { Subprotocols = ["chat.v2", "chat.v1"] });
            else if (e.Kind == EventKind.WsMessage) c.CloseWebSocket(WebSocketCloseCode.TryAgainLater, "later, ✓");
            if (c.Role == ConnectionRole.Accepted) server.Observe(c, e);
        };
        var listener = manager.ListenHttp("http://127.0.0.1:0", log.Handler);
        var run = Task.Run(async () =>
        {
            using var ws = new ClientWebSocket();
            ws.Options.AddSubProtocol("chat.v1");
            ws.Options.AddSubProtocol("chat.v2");
            await ws.ConnectAsync(new Uri($"ws://127.0.0.1:{listener.LocalEndPoint!.Port}/"), CancellationToken.None);
            string? subprotocol = ws.SubProtocol;
            await ws.SendAsync("close me"u8.ToArray(), DotNetMessageType.Text, true, CancellationToken.None);
            var result = await ws.ReceiveAsync(new byte[256], CancellationToken.None);
            await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
            return (subprotocol, result.MessageType, result.CloseStatus, result.CloseStatusDescription);
        });
        var (sub, type, status, description) = manager.Until(run);
        Assert.Equal("chat.v1", sub);
        Assert.Equal(DotNetMessageType.Close, type);
        Assert.Equal((WebSocketCloseStatus)1013, status);
        Assert.Equal("later, ✓", description);
        manager.Until(() => server.IsClosed, what: "the server to close TCP");
        Assert.Equal(WebSocketCloseCode.NormalClosure, server.CloseFrame!.Value.Code);
        log.AssertBalanced(listener);
    }

    [Fact]
    public void Wss_echo_with_ClientWebSocket_over_the_TLS_layer()
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        var log = new EventLog();
        var http = new HttpServerOptions { Tls = new TlsServerOptions { Certificate = Tls.TestCertificates.Localhost } };
        var (listener, recorder) = WsTestKit.StartEchoServer(manager, log, new WebSocketServerOptions { Deflate = new PerMessageDeflateOptions() }, http, "https");
        var run = Task.Run(async () =>
        {
            using var ws = new ClientWebSocket();
            ws.Options.RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate?.GetCertHashString() == Tls.TestCertificates.Localhost.GetCertHashString();
            ws.Options.DangerousDeflateOptions = new WebSocketDeflateOptions();
            await ws.ConnectAsync(new Uri($"wss://localhost:{listener.LocalEndPoint!.Port}/ws"), CancellationToken.None);
            var payload = WsTestKit.RandomBytes(300_000, 7);
            await ws.SendAsync(payload, DotNetMessageType.Binary, true, CancellationToken.None);
            var (echo, _) = await Receive(ws);
            await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "tls done", CancellationToken.None);
            return payload.AsSpan().SequenceEqual(echo);
        });
        Assert.True(manager.Until(run));
        manager.Until(() => recorder.IsClosed, what: "the server to close");
        Assert.Equal("tls done", recorder.CloseFrame!.Value.Reason);
        log.AssertBalanced(listener);
    }

    [Fact]
    public void A_refused_upgrade_stays_HTTP_and_an_invalid_one_gets_the_cores_status()
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        var log = new EventLog();
        log.Next = (c, e) =>
        {
            if (e.Kind != EventKind.HttpHeaders) return;
            if (e.Request!.PathIs("/private"u8)) c.Reply(403, "no\n");
            else c.UpgradeToWebSocket();
        };
        var listener = manager.ListenHttp("http://127.0.0.1:0", log.Handler);
        int port = listener.LocalEndPoint!.Port;
        var run = Task.Run(async () =>
        {
            using var refused = new ClientWebSocket();
            var error = await Assert.ThrowsAsync<WebSocketException>(() => refused.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/private"), CancellationToken.None));
            using var http = new HttpClient();
            var plain = await http.GetAsync($"http://127.0.0.1:{port}/ws");
            return (error.Message, (int)plain.StatusCode, await plain.Content.ReadAsStringAsync());
        });
        var (message, status, body) = manager.Until(run);
        Assert.Contains("403", message);
        Assert.Equal(400, status);
        Assert.Contains("Upgrade: websocket", body);
        Assert.Equal(0, log.Count(EventKind.WsOpen));
        manager.Until(() => log.Count(EventKind.Close) == log.Count(EventKind.Open) - 1, what: "the clients' connections to close");
        log.AssertBalanced(listener);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Python_websockets_client_echo_matrix(bool deflate)
    {
        string python = WsTestKit.PythonWithWebsockets();
        using var manager = Loop.Create(PollerBackend.Auto);
        var log = new EventLog();
        var (listener, recorder) = WsTestKit.StartEchoServer(manager, log, new WebSocketServerOptions { Deflate = deflate ? new PerMessageDeflateOptions() : null });
        using var peer = new PeerProcess(python, ["-c", PythonClient, $"ws://127.0.0.1:{listener.LocalEndPoint!.Port}/ws", deflate ? "deflate" : "none"]);
        manager.Until(peer.Exited);
        Assert.True(peer.ExitCode == 0, peer.Output + peer.Errors);
        Assert.Contains(deflate ? "OK permessage-deflate" : "OK none", peer.Output);
        Assert.Equal(deflate, recorder.IsCompressed);
        manager.Until(() => recorder.IsClosed, what: "the server to close");
        Assert.Equal(((WebSocketCloseCode)4001, "bye ✓"), (recorder.CloseFrame!.Value.Code, recorder.CloseFrame!.Value.Reason));
        Assert.Contains(recorder.Controls, c => c.Control == WebSocketControl.Ping && c.Data.AsSpan().SequenceEqual("are you there"u8));
        log.AssertBalanced(listener);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Node_ws_client_echo_matrix(bool deflate)
    {
        var (node, modules) = WsTestKit.NodeWithWs();
        using var manager = Loop.Create(PollerBackend.Auto);
        var log = new EventLog();
        var (listener, recorder) = WsTestKit.StartEchoServer(manager, log, new WebSocketServerOptions { Deflate = deflate ? new PerMessageDeflateOptions() : null });
        using var peer = new PeerProcess(node, ["-e", NodeClient, $"ws://127.0.0.1:{listener.LocalEndPoint!.Port}/ws", deflate ? "deflate" : "none"],
            new Dictionary<string, string> { ["NODE_PATH"] = modules });
        manager.Until(peer.Exited);
        Assert.True(peer.ExitCode == 0, peer.Output + peer.Errors);
        Assert.Contains(deflate ? "OK permessage-deflate" : "OK none", peer.Output);
        Assert.Equal(deflate, recorder.IsCompressed);
        manager.Until(() => recorder.IsClosed, what: "the server to close");
        Assert.Equal(((WebSocketCloseCode)4001, "bye ✓"), (recorder.CloseFrame!.Value.Code, recorder.CloseFrame!.Value.Reason));
        log.AssertBalanced(listener);
    }

    private const string PythonClient = """
import asyncio, os, sys, websockets
async def main(url, compression):
    async with websockets.connect(url, compression=("deflate" if compression == "deflate" else None), max_size=None, ping_interval=None) as ws:
        for i, n in enumerate([0, 1, 125, 126, 65535, 65536, 16 << 20]):
            data = os.urandom(n)
            await ws.send(data)
            assert await ws.recv() == data, n
        text = "héllo wörld — 日本語のテキスト 🦦✓ " * 50
        await ws.send(text)
        assert await ws.recv() == text
        await ws.send(["frag", "ment", "ed ✓"])
        assert await ws.recv() == "fragmented ✓"
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 10)
        for i in range(100):
            await ws.send(f"message {i}")
        for i in range(100):
            assert await ws.recv() == f"message {i}"
        extensions = ws.response_headers.get("Sec-WebSocket-Extensions")
        await ws.close(4001, "bye ✓")
    print("OK", "permessage-deflate" if extensions and "permessage-deflate" in extensions else "none", ws.close_code)
asyncio.run(main(sys.argv[1], sys.argv[2]))
""";

    private const string NodeClient = """
const WebSocket = require('ws');
const crypto = require('crypto');
const [url, compression] = process.argv.slice(1).filter(a => a.startsWith('ws') || a === 'deflate' || a === 'none');
const ws = new WebSocket(url, { perMessageDeflate: compression === 'deflate', maxPayload: 0 });
const queue = []; let waiting = null;
ws.on('message', (data, isBinary) => { const m = { data, isBinary }; if (waiting) { const w = waiting; waiting = null; w(m); } else queue.push(m); });
const next = () => queue.length ? Promise.resolve(queue.shift()) : new Promise(r => waiting = r);
const assert = (c, what) => { if (!c) { console.log('FAIL', what); process.exit(1); } };
ws.on('error', e => { console.log('ERROR', e.message); process.exit(1); });
ws.on('open', async () => {
  for (const n of [0, 1, 125, 126, 65535, 65536, 16 << 20]) {
    const data = crypto.randomBytes(n);
    ws.send(data, { binary: true });
    const m = await next();
    assert(m.isBinary && Buffer.compare(m.data, data) === 0, 'binary ' + n);
  }
  const text = 'héllo wörld — 日本語のテキスト 🦦✓ '.repeat(50);
  ws.send(text);
  let m = await next();
  assert(!m.isBinary && m.data.toString('utf8') === text, 'text');
  ws.send('frag', { fin: false }); ws.ping('between'); ws.send('ment', { fin: false }); ws.send('ed ✓', { fin: true });
  m = await next();
  assert(m.data.toString('utf8') === 'fragmented ✓', 'fragments');
  for (let i = 0; i < 100; i++) ws.send('message ' + i);
  for (let i = 0; i < 100; i++) { m = await next(); assert(m.data.toString() === 'message ' + i, 'burst ' + i); }
  const ext = ws.extensions || '';
  ws.on('close', code => { console.log('OK', ext.includes('permessage-deflate') ? 'permessage-deflate' : 'none', code); process.exit(0); });
  ws.close(4001, 'bye ✓');
});
""";
}
