using System.Buffers;
using System.Text;
using Meerkat.Http;
using Meerkat.Http2;

namespace Meerkat.Tests.Http2;

/// <summary>
/// A client core and a server core joined by a fake network (no sockets): many concurrent
/// streams, bodies both ways under small flow-control windows, bytes delivered in random
/// pieces. Every request must get its own body echoed back, and every stream must close exactly
/// once on each side.
/// </summary>
public class Http2PairTests
{
    [Theory]
    [InlineData(1, 100, 1_000, 8, 30_000)]     // tiny stream windows: many WINDOW_UPDATEs and StreamWritable
    [InlineData(2, 200, 65_535, 20, 100_000)]  // default-size windows, more concurrency, bodies over the connection window
    [InlineData(3, 50, 16_384, 100, 200_000)]  // the connection window is the bottleneck
    public void Many_concurrent_echoes_under_small_windows_all_complete(int seed, int requests, int window, int concurrency, int maxBody)
    {
        var options = new Http2Options { InitialWindowSize = window, ConnectionWindowSize = 65_535, MaxConcurrentStreams = concurrency, HeaderTableSize = 512, EncoderTableSize = 512 };
        var pair = new Pair(options, seed);
        var random = new Random(seed);
        byte[][] bodies = Enumerable.Range(0, requests).Select(i => Body(random, i % 7 == 0 ? 0 : random.Next(0, maxBody))).ToArray();
        var echo = new EchoServer(pair.Server);
        var client = new TestClient(pair.Client, bodies);
        pair.Run(() => { client.Step(); return client.IsDone; }, echo.Handle, client.Handle);

        Assert.Equal(requests, client.Responses.Count);
        for (int i = 0; i < requests; i++)
        {
            Assert.True(bodies[i].AsSpan().SequenceEqual(client.Responses[i].ToArray()), $"request {i}: {bodies[i].Length} octets sent, {client.Responses[i].Length} echoed");
        }

        Assert.All(client.Closes.Values, outcomes => Assert.Equal([HttpOutcome.Completed], outcomes));
        Assert.Equal(requests, client.Closes.Count);
        Assert.Equal(requests, echo.Closes.Count);
        Assert.All(echo.Closes.Values, outcomes => Assert.Equal([HttpOutcome.Completed], outcomes));
        Assert.Equal(0, pair.Client.Connection.ActiveStreamCount);
        Assert.Equal(0, pair.Server.Connection.ActiveStreamCount);
        Assert.True(echo.MaxConcurrent <= concurrency);
        Assert.True(client.WritableEvents > 0 || maxBody < window, "small windows must have blocked a sender at least once");
    }

    [Fact]
    public void Byte_by_byte_delivery_gives_the_same_result()
    {
        var options = new Http2Options { InitialWindowSize = 300, MaxConcurrentStreams = 3 };
        var pair = new Pair(options, seed: 0, maxPiece: 1);
        var random = new Random(5);
        byte[][] bodies = Enumerable.Range(0, 12).Select(i => Body(random, random.Next(0, 2_000))).ToArray();
        var echo = new EchoServer(pair.Server);
        var client = new TestClient(pair.Client, bodies);
        pair.Run(() => { client.Step(); return client.IsDone; }, echo.Handle, client.Handle);
        for (int i = 0; i < bodies.Length; i++) Assert.Equal(bodies[i], client.Responses[i].ToArray());
    }

    [Fact]
    public void Graceful_shutdown_between_a_client_and_a_server_finishes_what_was_accepted()
    {
        var pair = new Pair(new Http2Options { MaxConcurrentStreams = 10 }, seed: 9);
        var random = new Random(9);
        byte[][] bodies = Enumerable.Range(0, 10).Select(i => Body(random, 5_000)).ToArray();
        var echo = new EchoServer(pair.Server);
        var client = new TestClient(pair.Client, bodies);
        client.Step(); // ten requests with their bodies, then one that the shutdown overtakes
        foreach (Recorded e in pair.Server.Feed(pair.Client.TakeOutput())) echo.Handle(e);
        pair.Server.Connection.BeginShutdown(pair.Server.Now);
        int late = pair.Client.Connection.OpenStream(new Http2HeaderList().Add(":method", "GET").Add(":scheme", "http").Add(":authority", "a").Add(":path", "/late"), endStream: true);
        pair.Run(() => client.IsDone && pair.Server.Connection.State == Http2ConnectionState.Closed, echo.Handle, client.Handle);
        Assert.Equal(10, client.Responses.Values.Count(r => r.Length == 5_000));
        Assert.Equal(11, echo.Closes.Count); // the late request was still accepted: it left before the first GOAWAY arrived
        Assert.Equal(late, pair.Server.Connection.GoAwaySentLastStreamId);
        Assert.Equal(Http2ConnectionState.Closed, pair.Server.Connection.State);
    }

