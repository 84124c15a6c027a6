using System.Text;
using Meerkat.Cli;
using Meerkat.Http;
using Meerkat.Http.Client;
using Meerkat.Tests.Core;
using Meerkat.Tests.Tls;
using Meerkat.Tls;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using HttpContext = Microsoft.AspNetCore.Http.HttpContext;
using HttpResponse = Meerkat.Http.Client.HttpResponse;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Meerkat.Tests.Http2;

/// <summary>
/// The HTTP client speaking HTTP/2 to Kestrel (h2 chosen by ALPN over TLS, and h2c with prior
/// knowledge on an HTTP/2-only endpoint), at the loop level (one connection, many streams, the same
/// events per stream, the lifecycle checker on) and through MeerkatHttpClient (one connection per
/// origin, requests multiplexed on it).
/// </summary>
public sealed class Http2ClientInteropTests
{
    internal static async Task<WebApplication> StartKestrelAsync(bool tls, int maxStreams = 100, bool http11Only = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (tls) builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.UseUrls(tls ? "https://127.0.0.1:0" : "http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(o =>
        {
            o.Limits.Http2.MaxStreamsPerConnection = maxStreams;
            if (tls) o.ConfigureHttpsDefaults(h => h.ServerCertificate = TestCertificates.Localhost);
            if (!tls || http11Only) o.ConfigureEndpointDefaults(l => l.Protocols = http11Only ? HttpProtocols.Http1 : HttpProtocols.Http2);
        });
        var app = builder.Build();
        app.MapGet("/hello/{name}", (HttpContext context, string name) => $"hello {name} over {context.Request.Protocol}");
        app.MapGet("/bytes/{count:int}", async (HttpContext context, int count) =>
        {
            var chunk = new byte[8192];
            for (int sent = 0; sent < count; sent += chunk.Length)
            {
                int n = Math.Min(chunk.Length, count - sent);
                for (int i = 0; i < n; i++) chunk[i] = (byte)((sent + i) % 251);
                await context.Response.Body.WriteAsync(chunk.AsMemory(0, n));
            }
        });
        app.MapPost("/echo", async (HttpContext context) =>
        {
            context.Response.Headers["x-length"] = context.Request.ContentLength?.ToString() ?? "none";
            await context.Request.Body.CopyToAsync(context.Response.Body);
            Microsoft.AspNetCore.Http.ResponseTrailerExtensions.AppendTrailer(context.Response, "x-done", "yes");
        });
        await app.StartAsync();
        return app;
    }

    private static HttpClientConnectionOptions Options(bool tls) => tls
        ? new HttpClientConnectionOptions { EnableHttp2 = true, Tls = new TlsClientOptions { TrustedRoots = TestCertificates.Roots } }
        : new HttpClientConnectionOptions { Http2PriorKnowledge = true };

