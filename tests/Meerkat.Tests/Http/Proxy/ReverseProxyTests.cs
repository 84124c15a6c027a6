using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Meerkat.Http;
using Meerkat.Http.Proxy;
using Meerkat.Http.Routing;
using Meerkat.Tests.Core;
using Meerkat.Tests.Http.Client;
using Meerkat.Tests.Http.Routing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Meerkat.Tests.Http.Proxy;

/// <summary>The reverse proxy (RouteGroup.MapProxy) in front of Kestrel and misbehaving raw upstreams.</summary>
public sealed class ReverseProxyTests
{
    private static Task<Kestrel> StartKestrelAsync() => Kestrel.StartAsync(app =>
    {
        app.Map("/echo/{*rest}", async (HttpContext c) =>
        {
            var seen = new StringBuilder($"{c.Request.Method} {c.Request.Path}{c.Request.QueryString}\n");
            foreach (var (name, value) in c.Request.Headers.OrderBy(h => h.Key, StringComparer.OrdinalIgnoreCase)) seen.Append($"{name}: {value}\n");
            using var reader = new StreamReader(c.Request.Body);
            seen.Append("body=").Append(await reader.ReadToEndAsync());
            c.Response.Headers["X-Upstream"] = "kestrel";
            c.Response.Headers["Connection"] = "X-Hop"; // names a hop-by-hop field
            c.Response.Headers["X-Hop"] = "must not pass";
            await c.Response.WriteAsync(seen.ToString());
        });
        app.MapGet("/", () => "root");
        app.MapGet("/status/{code:int}", (int code) => Results.Text($"status {code}", statusCode: code));
    });