    [Fact]
    public void A_warm_connection_allocates_nothing_per_request()
    {
        var toServer = new ArrayBufferWriter<byte>(64 * 1024);
        var toClient = new ArrayBufferWriter<byte>(64 * 1024);
        long now = 1;
        var client = new Http2Connection(isServer: false, toServer, now);
        var server = new Http2Connection(isServer: true, toClient, now);
        var request = new Http2HeaderList();
        var response = new Http2HeaderList();
        int completed = 0;

        // One request and its response: no delegates, no assertions inside (they allocate).
        void Exchange()
        {
            request.Clear();
            request.Add(":method", "GET").Add(":scheme", "http").Add(":authority", "localhost:8080").Add(":path", "/plaintext").Add("user-agent", "h2load");
            client.OpenStream(request, endStream: true);
            for (int round = 0; round < 3; round++)
            {
                ReadOnlySpan<byte> bytes = toServer.WrittenSpan;
                for (int offset = 0; ;)
                {
                    Http2Event e = server.Receive(bytes[offset..], now, out int used);
                    offset += used;
                    if (e.Kind == Http2EventKind.NeedMoreData) break;
                    if (e.Kind != Http2EventKind.Headers) continue;
                    response.Clear();
                    response.AddStatus(200).Add("content-type", "text/plain").Add("server", "meerkat");
                    server.SendHeaders(e.StreamId, response, endStream: false);
                    server.TrySendData(e.StreamId, "Hello, World!"u8, endStream: true, now, out _);
                }

                toServer.ResetWrittenCount();
                bytes = toClient.WrittenSpan;
                for (int offset = 0; ;)
                {
                    Http2Event e = client.Receive(bytes[offset..], now, out int used);
                    offset += used;
                    if (e.Kind == Http2EventKind.NeedMoreData) break;
                    if (e.Kind == Http2EventKind.StreamClosed && e.Outcome == HttpOutcome.Completed) completed++;
                }

                toClient.ResetWrittenCount();
            }
        }

        for (int i = 0; i < 50; i++) Exchange(); // warm up: tables, pools, dictionaries
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200; i++) Exchange();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(250, completed);
        Assert.Equal(0, allocated);
    }

    private static byte[] Body(Random random, int length)
    {
        var body = new byte[length];
        random.NextBytes(body);
        return body;
    }

    /// <summary>Two endpoints and a network that delivers each side's output to the other in random pieces.</summary>
    private sealed class Pair(Http2Options options, int seed, int maxPiece = 20_000)
    {
        private readonly Random _random = new(seed);

        public Endpoint Client { get; } = new(isServer: false, options);

        public Endpoint Server { get; } = new(isServer: true, options);

        /// <summary>Moves bytes both ways and hands each new event to its side until <paramref name="isDone"/> (bounded).</summary>
        public void Run(Func<bool> isDone, Action<Recorded> server, Action<Recorded> client)
        {
            for (int round = 0; round < 1_000_000; round++)
            {
                if (isDone()) return;
                bool moved = Move(Client, Server, server) | Move(Server, Client, client);
                moved |= Drain(Server, server) | Drain(Client, client);
                if (!moved && isDone()) return;
                if (!moved) Assert.Fail($"stalled: client {Client.Connection.State} with {Client.Connection.ActiveStreamCount} streams, server {Server.Connection.State} with {Server.Connection.ActiveStreamCount}");
            }

            Assert.Fail("did not finish in 1,000,000 rounds");
        }

        private bool Move(Endpoint from, Endpoint to, Action<Recorded> handle)
        {
            byte[] bytes = from.TakeOutput();
            for (int at = 0; at < bytes.Length;)
            {
                int piece = Math.Min(bytes.Length - at, _random.Next(1, maxPiece + 1));
                foreach (Recorded e in to.Feed(bytes[at..(at + piece)])) handle(e);
                at += piece;
            }

            return bytes.Length > 0;
        }

        private static bool Drain(Endpoint endpoint, Action<Recorded> handle)
        {
            List<Recorded> events = endpoint.Drain();
            foreach (Recorded e in events) handle(e);
            return events.Count > 0;
        }
    }
}