    private static string Origin(WebApplication app, bool tls) => tls ? app.Urls.First().Replace("127.0.0.1", "localhost", StringComparison.Ordinal) : app.Urls.First();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Twenty_requests_on_one_connection_get_their_own_transaction_events(bool tls)
    {
        await using var app = await StartKestrelAsync(tls);
        string origin = Origin(app, tls);
        using var manager = Loop.Create(PollerBackend.Auto);
        var bodies = new Dictionary<HttpResponse, MemoryStream>();
        var done = new List<(HttpResponse Response, HttpOutcome Outcome)>();
        var log = new EventLog();
        int open = 0, mostOpen = 0;
        log.Next = (c, e) =>
        {
            switch (e.Kind)
            {
                case EventKind.HttpHeaders:
                    bodies[e.Response!] = new MemoryStream();
                    mostOpen = Math.Max(mostOpen, ++open);
                    break;
                case EventKind.HttpBody:
                    bodies[e.Response!].Write(e.Data);
                    break;
                case EventKind.HttpDone:
                    open--;
                    done.Add((e.Response!, e.Outcome));
                    break;
            }
        };
        var connection = manager.ConnectHttp(origin, log.Handler, Options(tls));
        for (int i = 0; i < 20; i++) Assert.True(connection.SendRequest(new HttpClientRequest("GET", $"{origin}/bytes/{50_000 + i}")));
        manager.Until(() => done.Count == 20, what: "twenty responses");
        Assert.All(done, d => Assert.Equal(HttpOutcome.Completed, d.Outcome));
        Assert.All(done, d => Assert.Equal(2, d.Response.VersionMajor));
        var lengths = done.Select(d => (int)bodies[d.Response].Length).Order().ToArray();
        Assert.Equal(Enumerable.Range(50_000, 20), lengths);
        foreach (var (response, _) in done)
        {
            var bytes = bodies[response].ToArray();
            for (int i = 0; i < bytes.Length; i++)
                if (bytes[i] != (byte)(i % 251)) Assert.Fail($"byte {i} of a {bytes.Length}-byte body");
        }

        Assert.True(mostOpen > 1, "the responses should interleave on the one connection");
        Assert.Equal(1, log.Count(EventKind.Connect));
        connection.Close();
        manager.Until(() => log.Count(EventKind.Close) == 1);
        log.AssertBalanced();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Requests_beyond_the_servers_stream_limit_wait_and_open_as_streams_end(bool tls)
    {
        await using var app = await StartKestrelAsync(tls, maxStreams: 3);
        string origin = Origin(app, tls);
        using var manager = Loop.Create(PollerBackend.Auto);
        var done = new List<HttpResponse>();
        var log = new EventLog();
        int open = 0, mostOpen = 0;
        log.Next = (c, e) =>
        {
            if (e.Kind == EventKind.HttpHeaders) mostOpen = Math.Max(mostOpen, ++open);
            else if (e.Kind == EventKind.HttpDone && e.Outcome == HttpOutcome.Completed) { open--; done.Add(e.Response!); }
        };
        var connection = manager.ConnectHttp(origin, log.Handler, Options(tls));
        for (int i = 0; i < 12; i++) Assert.True(connection.SendRequest(new HttpClientRequest("GET", $"{origin}/bytes/{300_000}")));
        manager.Until(() => done.Count == 12, what: "twelve responses through three streams at a time");
        Assert.InRange(mostOpen, 1, 3);
        Assert.All(done, r => Assert.Equal(300_000, r.BodyBytesReceived));
        Assert.Equal(0, connection.PendingHttpRequests);
        Assert.Equal(1, log.Count(EventKind.Connect));
    }

    [Fact]
    public async Task When_alpn_chooses_http11_the_requests_given_before_the_handshake_go_over_http11_in_order()
    {
        await using var app = await StartKestrelAsync(tls: true, http11Only: true);
        string origin = Origin(app, tls: true);
        using var manager = Loop.Create(PollerBackend.Auto);
        var bodies = new List<string>();
        var versions = new List<int>();
        var log = new EventLog();
        var current = new MemoryStream();
        log.Next = (c, e) =>
        {
            if (e.Kind == EventKind.HttpBody) current.Write(e.Data);
            else if (e.Kind == EventKind.HttpDone && e.Outcome == HttpOutcome.Completed)
            {
                versions.Add(e.Response!.VersionMajor);
                bodies.Add(Encoding.UTF8.GetString(current.ToArray()));
                current.SetLength(0);
            }
        };
        var connection = manager.ConnectHttp(origin, log.Handler, Options(tls: true));
        for (int i = 0; i < 3; i++) Assert.True(connection.SendRequest(new HttpClientRequest("GET", $"{origin}/hello/r{i}")));
        manager.Until(() => bodies.Count == 3, what: "three HTTP/1.1 responses");
        Assert.Equal(["hello r0 over HTTP/1.1", "hello r1 over HTTP/1.1", "hello r2 over HTTP/1.1"], bodies);
        Assert.All(versions, v => Assert.Equal(1, v));
        Assert.True(connection.IsHttpClient);
        connection.Close();
        manager.Until(() => log.Count(EventKind.Close) == 1);
        log.AssertBalanced();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_streamed_upload_and_a_whole_one_are_echoed_with_trailers(bool tls)
    {
        await using var app = await StartKestrelAsync(tls);
        string origin = Origin(app, tls);
        using var manager = Loop.Create(PollerBackend.Auto);
        var received = new Dictionary<HttpResponse, MemoryStream>();
        var done = new List<HttpResponse>();
        var log = new EventLog();
        log.Next = (c, e) =>
        {
            if (e.Kind == EventKind.HttpHeaders) received[e.Response!] = new MemoryStream();
            else if (e.Kind == EventKind.HttpBody) received[e.Response!].Write(e.Data);
            else if (e.Kind == EventKind.HttpDone && !e.IsAborted) done.Add(e.Response!);
        };
        var whole = new byte[600_000];
        new Random(1).NextBytes(whole);
        var connection = manager.ConnectHttp(origin, log.Handler, Options(tls));
        connection.SendRequest(new HttpClientRequest("POST", $"{origin}/echo") { Content = whole });
        connection.SendRequestHead(new HttpClientRequest("POST", $"{origin}/echo"), -1);
        var streamed = new MemoryStream();
        for (int i = 0; i < 50; i++)
        {
            var piece = Encoding.ASCII.GetBytes($"piece {i} " + new string('z', 3000));
            streamed.Write(piece);
            connection.SendRequestBody(piece);
            manager.Poll(0);
        }

        connection.EndRequestBody();
        manager.Until(() => done.Count == 2, what: "two echoes");
        var byLength = done.ToDictionary(r => r.GetHeader("x-length")!);
        Assert.True(received[byLength["600000"]].ToArray().AsSpan().SequenceEqual(whole));
        Assert.True(received[byLength["none"]].ToArray().AsSpan().SequenceEqual(streamed.ToArray()));
        Assert.All(done, r => Assert.Equal("yes", r.GetTrailer("x-done")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task MeerkatHttpClient_speaks_http2_for_whole_and_streamed_bodies_and_keeps_the_connection(bool tls)
    {
        await using var app = await StartKestrelAsync(tls);
        string origin = Origin(app, tls);
        var options = new MeerkatHttpClientOptions { Connection = Options(tls), MaxConnectionsPerOrigin = 1 };
        if (tls) options.Tls = options.Connection.Tls;
        using var client = new MeerkatHttpClient(options);
        for (int i = 0; i < 5; i++)
        {
            using var response = await client.SendAsync(new HttpClientRequest("GET", $"{origin}/hello/n{i}"));
            Assert.Equal(2, response.Head.VersionMajor);
            Assert.Equal($"hello n{i} over HTTP/2", await response.ReadAsStringAsync());
        }

        var body = new byte[300_000];
        new Random(2).NextBytes(body);
        using (var streamed = await client.SendAsync(new HttpClientRequest("POST", $"{origin}/echo") { ContentStream = new MemoryStream(body) }))
        {
            Assert.Equal("none", streamed.GetHeader("x-length"));
            Assert.True((await streamed.ReadAsBytesAsync()).AsSpan().SequenceEqual(body));
            Assert.Equal("yes", streamed.Head.GetTrailer("x-done"));
        }

        using (var whole = await client.SendAsync(new HttpClientRequest("POST", $"{origin}/echo") { Content = body }))
        {
            Assert.Equal("300000", whole.GetHeader("x-length"));
            Assert.True((await whole.ReadAsBytesAsync()).AsSpan().SequenceEqual(body));
        }

        // Concurrent requests wait for the one connection (MaxConnectionsPerOrigin = 1) and all complete.
        var texts = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => client.GetStringAsync($"{origin}/hello/c{i}")));
        Assert.Equal(Enumerable.Range(0, 8).Select(i => $"hello c{i} over HTTP/2"), texts);
        Assert.Equal(1, client.ConnectionsOpened);
    }

    [Fact]
    public async Task Get_http2_prints_an_HTTP2_head_over_TLS_and_h2c_and_HTTP11_without_the_flag()
    {
        await using var h2 = await StartKestrelAsync(tls: true);
        await using var h2c = await StartKestrelAsync(tls: false);
        string ca = Path.Combine(Path.GetTempPath(), $"meerkat-h2-ca-{Environment.ProcessId}.pem");
        File.WriteAllText(ca, TestCertificates.Ca.ExportCertificatePem());
        try
        {
            var overTls = Get("-i", "--http2", "--cacert", ca, $"{Origin(h2, true)}/hello/cli");
            Assert.Equal(ExitCodes.Ok, overTls.Status);
            Assert.StartsWith("HTTP/2 200\r\n", overTls.Stdout);
            Assert.EndsWith("\r\n\r\nhello cli over HTTP/2", overTls.Stdout);

            var priorKnowledge = Get("--http2-prior-knowledge", $"{Origin(h2c, false)}/hello/pk");
            Assert.Equal((ExitCodes.Ok, "hello pk over HTTP/2", ""), priorKnowledge);

            var http11 = Get("-i", "--cacert", ca, $"{Origin(h2, true)}/hello/old");
            Assert.StartsWith("HTTP/1.1 200 OK\r\n", http11.Stdout);
            Assert.EndsWith("hello old over HTTP/1.1", http11.Stdout);
        }
        finally
        {
            File.Delete(ca);
        }
    }

    private static (int Status, string Stdout, string Stderr) Get(params string[] args)
    {
        using var stdout = new MemoryStream();
        var stderr = new StringWriter();
        int status = GetCommand.Run(args, stdout, stderr);
        return (status, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
    }
}
