using System.Net.Sockets;
using System.Text;
using Meerkat.Http;
using Meerkat.Http.Client;
using Meerkat.Tests.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Meerkat.Tests.Http.Client;

/// <summary>The loop-level client: ConnectHttp + SendRequest, responses as events.</summary>
public sealed class HttpClientConnectionTests
{
    /// <summary>Collects one connection's HTTP events.</summary>
    private sealed class Transcript
    {
        public readonly EventLog Log = new();
        public readonly List<Meerkat.Http.Client.HttpResponse> Done = [];
        /// <summary>How each aborted transaction ended (its HttpDone said so).</summary>
        public readonly List<HttpOutcome> Aborted = [];
        public readonly MemoryStream Body = new();
        public int Pieces;
        public byte[]? Message;
        public Exception? Error;
        public bool Closed;

        public Transcript()
        {
            Log.Next = (c, e) =>
            {
                switch (e.Kind)
                {
                    case EventKind.HttpBody: Pieces++; Body.Write(e.Data); break;
                    case EventKind.HttpMessage: Message = e.Data.ToArray(); break;
                    case EventKind.HttpDone: if (e.IsAborted) Aborted.Add(e.Outcome); else Done.Add(e.Response!); break;
                    case EventKind.Error: Error = e.Error; break;
                    case EventKind.Close: Closed = true; break;
                }
            };
        }
    }

    private static async Task<Kestrel> StartKestrel() => await Kestrel.StartAsync(app =>
    {
        app.MapGet("/length/{n:long}", async (HttpContext c, long n) =>
        {
            c.Response.ContentLength = n;
            await Responses.WritePatternAsync(c.Response, n);
        });
        app.MapGet("/chunked/{n:long}", async (HttpContext c, long n) => await Responses.WritePatternAsync(c.Response, n, 1000));
        app.MapMethods("/head", ["HEAD", "GET"], (HttpContext c) => { c.Response.ContentLength = 12345; return Task.CompletedTask; });
        app.MapGet("/204", (HttpContext c) => { c.Response.StatusCode = 204; return Task.CompletedTask; });
        app.MapGet("/304", (HttpContext c) => { c.Response.StatusCode = 304; return Task.CompletedTask; });
        app.MapPost("/echo", async (HttpContext c) => { c.Response.ContentType = "application/octet-stream"; await c.Request.Body.CopyToAsync(c.Response.Body); });
    });

