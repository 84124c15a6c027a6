using System.Net.Sockets;
using Meerkat.Http;
using Meerkat.Http.Client;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Http.Client;

/// <summary>Every client transaction ends (DESIGN.md §3.4): on an outbound connection each HttpHeaders
/// is followed by exactly one HttpDone, carrying how it ended, before Close, on every path; and every
/// request of the awaitable client completes, whatever happens to the loop under it.</summary>
public sealed class TransactionEndTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>The HTTP events of outbound connections, as "headers", "done Outcome", "error", "close".</summary>
    private sealed class TransactionLog
    {
        private readonly Dictionary<long, List<string>> events = [];
        private readonly HashSet<long> watched = [];

        public Exception? DoneError { get; private set; }

        public ConnectionHandler Wrap(ConnectionHandler? inner) => (c, e) =>
        {
            Record(c, e);
            inner?.Invoke(c, e);
        };

        /// <summary>Wraps the handler of every outbound connection not yet watched (the pool's own).</summary>
        public void Watch(Manager manager)
        {
            foreach (var c in manager.Connections)
                if (c.Role == ConnectionRole.Outbound && watched.Add(c.Id)) c.Handler = Wrap(c.Handler);
        }

        public List<string> All => events.Values.SelectMany(list => list).ToList();

        public bool IsClosed => events.Count > 0 && events.Values.All(list => list.Count > 0 && list[^1] == "close");

        private void Record(Connection c, Event e)
        {
            if (!events.TryGetValue(c.Id, out var list)) events[c.Id] = list = [];
            switch (e.Kind)
            {
                case EventKind.HttpHeaders: list.Add("headers"); break;
                case EventKind.HttpDone:
                    list.Add($"done {e.Outcome}");
                    if (e.IsAborted) DoneError = e.Error;
                    break;
                case EventKind.Error: list.Add("error"); break;
                case EventKind.Close: list.Add("close"); break;
            }
        }

        /// <summary>Each connection's transactions ended exactly once, before its Close.</summary>
        public void AssertEachEndedOnce()
        {
            foreach (var (id, list) in events)
            {
                bool open = false;
                foreach (var entry in list)
                {
                    if (entry == "headers") { Assert.False(open, $"#{id}: {string.Join(", ", list)}"); open = true; }
                    else if (entry.StartsWith("done", StringComparison.Ordinal)) { Assert.True(open, $"#{id}: {string.Join(", ", list)}"); open = false; }
                    else Assert.False(open, $"#{id}: {entry} inside a transaction: {string.Join(", ", list)}");
                }
            }
        }
    }

    /// <summary>A server that answers with a head and 3 of 100 body bytes, then runs <paramref name="then"/>.</summary>
    private static RawServer MidBody(Func<Socket, Task> then) => new(async (socket, _) =>
    {
        await RawServer.ReadHeadAsync(socket);
        await RawServer.SendAsync(socket, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc");
        await then(socket);
    });

    /// <summary>Waits until the client is gone (its close reaches us).</summary>
    private static async Task UntilClientCloses(Socket socket)
    {
        var buffer = new byte[256];
        try
        {
            while (await socket.ReceiveAsync(buffer) > 0) { }
        }
        catch (SocketException)
        {
        }
    }

    private static (Manager Manager, TransactionLog Log, Connection Connection) Get(RawServer server, PollerBackend backend, Action<Connection, Event>? handler = null)
    {
        var manager = Loop.Create(backend);
        var log = new TransactionLog();
        var connection = manager.ConnectHttp(server.Url, log.Wrap((c, e) => handler?.Invoke(c, e)));
        connection.SendRequest(new HttpClientRequest("GET", server.Url + "/"));
        return (manager, log, connection);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Completed(PollerBackend backend)
    {
        using var server = new RawServer(async (socket, _) =>
        {
            await RawServer.ReadHeadAsync(socket);
            await RawServer.SendAsync(socket, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            await UntilClientCloses(socket);
        });
        var (manager, log, connection) = Get(server, backend, (c, e) => { if (e.Kind == EventKind.HttpDone) c.Close(); });
        using (manager) manager.Until(() => log.IsClosed, what: "the close");
        Assert.Equal(["headers", "done Completed", "close"], log.All);
        log.AssertEachEndedOnce();
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void The_peer_closing_mid_body_ends_it_with_PeerClosed(PollerBackend backend)
    {
        using var server = MidBody(socket => { socket.Shutdown(SocketShutdown.Both); return Task.CompletedTask; });
        var (manager, log, _) = Get(server, backend);
        using (manager) manager.Until(() => log.IsClosed, what: "the close");
        Assert.Equal(["headers", "done PeerClosed", "error", "close"], log.All);
        Assert.Contains("3 of 100", Assert.IsType<HttpClientException>(log.DoneError).Message);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_reset_mid_body_ends_it_with_Reset(PollerBackend backend)
    {
        var headersSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var server = MidBody(async socket =>
        {
            await headersSeen.Task.WaitAsync(Deadline);
            socket.LingerState = new LingerOption(true, 0); // close with RST
            socket.Close();
        });
        var (manager, log, _) = Get(server, backend, (c, e) => { if (e.Kind == EventKind.HttpHeaders) headersSeen.TrySetResult(); });
        using (manager) manager.Until(() => log.IsClosed, what: "the close");
        Assert.Equal(["headers", "done Reset", "error", "close"], log.All);
        Assert.IsType<SocketException>(log.DoneError!.InnerException);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_malformed_body_ends_it_with_ProtocolError(PollerBackend backend)
    {
        using var server = new RawServer(async (socket, _) =>
        {
            await RawServer.ReadHeadAsync(socket);
            await RawServer.SendAsync(socket, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nnot-hex\r\n");
            await UntilClientCloses(socket);
        });
        var (manager, log, _) = Get(server, backend);
        using (manager) manager.Until(() => log.IsClosed, what: "the close");
        Assert.Equal(["headers", "done ProtocolError", "error", "close"], log.All);
        Assert.Contains("chunk", Assert.IsType<HttpClientException>(log.DoneError).Message);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_handler_that_throws_ends_it_with_HandlerError(PollerBackend backend)
    {
        using var server = MidBody(UntilClientCloses);
        var (manager, log, _) = Get(server, backend, (c, e) => { if (e.Kind == EventKind.HttpBody) throw new InvalidOperationException("the application broke"); });
        using (manager) manager.Until(() => log.IsClosed, what: "the close");
        Assert.Equal(["headers", "done HandlerError", "error", "close"], log.All);
        Assert.Equal("the application broke", log.DoneError!.InnerException!.Message);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void The_application_closing_mid_body_ends_it_with_Cancelled(PollerBackend backend)
    {
        using var server = MidBody(UntilClientCloses);
        var (manager, log, _) = Get(server, backend, (c, e) => { if (e.Kind == EventKind.HttpBody) c.Close(); });
        using (manager) manager.Until(() => log.IsClosed, what: "the close");
        Assert.Equal(["headers", "done Cancelled", "close"], log.All);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Disposing_the_manager_mid_body_ends_it_with_Disposed(PollerBackend backend)
    {
        using var server = MidBody(UntilClientCloses);
        bool body = false;
        var (manager, log, _) = Get(server, backend, (c, e) => body |= e.Kind == EventKind.HttpBody);
        manager.Until(() => body, what: "the first body bytes");
        manager.Dispose();
        Assert.Equal(["headers", "done Disposed", "close"], log.All);
    }

    // ------------------------------------------------------------------ through MeerkatHttpClient

    /// <summary>A client on a manager this test polls, its connections watched.</summary>
    private static (Manager Manager, MeerkatHttpClient Client, TransactionLog Log) NewClient(Action<MeerkatHttpClientOptions>? configure = null)
    {
        var manager = Loop.Create(PollerBackend.Auto);
        var options = new MeerkatHttpClientOptions();
        configure?.Invoke(options);
        return (manager, new MeerkatHttpClient(manager, options), new TransactionLog());
    }

    private static void PollUntil(Manager manager, TransactionLog log, Func<bool> condition, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > Deadline) Assert.Fail($"timed out waiting for {what}");
            manager.Poll(10);
            log.Watch(manager);
        }
    }

    [Fact]
    public async Task A_body_deadline_ends_it_with_Deadline_and_the_reader_gets_a_TimeoutException()
    {
        using var server = MidBody(UntilClientCloses);
        var (manager, client, log) = NewClient(o => o.BodyIdleTimeout = TimeSpan.FromMilliseconds(300));
        using (manager)
        using (client)
        {
            var read = Task.Run(async () =>
            {
                using var response = await client.SendAsync(new HttpClientRequest("GET", server.Url + "/"));
                return await response.ReadAsStringAsync();
            });
            PollUntil(manager, log, () => read.IsCompleted, "the read to fail");
            var error = await Assert.ThrowsAsync<TimeoutException>(() => read);
            Assert.Contains("stalled", error.Message);
            PollUntil(manager, log, () => log.IsClosed, "the close");
        }
        Assert.Equal(["headers", "done Deadline", "error", "close"], log.All);
    }

    [Fact]
    public async Task Cancelling_mid_body_ends_it_with_Cancelled_and_the_reader_gets_an_OperationCanceledException()
    {
        using var server = MidBody(UntilClientCloses);
        var (manager, client, log) = NewClient();
        using var cancel = new CancellationTokenSource();
        using (manager)
        using (client)
        {
            var read = Task.Run(async () =>
            {
                using var response = await client.SendAsync(new HttpClientRequest("GET", server.Url + "/"), cancel.Token);
                var buffer = new byte[100];
                int n = await response.Content.ReadAsync(buffer);
                cancel.Cancel();
                while (n > 0) n = await response.Content.ReadAsync(buffer);
                return n;
            });
            PollUntil(manager, log, () => read.IsCompleted, "the read to fail");
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read);
            PollUntil(manager, log, () => log.IsClosed, "the close");
        }
        Assert.Equal(["headers", "done Cancelled", "close"], log.All);
    }

    [Fact]
    public async Task Disposing_the_manager_under_a_client_completes_every_pending_request()
    {
        var heads = 0;
        using var server = new RawServer(async (socket, index) =>
        {
            await RawServer.ReadHeadAsync(socket);
            if (index == 0) await RawServer.SendAsync(socket, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc"); // one mid-body
            Interlocked.Increment(ref heads);
            await UntilClientCloses(socket); // the other never answers
        });
        var (manager, client, log) = NewClient(o => o.MaxConnectionsPerOrigin = 2);
        using (client)
        {
            var reading = Task.Run(async () =>
            {
                using var response = await client.SendAsync(new HttpClientRequest("GET", server.Url + "/0"));
                return await response.ReadAsStringAsync();
            });
            PollUntil(manager, log, () => log.All.Contains("headers"), "the first response head");
            var waiting = client.GetStringAsync(server.Url + "/1");
            PollUntil(manager, log, () => Volatile.Read(ref heads) == 2, "the second request to arrive");
            var queued = client.GetStringAsync(server.Url + "/2"); // the origin is full: it waits for a connection
            for (int i = 0; i < 3; i++) manager.Poll(1);
            var posted = client.GetStringAsync(server.Url + "/3"); // not even picked up by the loop yet
            manager.Dispose();
            foreach (var call in new Task[] { reading, waiting, queued, posted })
            {
                var error = await Assert.ThrowsAsync<ObjectDisposedException>(() => call.WaitAsync(Deadline));
                Assert.Contains("manager", error.Message);
            }
            // A manager already gone refuses at once, naming it.
            var late = await Assert.ThrowsAsync<ObjectDisposedException>(() => client.GetStringAsync(server.Url + "/4").WaitAsync(Deadline));
            Assert.Contains("manager", late.Message);
        }
        Assert.Contains("done Disposed", log.All);
        log.AssertEachEndedOnce();
        Assert.True(log.IsClosed);
    }

    [Fact]
    public async Task A_response_head_deadline_fails_the_call_before_any_transaction_began()
    {
        using var server = new RawServer(async (socket, _) =>
        {
            await RawServer.ReadHeadAsync(socket);
            await UntilClientCloses(socket);
        });
        var (manager, client, log) = NewClient(o => o.ResponseHeadersTimeout = TimeSpan.FromMilliseconds(300));
        using (manager)
        using (client)
        {
            var call = client.GetStringAsync(server.Url + "/");
            PollUntil(manager, log, () => call.IsCompleted, "the call to fail");
            Assert.Contains("no response", (await Assert.ThrowsAsync<TimeoutException>(() => call)).Message);
            PollUntil(manager, log, () => log.IsClosed, "the close");
        }
        Assert.Equal(["error", "close"], log.All);
    }
}
