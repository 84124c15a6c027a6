using System.Collections.Concurrent;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Meerkat.Diagnostics;
using Meerkat.Http.Client;
using Meerkat.Tests.Diagnostics;
using Meerkat.Tests.Http2;
using Meerkat.Tests.Tls;
using Meerkat.Tls;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Logging;
using HttpContext = Microsoft.AspNetCore.Http.HttpContext;

namespace Meerkat.Tests.Http.Client;

/// <summary>
/// MeerkatHttpClient multiplexing its requests as streams of one HTTP/2 connection per origin, against
/// Kestrel (h2c with prior knowledge, and h2 by ALPN over TLS): the server counts the connections it
/// accepted and the requests in flight on each, so "one connection" and "the server's stream limit"
/// are read off the peer, not off the client's own bookkeeping.
/// </summary>
public sealed class Http2PoolTests
{
    /// <summary>Kestrel speaking HTTP/2, with requests the test holds open and releases.</summary>
    private sealed class Server : IAsyncDisposable
    {
        private readonly SemaphoreSlim changed = new(0);
        private readonly ConcurrentDictionary<string, int> inFlight = new();
        private int accepts;

        public WebApplication App { get; private set; } = null!;
        public string Origin { get; private set; } = "";
        public int Accepts => Volatile.Read(ref accepts);
        public ConcurrentDictionary<string, TaskCompletionSource> Holds { get; } = new();
        public ConcurrentDictionary<string, IConnectionLifetimeNotificationFeature> Lifetimes { get; } = new();
        public ConcurrentDictionary<string, int> MostInFlight { get; } = new();
        public ConcurrentQueue<string> Aborted { get; } = new();
        public ConcurrentQueue<int> StreamIds { get; } = new();
        public ConcurrentQueue<string?> TraceParents { get; } = new();
        public int Held => Holds.Count(h => !h.Value.Task.IsCompleted);

        public static async Task<Server> StartAsync(bool tls, int maxStreams = 100)
        {
            var server = new Server();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            if (tls) builder.WebHost.UseKestrelHttpsConfiguration();
            builder.WebHost.UseUrls(tls ? "https://127.0.0.1:0" : "http://127.0.0.1:0");
            builder.WebHost.ConfigureKestrel(o =>
            {
                o.Limits.Http2.MaxStreamsPerConnection = maxStreams;
                if (tls) o.ConfigureHttpsDefaults(h => h.ServerCertificate = TestCertificates.Localhost);
                o.ConfigureEndpointDefaults(l =>
                {
                    l.Protocols = tls ? HttpProtocols.Http1AndHttp2 : HttpProtocols.Http2;
                    l.Use(next => context =>
                    {
                        Interlocked.Increment(ref server.accepts);
                        if (context.Features.Get<IConnectionLifetimeNotificationFeature>() is { } lifetime) server.Lifetimes[context.ConnectionId] = lifetime;
                        server.Signal();
                        return next(context);
                    });
                });
            });
            var app = builder.Build();
            app.MapGet("/hello/{name}", (HttpContext context, string name) =>
            {
                server.TraceParents.Enqueue(context.Request.Headers["traceparent"].FirstOrDefault());
                return $"hello {name} on {context.Connection.Id}";
            });
            app.MapGet("/hold/{key}", async (HttpContext context, string key) =>
            {
                string connection = context.Connection.Id;
                server.StreamIds.Enqueue(context.Features.Get<IHttp2StreamIdFeature>()?.StreamId ?? -1);
                int now = server.inFlight.AddOrUpdate(connection, 1, (_, n) => n + 1);
                server.MostInFlight.AddOrUpdate(connection, now, (_, most) => Math.Max(most, now));
                var release = server.Holds.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                server.Signal();
                try
                {
                    await release.Task.WaitAsync(context.RequestAborted);
                    await Microsoft.AspNetCore.Http.HttpResponseWritingExtensions.WriteAsync(context.Response, $"held {key} on {connection}");
                }
                catch (OperationCanceledException)
                {
                    server.Aborted.Enqueue(key);
                }
                finally
                {
                    server.inFlight.AddOrUpdate(connection, 0, (_, n) => n - 1);
                    server.Signal();
                }
            });
            app.MapGet("/goaway", (HttpContext context) =>
            {
                // A graceful close of this connection: Kestrel sends GOAWAY, the streams in flight finish.
                server.Lifetimes[context.Connection.Id].RequestClose();
                return "bye";
            });
            await app.StartAsync();
            server.App = app;
            server.Origin = tls ? app.Urls.First().Replace("127.0.0.1", "localhost", StringComparison.Ordinal) : app.Urls.First();
            return server;
        }

