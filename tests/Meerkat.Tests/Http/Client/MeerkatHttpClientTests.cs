using System.Diagnostics;
using System.Net.Sockets;
using Meerkat.Http.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Meerkat.Tests.Http.Client;

/// <summary>The awaitable client against Kestrel and raw peers.</summary>
public sealed class MeerkatHttpClientTests
{
    internal static MeerkatHttpClient NewClient(Action<MeerkatHttpClientOptions>? configure = null)
    {
        var options = new MeerkatHttpClientOptions { Manager = new ManagerOptions { CheckInvariants = true } };
        configure?.Invoke(options);
        return new MeerkatHttpClient(options);
    }

    private static Task<Kestrel> StartKestrel() => Kestrel.StartAsync(app =>
    {
        int flaky = 0;
        app.MapGet("/hello", () => "hello");
        app.MapGet("/length/{n:long}", async (HttpContext c, long n) => { c.Response.ContentLength = n; await Responses.WritePatternAsync(c.Response, n); });
        app.MapGet("/redirect/{code:int}", (HttpContext c, int code) => { c.Response.StatusCode = code; c.Response.Headers.Location = "/echo-method"; return Task.CompletedTask; });
        app.MapGet("/loop", (HttpContext c) => { c.Response.StatusCode = 302; c.Response.Headers.Location = "/loop"; return Task.CompletedTask; });
        app.MapMethods("/echo-method", ["GET", "POST", "PUT"], async (HttpContext c) =>
        {
            using var reader = new StreamReader(c.Request.Body);
            string body = await reader.ReadToEndAsync();
            await c.Response.WriteAsync($"{c.Request.Method} {body} auth={c.Request.Headers.Authorization}");
        });
        app.MapPost("/redirect-post/{code:int}", (HttpContext c, int code) => { c.Response.StatusCode = code; c.Response.Headers.Location = "/echo-method"; return Task.CompletedTask; });
        app.MapGet("/slow-head", async (HttpContext c) => { await Task.Delay(Timeout.Infinite, c.RequestAborted); }); // stalls until the client gives up
        app.MapGet("/stall-body", async (HttpContext c) =>
        {
            c.Response.ContentLength = 100;
            await c.Response.WriteAsync("x");
            await c.Response.Body.FlushAsync();
            await Task.Delay(Timeout.Infinite, c.RequestAborted); // the rest never comes
        });
        app.MapGet("/fields/{n:int}", (HttpContext c, int n) =>
        {
            c.Response.StatusCode = 200 + n % 3;
            c.Response.Headers["X-Same"] = "same";
            c.Response.Headers["X-Count"] = n.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (n % 4 == 0) c.Response.Headers["X-Extra"] = "extra";
            return Task.CompletedTask;
        });
        app.MapGet("/busy", (HttpContext c) =>
        {
            if (Interlocked.Increment(ref flaky) % 3 != 0) { c.Response.StatusCode = 503; c.Response.Headers.RetryAfter = "0"; return Task.CompletedTask; }
            return c.Response.WriteAsync("finally");
        });
    });

    [Fact]
    public async Task HundredSequentialRequestsUseOneConnection()
    {
        await using var server = await StartKestrel();
        await using var client = NewClient();
        for (int i = 0; i < 100; i++) Assert.Equal("hello", await client.GetStringAsync(server.Url + "/hello"));
        Assert.Equal(1, server.ConnectionCount);
        Assert.Equal(1, client.ConnectionsOpened);
    }

    /// <summary>A connection reuses the strings of its previous response head where the bytes are
    /// equal; every response must still read exactly what its own head said.</summary>
    [Fact]
    public async Task ResponsesOnOneConnectionCarryTheirOwnFieldsAndReasons()
    {
        await using var server = await StartKestrel();
        await using var client = NewClient();
        for (int n = 0; n < 30; n++)
        {
            using var response = await client.GetAsync(server.Url + "/fields/" + n);
            Assert.Equal(200 + n % 3, response.StatusCode);
            Assert.Equal((n % 3) switch { 0 => "OK", 1 => "Created", _ => "Accepted" }, response.ReasonPhrase);
            var custom = response.Headers.Where(f => f.Key.StartsWith("X-", StringComparison.Ordinal)).Select(f => $"{f.Key}: {f.Value}");
            string[] expected = n % 4 == 0 ? ["X-Same: same", $"X-Count: {n}", "X-Extra: extra"] : ["X-Same: same", $"X-Count: {n}"];
            Assert.Equal(expected, custom);
            Assert.Equal("same", response.GetHeader("x-same"));
        }
        Assert.Equal(1, client.ConnectionsOpened);
    }