    [Theory]
    [MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public async Task Forwards_to_Kestrel_with_the_prefix_removed_and_forwarding_fields(PollerBackend backend)
    {
        await using var kestrel = await StartKestrelAsync();
        var router = new Router();
        router.MapProxy("/api", kestrel.Url);
        using var server = new RoutedServer(router, backend: backend);
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/echo/a%20b/c?q=1&r=2") { Content = new StringContent("hello upstream") };
        request.Headers.Connection.Add("X-Secret");
        request.Headers.Add("X-Secret", "hop");
        request.Headers.Add("X-Forwarded-For", "203.0.113.9");
        using var response = server.Send(request);
        string text = server.Text(response);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("POST /echo/a%20b/c?q=1&r=2\n", text);
        Assert.Contains("X-Forwarded-For: 203.0.113.9, 127.0.0.1\n", text);
        Assert.Contains("X-Forwarded-Proto: http\n", text);
        Assert.Contains($"X-Forwarded-Host: 127.0.0.1:{server.Port}\n", text);
        Assert.Contains("Via: 1.1 meerkat\n", text);
        Assert.DoesNotContain("X-Secret", text);
        Assert.EndsWith("body=hello upstream", text);
        Assert.Equal("kestrel", response.Headers.GetValues("X-Upstream").Single());
        Assert.False(response.Headers.Contains("X-Hop"));
        Assert.Single(response.Headers.GetValues("Date"));

        using var root = server.Get("/api");
        Assert.Equal("root", server.Text(root));
        using var missing = server.Get("/api/status/418");
        Assert.Equal((HttpStatusCode)418, missing.StatusCode);
        Assert.Equal("status 418", server.Text(missing));
        using var elsewhere = server.Get("/other");
        Assert.Equal(HttpStatusCode.NotFound, elsewhere.StatusCode);
    }

    [Fact]
    public async Task Streams_a_chunked_request_body_with_its_trailers_and_an_HTTPS_upstream_is_verified()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.UseUrls("https://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(o => o.ConfigureHttpsDefaults(h => h.ServerCertificate = Meerkat.Tests.Tls.TestCertificates.Localhost));
        await using var app = builder.Build();
        app.MapPost("/sum", async (HttpContext c) =>
        {
            using var reader = new StreamReader(c.Request.Body);
            string body = await reader.ReadToEndAsync();
            string trailer = c.Request.SupportsTrailers() && c.Request.CheckTrailersAvailable() ? c.Request.GetTrailer("X-Digest").ToString() : "";
            return $"{c.Request.Protocol} {c.Request.IsHttps} chunked={c.Request.ContentLength is null} {body.Length} bytes, trailer {trailer}";
        });
        await app.StartAsync();
        var router = new Router();
        router.MapProxy("/secure", app.Urls.First(), new ReverseProxyOptions
        {
            ConnectionOptions = new Meerkat.Http.Client.HttpClientConnectionOptions { Tls = new Meerkat.Tls.TlsClientOptions { TrustedRoots = Meerkat.Tests.Tls.TestCertificates.Roots } },
        });
        router.MapProxy("/untrusted", app.Urls.First());
        using var server = new RoutedServer(router);
        string body = new('z', 200_000);
        string answer = server.Raw("POST /secure/sum HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: X-Digest\r\nConnection: close\r\n\r\n",
            $"{100_000:x}\r\n{body[..100_000]}\r\n", $"{100_000:x}\r\n{body[100_000..]}\r\n0\r\nX-Digest: abc\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", answer);
        Assert.EndsWith("HTTP/1.1 True chunked=True 200000 bytes, trailer abc", answer.TrimEnd("0\r\n".ToCharArray()).Split("\r\n").Last(l => l.Length > 0));
        using var refused = server.Get("/untrusted/sum");
        Assert.Equal(HttpStatusCode.BadGateway, refused.StatusCode);
    }

    [Fact]
    public async Task Reuses_kept_alive_upstream_connections()
    {
        await using var kestrel = await StartKestrelAsync();
        var router = new Router();
        var proxy = router.MapProxy("/", kestrel.Url);
        using var server = new RoutedServer(router);
        for (int i = 0; i < 20; i++)
        {
            using var response = server.Get($"/status/{200 + i % 3}");
            Assert.Equal($"status {200 + i % 3}", server.Text(response));
        }
        Assert.Equal(1, proxy.ConnectionsOpened(server.Manager));
        Assert.Equal(1, kestrel.ConnectionCount);
    }

    [Fact]
    public void Pipelined_requests_are_answered_in_order()
    {
        using var upstream = new RawServer(async (socket, _) =>
        {
            for (int i = 0; i < 3; i++)
            {
                string head = await RawServer.ReadHeadAsync(socket);
                string path = head.Split(' ')[1];
                await RawServer.SendAsync(socket, $"HTTP/1.1 200 OK\r\nContent-Length: {path.Length}\r\n\r\n{path}");
            }
        });
        var router = new Router();
        router.MapProxy("/p", upstream.Url);
        using var server = new RoutedServer(router);
        string answer = server.Raw("GET /p/one HTTP/1.1\r\nHost: x\r\n\r\nGET /p/two HTTP/1.1\r\nHost: x\r\n\r\nGET /p/three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        int one = answer.IndexOf("\r\n\r\n/one", StringComparison.Ordinal), two = answer.IndexOf("\r\n\r\n/two", StringComparison.Ordinal), three = answer.IndexOf("\r\n\r\n/three", StringComparison.Ordinal);
        Assert.True(one > 0 && two > one && three > two, answer);
    }

    [Theory]
    [MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void An_upstream_that_refuses_connections_is_a_502(PollerBackend backend)
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0)) { probe.Start(); port = ((IPEndPoint)probe.LocalEndpoint).Port; }
        var router = new Router();
        router.MapProxy("/api", $"http://127.0.0.1:{port}");
        using var server = new RoutedServer(router, backend: backend);
        using var response = server.Get("/api/x");
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains($"127.0.0.1:{port}", server.Text(response));
        using var again = server.Send(HttpMethod.Post, "/api/x", new StringContent("body"));
        Assert.Equal(HttpStatusCode.BadGateway, again.StatusCode);
        server.Log.AssertBalanced(server.Manager.Connections.Where(c => c.State < ConnectionState.Closing).ToArray());
    }

    [Fact]
    public void A_slow_upstream_is_a_504_and_its_connection_is_closed()
    {
        var accepted = new TaskCompletionSource<Socket>();
        using var upstream = new RawServer(async (socket, _) =>
        {
            await RawServer.ReadHeadAsync(socket);
            byte[] one = new byte[1];
            await socket.ReceiveAsync(one); // returns when the proxy gives up and closes
            accepted.TrySetResult(socket);
        });
        var router = new Router();
        router.MapProxy("/api", upstream.Url, new ReverseProxyOptions { UpstreamTimeout = TimeSpan.FromMilliseconds(300) });
        using var server = new RoutedServer(router);
        using var response = server.Get("/api/slow");
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Contains("did not answer within 0.3 s", server.Text(response));
        server.Manager.Until(accepted.Task);
    }