        private void Signal() => changed.Release();

        /// <summary>Waits (bounded) until the condition holds, woken by each change on the server.</summary>
        public async Task WaitAsync(Func<bool> condition, string what)
        {
            var deadline = Stopwatch.StartNew();
            while (!condition())
            {
                var left = TimeSpan.FromSeconds(20) - deadline.Elapsed;
                if (left <= TimeSpan.Zero || !await changed.WaitAsync(left)) Assert.Fail($"timed out waiting for {what}");
            }
        }

        public void Release(string key) => Holds[key].TrySetResult();

        public async ValueTask DisposeAsync()
        {
            foreach (var hold in Holds.Values) hold.TrySetResult();
            await App.DisposeAsync();
        }
    }

    private static MeerkatHttpClientOptions Options(bool tls, int maxConnections = 8, ManagerOptions? manager = null)
    {
        var options = tls
            ? new MeerkatHttpClientOptions { Connection = new HttpClientConnectionOptions { EnableHttp2 = true }, Tls = new TlsClientOptions { TrustedRoots = TestCertificates.Roots } }
            : new MeerkatHttpClientOptions { Connection = new HttpClientConnectionOptions { Http2PriorKnowledge = true } };
        options.MaxConnectionsPerOrigin = maxConnections;
        options.Manager = manager;
        return options;
    }