    [Fact]
    public async Task ConcurrentRequestsRespectMaxConnectionsPerOrigin()
    {
        await using var server = await StartKestrel();
        await using var client = NewClient(o => o.MaxConnectionsPerOrigin = 3);
        var bodies = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.GetBytesAsync(server.Url + "/length/100000")));
        Assert.All(bodies, b => Assert.Equal(100000, b.Length));
        Assert.InRange(server.ConnectionCount, 1, 3);
    }

    [Fact]
    public async Task ServerClosingAKeptAliveConnectionIsRetriedTransparently()
    {
        using var server = new RawServer(async (socket, _) =>
        {
            await RawServer.ReadHeadAsync(socket);
            await RawServer.SendAsync(socket, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            // Waits for the next request and closes without answering: a keep-alive race lost.
            await RawServer.ReadHeadAsync(socket);
        });
        await using var client = NewClient();
        Assert.Equal("ok", await client.GetStringAsync(server.Url + "/a"));
        Assert.Equal("ok", await client.GetStringAsync(server.Url + "/b"));
        Assert.Equal(2, server.Accepted);
    }

    [Fact]
    public async Task ServerClosingAnIdleConnectionIsReplaced()
    {
        using var server = new RawServer(async (socket, _) =>
        {
            await RawServer.ReadHeadAsync(socket);
            // Keep-alive by the headers, then closed at once: the pool must notice and drop it.
            await RawServer.SendAsync(socket, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            socket.Shutdown(SocketShutdown.Both);
        });
        await using var client = NewClient();
        for (int i = 0; i < 5; i++) Assert.Equal("ok", await client.GetStringAsync(server.Url + "/"));
        Assert.Equal(5, server.Accepted);
    }

    [Fact]
    public async Task PeerDyingMidBodyFailsTheRead()
    {
        using var server = new RawServer(async (socket, _) =>
        {
            await RawServer.ReadHeadAsync(socket);
            await RawServer.SendAsync(socket, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly this");
            socket.Shutdown(SocketShutdown.Both);
        });
        await using var client = NewClient();
        var error = await Assert.ThrowsAsync<HttpClientException>(() => client.GetBytesAsync(server.Url + "/"));
        Assert.True(error.IsResponseStarted);
    }

    [Fact]
    public async Task ReadUntilCloseBodyFromHttp10()
    {
        using var server = new RawServer(async (socket, _) =>
        {
            await RawServer.ReadHeadAsync(socket);
            await RawServer.SendAsync(socket, "HTTP/1.0 200 OK\r\n\r\nto the end");
            socket.Shutdown(SocketShutdown.Both);
        });
        await using var client = NewClient();
        Assert.Equal("to the end", await client.GetStringAsync(server.Url + "/"));
    }

    [Theory]
    [InlineData(301, "GET")]
    [InlineData(302, "GET")]
    [InlineData(303, "GET")]
    [InlineData(307, "POST")]
    [InlineData(308, "POST")]
    public async Task RedirectsChangeOrKeepTheMethod(int code, string method)
    {
        await using var server = await StartKestrel();
        await using var client = NewClient();
        var request = new HttpClientRequest("POST", server.Url + $"/redirect-post/{code}") { Content = "data"u8.ToArray() }.AddHeader("Authorization", "secret");
        using var response = await client.SendAsync(request);
        string text = await response.ReadAsStringAsync();
        Assert.Equal(method == "GET" ? "GET  auth=secret" : "POST data auth=secret", text);
        Assert.EndsWith("/echo-method", response.RequestUri.AbsolutePath);
    }

    [Fact]
    public async Task RedirectsAcrossOriginsDropAuthorizationAndLoopsAreLimited()
    {
        await using var server = await StartKestrel();
        await using var other = await StartKestrel();
        using var redirector = new RawServer(async (socket, _) =>
        {
            await RawServer.ReadHeadAsync(socket);
            await RawServer.SendAsync(socket, $"HTTP/1.1 302 Found\r\nLocation: {other.Url}/echo-method\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        });
        await using var client = NewClient(o => o.MaxRedirects = 3);
        using var response = await client.SendAsync(new HttpClientRequest("GET", redirector.Url + "/").AddHeader("Authorization", "secret"));
        Assert.Equal("GET  auth=", await response.ReadAsStringAsync());
        var error = await Assert.ThrowsAsync<HttpClientException>(() => client.GetAsync(server.Url + "/loop"));
        Assert.Contains("too many redirects", error.Message);
        await Assert.ThrowsAsync<NotSupportedException>(() => client.GetAsync("ftp://127.0.0.1/"));
    }

    [Fact]
    public async Task ConnectTimeout()
    {
        // A listener whose accept queue is full drops further SYNs: the handshake never completes.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        listener.Listen(0);
        var endPoint = (System.Net.IPEndPoint)listener.LocalEndPoint!;
        var fillers = Enumerable.Range(0, 4).Select(_ => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)).ToList();
        var pending = fillers.Select(f => f.ConnectAsync(endPoint)).ToList();
        // Backlog 0 holds one completed connection; once one filler is in, further SYNs are dropped.
        await Task.WhenAny(pending);
        try
        {
            await using var client = NewClient(o => o.ConnectTimeout = TimeSpan.FromMilliseconds(300));
            var clock = Stopwatch.StartNew();
            var error = await Assert.ThrowsAsync<TimeoutException>(() => client.GetAsync($"http://127.0.0.1:{endPoint.Port}/"));
            Assert.Contains("connecting", error.Message);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));
        }
        finally
        {
            fillers.ForEach(f => f.Dispose());
        }
    }

    [Fact]
    public async Task ResponseHeadersTimeout()
    {
        await using var server = await StartKestrel();
        await using var client = NewClient(o => o.ResponseHeadersTimeout = TimeSpan.FromMilliseconds(200));
        var error = await Assert.ThrowsAsync<TimeoutException>(() => client.GetAsync(server.Url + "/slow-head"));
        Assert.Contains("no response", error.Message);
    }

    [Fact]
    public async Task BodyIdleTimeout()
    {
        await using var server = await StartKestrel();
        await using var client = NewClient(o => o.BodyIdleTimeout = TimeSpan.FromMilliseconds(200));
        using var response = await client.GetAsync(server.Url + "/stall-body");
        var error = await Assert.ThrowsAsync<TimeoutException>(() => response.ReadAsBytesAsync());
        Assert.Contains("stalled", error.Message);
    }

    [Fact]
    public async Task TotalTimeout()
    {
        await using var server = await StartKestrel();
        await using var client = NewClient(o => o.TotalTimeout = TimeSpan.FromMilliseconds(300));
        var error = await Assert.ThrowsAsync<TimeoutException>(() => client.GetAsync(server.Url + "/slow-head"));
        Assert.Contains("total timeout", error.Message);
    }

    [Fact]
    public async Task CancellationAbortsTheRequest()
    {
        await using var server = await StartKestrel();
        await using var client = NewClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetAsync(server.Url + "/slow-head", cts.Token));
    }

    [Fact]
    public async Task RetriesHonourRetryAfterOn503()
    {
        await using var server = await StartKestrel();
        await using var client = NewClient(o => o.MaxRetries = 3);
        Assert.Equal("finally", await client.GetStringAsync(server.Url + "/busy"));
        Assert.Equal(3, server.RequestCount);
    }

    [Fact]
    public async Task RetriesConnectFailuresWithBackoffThenGivesUp()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // nothing listens there now: connection refused
        await using var client = NewClient(o => { o.MaxRetries = 2; o.RetryBaseDelay = TimeSpan.FromMilliseconds(20); });
        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<IOException>(() => client.GetAsync($"http://127.0.0.1:{port}/"));
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(40), $"{clock.Elapsed}");
    }

    [Fact]
    public async Task RetryAfterParsesSecondsAndDates()
    {
        using var server = new RawServer(async (socket, n) =>
        {
            await RawServer.ReadHeadAsync(socket);
            string retry = n == 0 ? DateTimeOffset.UtcNow.AddSeconds(-1).ToString("r") : "0";
            await RawServer.SendAsync(socket, n < 2
                ? $"HTTP/1.1 429 Too Many\r\nRetry-After: {retry}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        });
        await using var client = NewClient(o => o.MaxRetries = 2);
        Assert.Equal("ok", await client.GetStringAsync(server.Url + "/"));
    }

    [Fact]
    public async Task A_417_to_100_continue_is_repeated_without_the_expectation()
    {
        // RFC 9110 §10.1.1: the 417 says the chain does not do expectations, not that the request is refused.
        var heads = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var server = new RawServer(async (socket, _) =>
        {
            string head = await RawServer.ReadHeadAsync(socket);
            heads.Enqueue(head);
            if (head.Contains("Expect: 100-continue", StringComparison.Ordinal))
            {
                await RawServer.SendAsync(socket, "HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n");
                return;
            }
            var body = new byte[5];
            for (int got = 0; got < 5;) got += await socket.ReceiveAsync(body.AsMemory(got));
            await RawServer.SendAsync(socket, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" + System.Text.Encoding.ASCII.GetString(body));
        });
        await using var client = NewClient();
        var request = new HttpClientRequest("POST", server.Url + "/up") { Content = "hello"u8.ToArray() }.AddHeader("Expect", "100-continue");
        using var response = await client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(200, response.StatusCode);
        Assert.Equal("hello", await response.ReadAsStringAsync());
        Assert.Equal(2, heads.Count);
        Assert.DoesNotContain("Expect", heads.Last(), StringComparison.Ordinal);
    }
}
