using System.Diagnostics;
using System.Net;
using Meerkat.Http;
using Meerkat.Http.Routing;
using Meerkat.WebSockets;
using Meerkat.Tests.Core;
using Meerkat.Tests.Http.Client;
using Meerkat.Tests.Http.Routing;
using Meerkat.Tests.WebSockets.Glue;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Meerkat.Tests.Http.Proxy;

/// <summary>The reverse proxy with peers nobody here wrote: nginx as the upstream, Python's websockets as
/// the client of a tunnelled WebSocket.</summary>
public sealed class ProxyPeerTests
{
    [Theory]
    [MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public async Task Forwards_files_ranges_and_validators_from_nginx(PollerBackend backend)
    {
        string root = Directory.CreateTempSubdirectory("meerkat-proxy-nginx-").FullName;
        byte[] file = RawServerPattern(300_000);
        File.WriteAllBytes(Path.Combine(root, "big.bin"), file);
        using var nginx = await Nginx.StartAsync(root);
        var router = new Router();
        router.MapProxy("/files", $"http://127.0.0.1:{nginx.Port}");
        using var server = new RoutedServer(router, backend: backend);

        using var whole = server.Get("/files/big.bin");
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal(file, server.Manager.Until(whole.Content.ReadAsByteArrayAsync()));
        string etag = whole.Headers.ETag!.Tag;

        var ranged = new HttpRequestMessage(HttpMethod.Get, "/files/big.bin");
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(1000, 1999);
        using var part = server.Send(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(file.AsSpan(1000, 1000).ToArray(), server.Manager.Until(part.Content.ReadAsByteArrayAsync()));

        var conditional = new HttpRequestMessage(HttpMethod.Get, "/files/big.bin");
        conditional.Headers.IfNoneMatch.Add(new System.Net.Http.Headers.EntityTagHeaderValue(etag));
        using var notModified = server.Send(conditional);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);

        using var head = server.Send(HttpMethod.Head, "/files/big.bin");
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(file.Length, head.Content.Headers.ContentLength);

        using var missing = server.Get("/files/none");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Directory.Delete(root, recursive: true);
    }

    [Fact]
    public void Tunnels_a_WebSocket_for_a_Python_websockets_client()
    {
        string python = WsTestKit.PythonWithWebsockets();
        using var manager = Loop.Create(PollerBackend.Auto);
        var upstreamLog = new Core.EventLog();
        var (upstream, recorder) = WsTestKit.StartEchoServer(manager, upstreamLog);
        var router = new Router();
        router.MapProxy("/chat", $"http://127.0.0.1:{upstream.LocalEndPoint!.Port}");
        var listener = manager.ListenHttp("http://127.0.0.1:0", router.Handle);
        using var peer = new PeerProcess(python, ["-c", PythonClient, $"ws://127.0.0.1:{listener.LocalEndPoint!.Port}/chat/ws"]);
        manager.Until(peer.Exited);
        Assert.True(peer.ExitCode == 0, peer.Output + peer.Errors);
        Assert.Contains("OK", peer.Output);
        manager.Until(() => recorder.IsClosed, what: "the upstream to see the close");
        Assert.Equal(((WebSocketCloseCode)4001, "bye"), (recorder.CloseFrame!.Value.Code, recorder.CloseFrame!.Value.Reason));
        manager.Until(() => manager.Connections.Count(c => c.Role != ConnectionRole.Listener) == 0, what: "every tunnel connection to close");
    }

    private const string PythonClient = """
import asyncio, os, sys, websockets
async def main(url):
    async with websockets.connect(url, max_size=None, ping_interval=None, compression=None) as ws:
        for n in [0, 1, 125, 65536, 4 << 20]:
            data = os.urandom(n)
            await ws.send(data)
            assert await ws.recv() == data, n
        for i in range(100):
            await ws.send(f"message {i}")
        for i in range(100):
            assert await ws.recv() == f"message {i}"
        await ws.close(4001, "bye")
    print("OK")
asyncio.run(main(sys.argv[1]))
""";

    private static byte[] RawServerPattern(int length)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++) bytes[i] = (byte)(i * 31 + (i >> 8));
        return bytes;
    }
}

/// <summary>A gibibyte each way through the proxy in bounded memory. Measures the whole process, so it runs alone.</summary>
[Collection(Serial.Name)]
public sealed class ProxyLargeBodyTests
{
    [Fact]
    public async Task A_gibibyte_streams_each_way_in_under_64MiB_of_process_growth()
    {
        const long Size = 1L << 30;
        await using var kestrel = await Kestrel.StartAsync(app =>
        {
            app.MapGet("/warm-up", () => "ok");
            app.MapGet("/gib", async (HttpContext c) =>
            {
                c.Response.ContentLength = Size;
                var block = new byte[256 * 1024];
                for (long sent = 0; sent < Size; sent += block.Length) await c.Response.Body.WriteAsync(block);
            });
            app.MapPost("/count", async (HttpContext c) =>
            {
                c.Features.Get<IHttpMaxRequestBodySizeFeature>()!.MaxRequestBodySize = null;
                var block = new byte[256 * 1024];
                long total = 0;
                for (int n; (n = await c.Request.Body.ReadAsync(block)) > 0;) total += n;
                return total.ToString(System.Globalization.CultureInfo.InvariantCulture);
            });
        });
        var router = new Router();
        router.MapProxy("/up", kestrel.Url);
        using var server = new RoutedServer(router);
        using var warm = server.Get("/up/warm-up");
        Assert.Equal("ok", server.Text(warm));
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = Process.GetCurrentProcess().WorkingSet64;
        var peak = new Peak(before);

        server.Manager.Until(Task.Run(async () =>
        {
            using var response = await server.Client.GetAsync("/up/gib", HttpCompletionOption.ResponseHeadersRead);
            await using var body = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[64 * 1024];
            long total = 0;
            for (int n; (n = await body.ReadAsync(buffer)) > 0;)
            {
                total += n;
                peak.Sample(total, n);
            }
            Assert.Equal(Size, total);
        }));

        server.Manager.Until(Task.Run(async () =>
        {
            using var content = new StreamContent(new GeneratedStream(Size, peak));
            using var response = await server.Client.PostAsync("/up/count", content);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(Size.ToString(System.Globalization.CultureInfo.InvariantCulture), await response.Content.ReadAsStringAsync());
        }));
        Assert.True(peak.Value - before < 64L << 20, $"the process grew {(peak.Value - before) >> 20} MiB");
    }

    private sealed class Peak(long start)
    {
        public long Value = start;

        public void Sample(long total, int n)
        {
            if ((total & ((32 << 20) - 1)) < n) Value = Math.Max(Value, Process.GetCurrentProcess().WorkingSet64);
        }
    }

    /// <summary>A read-only stream of <c>length</c> bytes made on the fly.</summary>
    private sealed class GeneratedStream(long length, Peak peak) : Stream
    {
        private long position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = (int)Math.Min(count, length - position);
            buffer.AsSpan(offset, n).Fill((byte)'x');
            position += n;
            peak.Sample(position, n);
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