    private static async Task<string> ReadAsync(Task<HttpClientResponse> sent)
    {
        using var response = await sent;
        Assert.Equal(2, response.Head.VersionMajor);
        return await response.ReadAsStringAsync();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Concurrent_requests_are_streams_of_one_connection(bool tls)
    {
        await using var server = await Server.StartAsync(tls);
        using var client = new MeerkatHttpClient(Options(tls));
        var requests = Enumerable.Range(0, 20).Select(i => ReadAsync(client.GetAsync($"{server.Origin}/hold/r{i}"))).ToArray();
        await server.WaitAsync(() => server.Held == 20, "twenty requests in flight at once");
        Assert.Equal(1, server.Accepts);
        foreach (var key in server.Holds.Keys) server.Release(key);
        var bodies = await Task.WhenAll(requests);
        string connection = Assert.Single(server.MostInFlight.Keys);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"held r{i} on {connection}"), bodies);
        Assert.Equal(20, server.MostInFlight[connection]);
        Assert.Equal(1, client.ConnectionsOpened);
    }

    [Fact]
    public async Task Requests_beyond_the_servers_stream_limit_open_another_connection()
    {
        await using var server = await Server.StartAsync(tls: false, maxStreams: 4);
        using var client = new MeerkatHttpClient(Options(tls: false));
        await ReadAsync(client.GetAsync($"{server.Origin}/hello/warm")); // the server's SETTINGS are known from here
        var requests = Enumerable.Range(0, 6).Select(i => ReadAsync(client.GetAsync($"{server.Origin}/hold/r{i}"))).ToArray();
        await server.WaitAsync(() => server.Held == 6, "six requests in flight");
        Assert.Equal(2, server.Accepts);
        Assert.Equal([4, 2], server.MostInFlight.Values.OrderDescending());
        foreach (var key in server.Holds.Keys) server.Release(key);
        await Task.WhenAll(requests);
        Assert.Equal(2, client.ConnectionsOpened);
    }

    [Fact]
    public async Task At_the_connection_limit_requests_wait_for_a_stream_rather_than_exceed_the_servers_limit()
    {
        await using var server = await Server.StartAsync(tls: false, maxStreams: 4);
        using var client = new MeerkatHttpClient(Options(tls: false, maxConnections: 1));
        await ReadAsync(client.GetAsync($"{server.Origin}/hello/warm"));
        var requests = Enumerable.Range(0, 6).Select(i => ReadAsync(client.GetAsync($"{server.Origin}/hold/r{i}"))).ToArray();
        await server.WaitAsync(() => server.Held == 4, "four requests in flight");
        foreach (var key in server.Holds.Keys) server.Release(key);
        await server.WaitAsync(() => server.Holds.Count == 6, "the two that waited");
        foreach (var key in server.Holds.Keys) server.Release(key);
        await Task.WhenAll(requests);
        Assert.Equal(1, server.Accepts);
        Assert.Equal(4, server.MostInFlight.Values.Single());
        // No stream was refused and sent again: the identifiers are consecutive after the warm-up's (1).
        Assert.Equal([3, 5, 7, 9, 11, 13], server.StreamIds.Order());
    }

    [Fact]
    public async Task Cancelling_one_request_resets_its_stream_and_leaves_the_others_intact()
    {
        await using var server = await Server.StartAsync(tls: false);
        using var client = new MeerkatHttpClient(Options(tls: false));
        using var cancel = new CancellationTokenSource();
        var cancelled = client.GetAsync($"{server.Origin}/hold/a", cancel.Token);
        var kept = ReadAsync(client.GetAsync($"{server.Origin}/hold/b"));
        await server.WaitAsync(() => server.Held == 2, "both requests in flight");
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        await server.WaitAsync(() => server.Aborted.Contains("a"), "the server to see stream a reset");
        server.Release("b");
        string body = await kept;
        Assert.StartsWith("held b on ", body);
        Assert.Equal([], server.Aborted.Where(k => k != "a"));
        Assert.StartsWith("hello after on ", await ReadAsync(client.GetAsync($"{server.Origin}/hello/after")));
        Assert.Equal(1, server.Accepts);
    }

    [Fact]
    public async Task A_goaway_drains_the_connection_and_new_requests_go_to_a_fresh_one()
    {
        await using var server = await Server.StartAsync(tls: false);
        using var client = new MeerkatHttpClient(Options(tls: false, maxConnections: 1));
        var inFlight = ReadAsync(client.GetAsync($"{server.Origin}/hold/long"));
        await server.WaitAsync(() => server.Held == 1, "the long request in flight");
        string first = server.MostInFlight.Keys.Single();
        Assert.Equal("bye", await ReadAsync(client.GetAsync($"{server.Origin}/goaway")));

        // Whether the GOAWAY or the next request goes first is a race on the wire; either way every request
        // is answered, and once the GOAWAY is in, requests go to a fresh connection although the old one
        // still carries the long request (a draining connection does not count against the limit of one).
        string? on = null;
        for (int i = 0; i < 200 && (on is null || on == first); i++)
        {
            string body = await ReadAsync(client.GetAsync($"{server.Origin}/hello/n{i}"));
            on = body[(body.LastIndexOf(' ') + 1)..];
        }

        Assert.NotEqual(first, on);
        Assert.Equal(2, server.Accepts);
        server.Release("long");
        Assert.Equal($"held long on {first}", await inFlight);
        Assert.Equal($"hello later on {on}", await ReadAsync(client.GetAsync($"{server.Origin}/hello/later")));
        Assert.Equal(2, server.Accepts);
    }

    [Fact]
    public async Task Each_stream_is_measured_and_traced_with_protocol_version_2()
    {
        await using var server = await Server.StartAsync(tls: false);
        using var factory = new TestMeterFactory();
        using var metrics = new MetricsCollector(factory);
        var trace = ActivityTraceId.CreateRandom();
        var stopped = new ConcurrentQueue<Activity>();
        using var spanEnded = new SemaphoreSlim(0);
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is MeerkatTelemetry.ActivitySourceName or "Meerkat.Tests.Http2Pool",
            Sample = (ref ActivityCreationOptions<ActivityContext> o) => o.Parent.TraceId == trace || o.Parent == default && o.Source.Name == "Meerkat.Tests.Http2Pool"
                ? ActivitySamplingResult.AllDataAndRecorded : ActivitySamplingResult.None,
            ActivityStopped = a =>
            {
                if (a.TraceId != trace || a.Kind != ActivityKind.Client) return;
                stopped.Enqueue(a);
                spanEnded.Release();
            },
        };
        ActivitySource.AddActivityListener(listener);
        using var source = new ActivitySource("Meerkat.Tests.Http2Pool");
        using var client = new MeerkatHttpClient(Options(tls: false, manager: new ManagerOptions { MeterFactory = factory }));
        // The caller's span stays open while its requests run (a stopped span cannot be made current to parent them).
        using (var root = source.StartActivity("test", ActivityKind.Internal, new ActivityContext(trace, ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded)))
        {
            Assert.NotNull(root);
            await Task.WhenAll(Enumerable.Range(0, 3).Select(i => ReadAsync(client.GetAsync($"{server.Origin}/hello/t{i}"))));
        }

        // Recorded on the loop thread as each stream closes (the metric, then the span's end), which may
        // come just after the reader has the whole body.
        for (int i = 0; i < 3; i++) Assert.True(await spanEnded.WaitAsync(TimeSpan.FromSeconds(10)), "a client span to end");
        var durations = metrics.Of("http.client.request.duration");
        Assert.Equal(3, durations.Count);
        int port = new Uri(server.Origin).Port;
        Assert.All(durations, m =>
        {
            Assert.Equal("2", m["network.protocol.version"]);
            Assert.Equal(200, m["http.response.status_code"]);
            Assert.Equal("GET", m["http.request.method"]);
            Assert.Equal(port, m["server.port"]);
            Assert.False(m.Has("error.type"));
        });
        var spans = stopped.ToArray();
        Assert.Equal(3, spans.Length);
        Assert.All(spans, s => Assert.Equal("2", s.GetTagItem("network.protocol.version")));
        Assert.Equal(spans.Select(s => $"00-{trace}-{s.SpanId}-01").Order(), server.TraceParents.Order());
    }

    [Fact]
    public async Task A_connection_error_fails_exactly_the_requests_on_that_connection()
    {
        // A server played frame by frame: its first connection allows two streams, answers the first request,
        // then, once two more request heads are in, sends a WINDOW_UPDATE of 0 on the connection: a connection
        // error (RFC 9113 §6.9). Its second connection answers its request only after the first one is gone.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var firstGone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var goAwayCode = new TaskCompletionSource<uint>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = Task.Run(async () =>
        {
            using var first = await listener.AcceptSocketAsync();
            var second = listener.AcceptSocketAsync();
            await using var one = new NetworkStream(first);
            await ReadPrefaceAsync(one);
            await one.WriteAsync(Raw.SettingsFrame((0x3, 2)));
            int heads = 0;
            while (await ReadFrameAsync(one) is { } frame)
            {
                if (frame.Type == Raw.Settings && (frame.Flags & Raw.Ack) == 0) await one.WriteAsync(Raw.SettingsAck);
                if (frame.Type == Raw.GoAway) goAwayCode.TrySetResult(BinaryPrimitives.ReadUInt32BigEndian(frame.Payload.AsSpan(4)));
                if (frame.Type != Raw.Headers) continue;
                if (++heads == 1) await one.WriteAsync(Raw.Concat(Raw.HeadersFrame(frame.StreamId, Raw.EndHeaders, Raw.Response(200)), Raw.DataFrame(frame.StreamId, Raw.EndStream, "warm")));
                else if (heads == 3) await one.WriteAsync(Raw.WindowUpdateFrame(0, 0));
            }

            firstGone.TrySetResult();
            using var other = await second;
            await using var two = new NetworkStream(other);
            await ReadPrefaceAsync(two);
            await two.WriteAsync(Raw.SettingsFrame());
            while (await ReadFrameAsync(two) is { } frame)
            {
                if (frame.Type == Raw.Settings && (frame.Flags & Raw.Ack) == 0) await two.WriteAsync(Raw.SettingsAck);
                if (frame.Type == Raw.Headers) await two.WriteAsync(Raw.Concat(Raw.HeadersFrame(frame.StreamId, Raw.EndHeaders, Raw.Response(200)), Raw.DataFrame(frame.StreamId, Raw.EndStream, "c")));
            }
        });

        string origin = $"http://127.0.0.1:{port}";
        using (var client = new MeerkatHttpClient(Options(tls: false)))
        {
            Assert.Equal("warm", await ReadAsync(client.GetAsync($"{origin}/warm")));
            var a = client.GetAsync($"{origin}/a");
            var b = client.GetAsync($"{origin}/b");
            var c = client.GetAsync($"{origin}/c"); // no room on the first connection (two streams): the second
            var errorA = await Assert.ThrowsAsync<HttpClientException>(() => a);
            var errorB = await Assert.ThrowsAsync<HttpClientException>(() => b);
            Assert.Contains("/a: the stream ended before a response", errorA.Message);
            Assert.Contains("/b: the stream ended before a response", errorB.Message);
            Assert.Contains("WINDOW_UPDATE of 0 on the connection", errorA.Message);
            Assert.Equal(1u, await goAwayCode.Task.WaitAsync(TimeSpan.FromSeconds(10))); // GOAWAY PROTOCOL_ERROR
            await firstGone.Task.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal("c", await ReadAsync(c));
            Assert.Equal(2, client.ConnectionsOpened);
        }

        await server.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static async Task ReadPrefaceAsync(NetworkStream stream)
    {
        var preface = new byte[24];
        await stream.ReadExactlyAsync(preface);
        Assert.Equal(Raw.ClientPreface, preface);
    }

    private sealed record RawFrame(byte Type, byte Flags, int StreamId, byte[] Payload);

    /// <summary>The next whole frame, or null at the end of the stream.</summary>
    private static async Task<RawFrame?> ReadFrameAsync(NetworkStream stream)
    {
        var header = new byte[9];
        try
        {
            await stream.ReadExactlyAsync(header);
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException)
        {
            return null;
        }

        var payload = new byte[header[0] << 16 | header[1] << 8 | header[2]];
        await stream.ReadExactlyAsync(payload);
        return new RawFrame(header[3], header[4], BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(5)) & int.MaxValue, payload);
    }
}