    private static Transcript Get(Manager manager, string url, out Connection connection, Action<HttpClientRequest>? configure = null)
    {
        var t = new Transcript();
        connection = manager.ConnectHttp(url, t.Log.Handler);
        var request = new HttpClientRequest("GET", url);
        configure?.Invoke(request);
        connection.SendRequest(request);
        return t;
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public async Task ContentLengthBodyArrivesInPiecesThenMessageThenDone(PollerBackend backend)
    {
        await using var server = await StartKestrel();
        using var manager = Loop.Create(backend);
        var t = Get(manager, server.Url + "/length/300000", out var connection);
        manager.Until(() => t.Done.Count == 1);
        Assert.Equal(Responses.Pattern(0, 300000), t.Body.ToArray());
        Assert.True(t.Pieces > 1);
        Assert.Empty(t.Message!);
        Assert.Equal(200, t.Done[0].StatusCode);
        Assert.Equal(300000, t.Done[0].ContentLength);
        var kinds = t.Log.Of(connection).Where(k => k is >= EventKind.HttpHeaders and <= EventKind.HttpDone).ToList();
        Assert.Equal(EventKind.HttpHeaders, kinds[0]);
        Assert.Equal([EventKind.HttpMessage, EventKind.HttpDone], kinds[^2..]);
        connection.Close();
        manager.Until(() => t.Closed);
        t.Log.AssertBalanced();
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public async Task ChunkedBodyIsDechunked(PollerBackend backend)
    {
        await using var server = await StartKestrel();
        using var manager = Loop.Create(backend);
        var t = Get(manager, server.Url + "/chunked/100000", out var connection);
        manager.Until(() => t.Done.Count == 1);
        Assert.Equal(HttpFraming.Chunked, t.Done[0].Framing);
        Assert.Equal(Responses.Pattern(0, 100000), t.Body.ToArray());
    }

    [Fact]
    public async Task BufferedResponseArrivesWholeInHttpMessage()
    {
        await using var server = await StartKestrel();
        using var manager = Loop.Create(PollerBackend.Auto);
        var t = Get(manager, server.Url + "/chunked/5000", out _, r => r.BufferResponse = true);
        manager.Until(() => t.Done.Count == 1);
        Assert.Equal(Responses.Pattern(0, 5000), t.Message);
    }

    [Fact]
    public async Task HeadAnd204And304HaveNoBodyAndTheConnectionIsReused()
    {
        await using var server = await StartKestrel();
        using var manager = Loop.Create(PollerBackend.Auto);
        var t = new Transcript();
        var connection = manager.ConnectHttp(server.Url, t.Log.Handler);
        connection.SendRequest(new HttpClientRequest("HEAD", server.Url + "/head"));
        connection.SendRequest(new HttpClientRequest("GET", server.Url + "/204"));
        connection.SendRequest(new HttpClientRequest("GET", server.Url + "/304"));
        connection.SendRequest(new HttpClientRequest("GET", server.Url + "/length/10"));
        manager.Until(() => t.Done.Count == 4);
        Assert.Equal([200, 204, 304, 200], t.Done.Select(r => r.StatusCode));
        Assert.Equal(12345, t.Done[0].ContentLength);
        Assert.Equal(10, t.Body.Length);
        Assert.Equal(1, server.ConnectionCount);
        Assert.Null(t.Error);
    }

    [Fact]
    public async Task PostWithWholeAndStreamedBodies()
    {
        await using var server = await StartKestrel();
        using var manager = Loop.Create(PollerBackend.Auto);
        var t = new Transcript();
        var connection = manager.ConnectHttp(server.Url, t.Log.Handler);
        connection.SendRequest(new HttpClientRequest("POST", server.Url + "/echo") { Content = "hello"u8.ToArray() });
        connection.SendRequestHead(new HttpClientRequest("POST", server.Url + "/echo"), -1);
        connection.SendRequestBody(" chunked"u8);
        connection.SendRequestBody(" world"u8);
        connection.EndRequestBody();
        var expect = new HttpClientRequest("POST", server.Url + "/echo") { Content = "!"u8.ToArray() }.AddHeader("Expect", "100-continue");
        connection.SendRequest(expect);
        manager.Until(() => t.Done.Count == 3 || t.Closed, TimeSpan.FromSeconds(5), $"3 responses");
        Assert.True(t.Done.Count == 3, $"{t.Done.Count} {t.Error} {Encoding.ASCII.GetString(t.Body.ToArray())}");
        Assert.Equal("hello chunked world!", Encoding.ASCII.GetString(t.Body.ToArray()));
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void PeerDyingMidBodyRaisesErrorNotSuccess(PollerBackend backend)
    {
        using var server = new RawServer(async (socket, _) =>
        {
            await RawServer.ReadHeadAsync(socket);
            await RawServer.SendAsync(socket, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + new string('x', 400));
            socket.Shutdown(SocketShutdown.Both);
        });
        using var manager = Loop.Create(backend);
        var t = Get(manager, server.Url + "/", out _);
        manager.Until(() => t.Closed);
        Assert.Empty(t.Done);
        Assert.Equal([HttpOutcome.PeerClosed], t.Aborted); // the transaction still ends, and says how
        var error = Assert.IsType<HttpClientException>(t.Error);
        Assert.True(error.IsResponseStarted);
        Assert.Contains("400 of 1000", error.Message);
        t.Log.AssertBalanced();
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void ChunkedBodyCutShortIsAnError(PollerBackend backend)
    {
        using var server = new RawServer(async (socket, _) =>
        {
            await RawServer.ReadHeadAsync(socket);
            await RawServer.SendAsync(socket, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
            socket.Shutdown(SocketShutdown.Both);
        });
        using var manager = Loop.Create(backend);
        var t = Get(manager, server.Url + "/", out _);
        manager.Until(() => t.Closed);
        Assert.Empty(t.Done);
        Assert.Equal([HttpOutcome.PeerClosed], t.Aborted);
        Assert.IsType<HttpClientException>(t.Error);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void ReadUntilCloseFromAnHttp10Server(PollerBackend backend)
    {
        using var server = new RawServer(async (socket, _) =>
        {
            await RawServer.ReadHeadAsync(socket);
            await RawServer.SendAsync(socket, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n");
            for (int i = 0; i < 50; i++) await RawServer.SendAsync(socket, new string((char)('a' + i % 26), 1000));
            socket.Shutdown(SocketShutdown.Both);
        });
        using var manager = Loop.Create(backend);
        var t = Get(manager, server.Url + "/", out _);
        manager.Until(() => t.Closed);
        Assert.Null(t.Error);
        Assert.Single(t.Done);
        Assert.Equal(HttpFraming.UntilClose, t.Done[0].Framing);
        Assert.Equal(50_000, t.Body.Length);
        t.Log.AssertBalanced();
    }

    [Fact]
    public void TrailersAreExposedAndInterimResponsesSkipped()
    {
        using var server = new RawServer(async (socket, _) =>
        {
            await RawServer.ReadHeadAsync(socket);
            await RawServer.SendAsync(socket, "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n"
                + "3\r\nabc\r\n0\r\nX-Sum: 42\r\n\r\n");
            await RawServer.ReadHeadAsync(socket);
        });
        using var manager = Loop.Create(PollerBackend.Auto);
        var t = Get(manager, server.Url + "/", out var connection);
        manager.Until(() => t.Done.Count == 1);
        Assert.Equal("42", t.Done[0].GetTrailer("x-sum"));
        Assert.Equal("abc", Encoding.ASCII.GetString(t.Body.ToArray()));
        Assert.Equal(1, t.Log.Count(EventKind.HttpHeaders));
        connection.Close();
        manager.Until(() => t.Closed);
    }

    [Fact]
    public void ServerClosingBeforeAnsweringIsAnErrorWithNoResponseStarted()
    {
        using var server = new RawServer(async (socket, _) =>
        {
            await RawServer.ReadHeadAsync(socket);
            socket.Shutdown(SocketShutdown.Both);
        });
        using var manager = Loop.Create(PollerBackend.Auto);
        var t = Get(manager, server.Url + "/", out _);
        manager.Until(() => t.Closed);
        var error = Assert.IsType<HttpClientException>(t.Error);
        Assert.False(error.IsResponseStarted);
    }

    [Fact]
    public void PausedBodyStopsEventsUntilResumed()
    {
        using var server = new RawServer(async (socket, _) =>
        {
            await RawServer.ReadHeadAsync(socket);
            await RawServer.SendAsync(socket, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nabcdef");
            await RawServer.ReadHeadAsync(socket);
        });
        using var manager = Loop.Create(PollerBackend.Auto);
        var t = new Transcript();
        var connection = manager.ConnectHttp(server.Url, t.Log.Handler);
        t.Log.Next += (c, e) => { if (e.Kind == EventKind.HttpHeaders) c.PauseResponseBody(); };
        connection.SendRequest(new HttpClientRequest("GET", server.Url + "/"));
        manager.Until(() => t.Log.Count(EventKind.HttpHeaders) == 1);
        for (int i = 0; i < 5; i++) manager.Poll(5);
        Assert.Equal(0, t.Pieces);
        connection.ResumeResponseBody();
        Assert.Equal(0, t.Pieces); // nothing is raised inside the call: it continues in the work phase
        manager.Until(() => t.Closed);
        Assert.Equal("abcdef", Encoding.ASCII.GetString(t.Body.ToArray()));
        Assert.Null(t.Error);
    }

    [Fact]
    public void OtherSchemesAreRejectedClearly()
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        var ex = Assert.Throws<NotSupportedException>(() => manager.ConnectHttp("ftp://example.com/", null));
        Assert.Contains("ftp", ex.Message);
    }
}
