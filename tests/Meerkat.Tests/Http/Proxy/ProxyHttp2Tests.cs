using System.Diagnostics;
using System.Globalization;
using System.Net;
using Meerkat.Http.Routing;
using Meerkat.Tests.Core;
using Meerkat.Tests.Http.Client;
using Meerkat.Tests.Http.Routing;
using Meerkat.Tests.Http2;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Meerkat.Tests.Http.Proxy;

/// <summary>HTTP/2 clients of the reverse proxy: concurrent streams of one connection served concurrently,
/// each on its own upstream connection, and a request body paused by flow control when the upstream is slow.
/// Clients nobody here wrote: HttpClient (Version20), h2load.</summary>
public sealed class ProxyHttp2Tests
{
    /// <summary>An upstream whose <c>/together/{i}</c> answers only once <paramref name="count"/> requests are
    /// in, so a proxy serving one stream at a time never completes; <c>/bytes/{n}</c> is n patterned bytes.</summary>
    private static Task<Kestrel> StartUpstreamAsync(int count)
    {
        int arrived = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return Kestrel.StartAsync(app =>
        {
            app.MapGet("/together/{i:int}", async (int i) =>
            {
                if (Interlocked.Increment(ref arrived) == count) all.TrySetResult();
                await all.Task.WaitAsync(TimeSpan.FromSeconds(10)); // a timeout answers 500: the streams were not concurrent
                return Results.Text($"stream {i}");
            });
            app.MapGet("/bytes/{n:int}", async (HttpContext c, int n) =>
            {
                c.Response.ContentLength = n;
                await c.Response.Body.WriteAsync(Pattern(n));
            });
            app.MapGet("/plaintext", () => "Hello, World!");
        });
    }

    [Theory]
    [MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public async Task Concurrent_streams_of_one_connection_are_forwarded_concurrently_each_on_its_own_upstream_connection(PollerBackend backend)
    {
        const int Count = 8;
        await using var kestrel = await StartUpstreamAsync(Count);
        var router = new Router();
        var proxy = router.MapProxy("/up", kestrel.Url);
        using var server = new RoutedServer(router, backend: backend);
        using var client = Http2ServerIntegrationTests.H2cClient();
        string origin = $"http://127.0.0.1:{server.Port}";

        var together = server.Manager.Until(Task.WhenAll(Enumerable.Range(0, Count).Select(async i =>
        {
            using var response = await client.GetAsync($"{origin}/up/together/{i}");
            return (response.Version, response.StatusCode, Text: await response.Content.ReadAsStringAsync());
        })));
        for (int i = 0; i < Count; i++) Assert.Equal((HttpVersion.Version20, HttpStatusCode.OK, $"stream {i}"), together[i]);
        Assert.Equal(Count, proxy.ConnectionsOpened(server.Manager));

        // Large bodies on several streams at once: each waits on its own stream window, none is mixed up.
        int[] sizes = [3 << 20, 1 << 20, 2_500_000, 65_537];
        var bodies = server.Manager.Until(Task.WhenAll(sizes.Select(n => client.GetByteArrayAsync($"{origin}/up/bytes/{n}"))));
        for (int i = 0; i < sizes.Length; i++) Assert.Equal(Pattern(sizes[i]), bodies[i]);
        Assert.Equal(1, server.Log.Count(EventKind.Accept));
        Assert.Equal(Count + sizes.Length, server.Log.Count(EventKind.HttpDone));
    }

    // Not curl: 7.88's parallel transfers over one h2c connection fail on connection reuse (curl/curl#10634, fixed in 8.0).
    [Fact]
    public async Task h2load_multiplexes_requests_through_the_proxy()
    {
        string? h2load = Peers.Find("h2load");
        if (h2load is null) Peers.SkipOrFail("h2load (nghttp2-client)");
        const int Count = 4;
        await using var kestrel = await StartUpstreamAsync(Count);
        var router = new Router();
        router.MapProxy("/up", kestrel.Url);
        using var server = new RoutedServer(router);
        string origin = $"http://127.0.0.1:{server.Port}";

        string load = server.Manager.Until(Peers.RunAsync(h2load!, $"-n 2000 -c 2 -m 16 {origin}/up/plaintext"));
        Assert.Contains("2000 succeeded, 0 failed, 0 errored", load, StringComparison.Ordinal);
        Assert.Contains("2000 2xx", load, StringComparison.Ordinal);

        // Four streams of one connection at once; the upstream answers none until all four are in.
        string together = server.Manager.Until(Peers.RunAsync(h2load!, $"-n {Count} -c 1 -m {Count} {origin}/up/together/0"));
        Assert.True(together.Contains($"{Count} succeeded, 0 failed, 0 errored", StringComparison.Ordinal) && together.Contains($"{Count} 2xx", StringComparison.Ordinal), together);
    }

    [Theory]
    [MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public async Task A_request_body_the_upstream_cannot_take_yet_is_paused_by_flow_control(PollerBackend backend)
    {
        const long Size = 48L << 20;
        const int HighWater = 1 << 20;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var kestrel = await Kestrel.StartAsync(app => app.MapPost("/count", async (HttpContext c) =>
        {
            c.Features.Get<IHttpMaxRequestBodySizeFeature>()!.MaxRequestBodySize = null;
            await gate.Task.WaitAsync(TimeSpan.FromSeconds(60));
            var block = new byte[256 * 1024];
            long total = 0;
            for (int n; (n = await c.Request.Body.ReadAsync(block)) > 0;) total += n;
            return total.ToString(CultureInfo.InvariantCulture);
        }));
        var router = new Router();
        router.MapProxy("/up", kestrel.Url);
        // Without the pause, the body would pile up in the upstream connection's send buffer until its 4 MiB limit refused it.
        using var server = new RoutedServer(router, backend: backend, configure: o => (o.SendHighWaterMark, o.MaxSendBufferSize) = (HighWater, 4 << 20));
        using var client = Http2ServerIntegrationTests.H2cClient();
        var post = client.SendAsync(new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{server.Port}/up/count")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new StreamContent(new FilledStream(Size)),
        });

        Connection? upstream = null;
        server.Manager.Until(() => (upstream = server.Manager.Connections.FirstOrDefault(c => c.Role == ConnectionRole.Outbound)) is { SendBufferedBytes: >= HighWater },
            what: "the upstream connection to back up");
        // Watch the paused stream for a while: what was in flight still arrives (at most the stream's 256 KiB
        // window), nothing more; the client's sending is held back by its window, not buffered here.
        long most = 0;
        var watch = Stopwatch.StartNew();
        server.Manager.Until(() =>
        {
            most = Math.Max(most, upstream!.SendBufferedBytes);
            return watch.Elapsed > TimeSpan.FromMilliseconds(500) || post.IsCompleted;
        });
        Assert.False(post.IsCompleted, "the upload ended while the upstream was not reading");
        Assert.True(most < HighWater + (512 << 10), $"the upstream connection buffered {most} bytes");

        gate.SetResult();
        using var response = server.Manager.Until(post);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal(Size.ToString(CultureInfo.InvariantCulture), server.Text(response));
    }

    private static byte[] Pattern(int length)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++) bytes[i] = (byte)(i * 31 + (i >> 9));
        return bytes;
    }

    /// <summary>A read-only stream of <c>length</c> bytes made on the fly.</summary>
    private sealed class FilledStream(long length) : Stream
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
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
