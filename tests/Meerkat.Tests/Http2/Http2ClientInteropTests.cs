using System.Text;
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
    private static async Task<WebApplication> StartKestrelAsync(bool tls)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (tls) builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.UseUrls(tls ? "https://127.0.0.1:0" : "http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(o =>
        {
            if (tls) o.ConfigureHttpsDefaults(h => h.ServerCertificate = TestCertificates.Localhost);
            else o.ConfigureEndpointDefaults(l => l.Protocols = HttpProtocols.Http2);
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
}
