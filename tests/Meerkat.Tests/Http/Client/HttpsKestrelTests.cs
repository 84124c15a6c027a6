using Stopwatch = System.Diagnostics.Stopwatch;
using System.Text;
using Meerkat.Http.Client;
using Meerkat.Tests.Core;
using Meerkat.Tests.Tls;
using Meerkat.Tls;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Meerkat.Tests.Http.Client;

/// <summary>DESIGN.md §4.3 from the HTTP client's side, against Kestrel over HTTPS.</summary>
public sealed class HttpsKestrelTests(ITestOutputHelper output)
{
    private static async Task<WebApplication> StartKestrelAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.UseUrls("https://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(o => o.ConfigureHttpsDefaults(h => h.ServerCertificate = TestCertificates.Localhost));
        var app = builder.Build();
        app.MapPost("/echo", async (HttpContext context) =>
        {
            // Answer and close at once; half the responses by Content-Length, half chunked.
            context.Response.Headers.Connection = "close";
            if (context.Request.Headers["X-Framing"] == "length") context.Response.ContentLength = context.Request.ContentLength;
            await context.Request.Body.CopyToAsync(context.Response.Body);
        });
        await app.StartAsync();
        return app;
    }

    [Fact]
    public async Task Two_thousand_posts_each_on_a_new_connection_to_Kestrel_closing_at_once_get_every_body_whole()
    {
        await using var app = await StartKestrelAsync();
        string url = app.Urls.First() + "/echo";
        var connectionOptions = new HttpClientConnectionOptions { Tls = new TlsClientOptions { TrustedRoots = TestCertificates.Roots } };
        using var manager = Loop.Create(PollerBackend.Auto);
        var log = new EventLog();
        int offLoop = TlsLayer.OffLoopContinuations;
        int bad = 0, done = 0;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 2000; i++)
        {
            var payload = Encoding.ASCII.GetBytes($"request {i} " + new string('x', i * 7 % 5000));
            var body = new MemoryStream();
            bool finished = false, closed = false;
            Exception? error = null;
            log.Next = (c, e) =>
            {
                switch (e.Kind)
                {
                    case EventKind.HttpBody: body.Write(e.Data); break;
                    case EventKind.HttpDone: finished = true; break;
                    case EventKind.Error: error = e.Error; break;
                    case EventKind.Close: closed = true; break;
                }
            };
            var connection = manager.ConnectHttp(url, log.Handler, connectionOptions);
            var request = new HttpClientRequest("POST", url) { Content = payload }.AddHeader("X-Framing", i % 2 == 0 ? "length" : "chunked");
            connection.SendRequest(request);
            manager.Until(() => closed, what: $"request {i} to close");
            Assert.Null(error);
            if (!finished || !body.ToArray().AsSpan().SequenceEqual(payload)) bad++;
            else done++;
        }
        output.WriteLine($"2000 HTTPS POSTs, one connection each: {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.Equal(0, bad);
        Assert.Equal(2000, done);
        Assert.Equal(2000, log.Count(EventKind.TlsHandshake));
        Assert.Equal(2000, log.Count(EventKind.HttpDone));
        Assert.Empty(log.Errors);
        log.AssertBalanced();
        Assert.Equal(offLoop, TlsLayer.OffLoopContinuations);
        await app.StopAsync();
    }

    [Fact]
    public async Task The_high_level_client_streams_chunked_bodies_from_Kestrel_over_https()
    {
        await using var app = await StartKestrelAsync();
        await using var client = new MeerkatHttpClient(new MeerkatHttpClientOptions
        {
            Tls = new TlsClientOptions { TrustedRoots = TestCertificates.Roots },
            Manager = new ManagerOptions { CheckInvariants = true },
        });
        var payload = SslStreamPeer.Body(200_000);
        using var response = await client.SendAsync(new HttpClientRequest("POST", app.Urls.First() + "/echo") { Content = payload }, TestContext.Current.CancellationToken);
        Assert.Equal(200, response.StatusCode);
        Assert.Equal(payload, await response.ReadAsBytesAsync(TestContext.Current.CancellationToken));
        await app.StopAsync();
    }
}