    [Theory]
    [MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void An_upstream_closing_mid_body_cuts_the_client_response_and_leaks_nothing(PollerBackend backend)
    {
        using var upstream = new RawServer(async (socket, _) =>
        {
            await RawServer.ReadHeadAsync(socket);
            await RawServer.SendAsync(socket, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nonly a little");
            socket.Close();
        });
        var router = new Router();
        router.MapProxy("/api", upstream.Url);
        using var server = new RoutedServer(router, backend: backend);
        string answer = server.Raw("GET /api/cut HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", answer);
        Assert.EndsWith("only a little", answer); // and then the connection closed: short of its Content-Length
        server.Manager.Until(() => server.Manager.Connections.Count(c => c.Role != ConnectionRole.Listener) == 0, what: "both connections to close");
        server.Log.AssertBalanced(server.Manager.Connections.Where(c => c.Role == ConnectionRole.Listener).ToArray());
    }

    [Fact]
    public void An_upstream_that_closes_without_answering_is_a_502()
    {
        using var upstream = new RawServer(async (socket, _) =>
        {
            await RawServer.ReadHeadAsync(socket);
            socket.Close();
        });
        var router = new Router();
        router.MapProxy("/api", upstream.Url);
        using var server = new RoutedServer(router);
        using var response = server.Get("/api/x");
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains($"the upstream 127.0.0.1:{new Uri(upstream.Url).Port} ", server.Text(response));
    }

    [Fact]
    public void A_client_that_goes_away_closes_the_upstream_connection()
    {
        var upstreamSawClose = new TaskCompletionSource();
        using var upstream = new RawServer(async (socket, _) =>
        {
            await RawServer.ReadHeadAsync(socket);
            await RawServer.SendAsync(socket, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
            // Keeps streaming (as a live feed would) until the proxy closes this side: a client's close is
            // seen by the proxy's server when it writes to it, as for any half-close.
            try
            {
                for (var clock = System.Diagnostics.Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(20); await Task.Delay(20))
                    await RawServer.SendAsync(socket, "4\r\nmore\r\n");
            }
            catch (SocketException)
            {
                upstreamSawClose.TrySetResult();
            }
        });
        var router = new Router();
        router.MapProxy("/api", upstream.Url);
        using var server = new RoutedServer(router);
        using (var client = Server.RawClient.Connect(server.Port))
        {
            client.Send("GET /api/stream HTTP/1.1\r\nHost: x\r\n\r\n"u8);
            server.Manager.Until(Task.Run(() => Server.RawClient.ReadUntil(client, "hello")));
        }
        server.Manager.Until(upstreamSawClose.Task);
        server.Manager.Until(() => server.Manager.Connections.Count(c => c.Role != ConnectionRole.Listener) == 0, what: "both connections to close");
    }
}

/// <summary>A graceful shutdown is not held up by the proxy's idle upstream connections.</summary>
public sealed class ProxyShutdownTests
{
    [Theory]
    [MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Idle_upstream_connections_close_at_once_when_a_graceful_shutdown_begins(PollerBackend backend)
    {
        using var manager = Loop.Create(backend);
        var upstream = manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage) c.Reply(200, "up"u8, "text/plain");
        });
        var router = new Router();
        var proxy = router.MapProxy("/", $"http://127.0.0.1:{upstream.LocalEndPoint!.Port}");
        var listener = manager.ListenHttp("http://127.0.0.1:0", router.Handle);
        string answer = manager.Until(Server.RawClient.ExchangeAsync(listener.LocalEndPoint!.Port, "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        Assert.EndsWith("\r\n\r\nup", answer);
        Assert.Equal(1, proxy.ConnectionsOpened(manager));
        Assert.Contains(manager.Connections, c => c.Role == ConnectionRole.Outbound); // parked in the pool
        manager.Shutdown(TimeSpan.FromMinutes(5));
        manager.Until(() => manager.Connections.Count == 0, TimeSpan.FromSeconds(20), "every connection to close, long before the shutdown's deadline");
    }
}
