using System.Net;
using System.Net.Sockets;
using Meerkat.Http;
using Meerkat.Http.Client;
using Meerkat.Http.Routing;
using Meerkat.Tests.Core;
using Meerkat.Tests.Http.Server;

namespace Meerkat.Tests.Diagnostics;

/// <summary>HTTP metrics seen through a MeterListener: exact counts and attributes per transaction,
/// completed, failed and aborted, on both sides, with System.Net.Http's HttpClient as the peer.</summary>
public sealed class HttpMetricsTests
{
    private const string Duration = "http.server.request.duration";
    private const string Active = "http.server.active_requests";

    private static Manager Create(PollerBackend backend, TestMeterFactory factory) => Loop.Create(backend, o => o.MeterFactory = factory);

    private static Router ItemsRouter()
    {
        var router = new Router();
        router.MapGet("/items/{id}", (c, e, route) => c.Reply(200, $"item {route["id"]}"));
        router.MapGet("/boom", (c, e, route) => throw new InvalidOperationException("the handler broke"));
        return router;
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void N_routed_requests_give_N_durations_with_method_status_route_version_and_scheme(PollerBackend backend)
    {
        const int N = 25;
        using var factory = new TestMeterFactory();
        using var metrics = new MetricsCollector(factory);
        using var manager = Create(backend, factory);
        var router = ItemsRouter();
        int done = 0;
        var listener = manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
        {
            router.Handle(c, e);
            if (e.Kind == EventKind.HttpDone) done++;
        });
        string url = $"http://127.0.0.1:{listener.LocalEndPoint!.Port}";
        var peer = Task.Run(async () =>
        {
            using var client = new System.Net.Http.HttpClient();
            for (int i = 0; i < N; i++) Assert.Equal($"item {i}", await client.GetStringAsync($"{url}/items/{i}"));
            Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"{url}/nothing/here")).StatusCode);
        });
        manager.Until(peer);
        manager.Until(() => done == N + 1, what: "every HttpDone");

        var durations = metrics.Of(Duration);
        Assert.Equal(N + 1, durations.Count);
        var routed = durations.Where(m => m.Has("http.route")).ToList();
        Assert.Equal(N, routed.Count);
        Assert.All(routed, m =>
        {
            Assert.Equal("/items/{id}", m["http.route"]);
            Assert.Equal("GET", m["http.request.method"]);
            Assert.Equal(200, m["http.response.status_code"]);
            Assert.Equal("1.1", m["network.protocol.version"]);
            Assert.Equal("http", m["url.scheme"]);
            Assert.False(m.Has("error.type"));
            Assert.InRange(m.Value, 0, 30);
        });
        var unrouted = Assert.Single(durations, m => !m.Has("http.route"));
        Assert.Equal(404, unrouted["http.response.status_code"]);
        Assert.False(unrouted.Has("error.type")); // a 4xx is the client's mistake, not the server's error
        var active = metrics.Of(Active);
        Assert.Equal(N + 1, active.Count(m => m.Value == 1));
        Assert.Equal(N + 1, active.Count(m => m.Value == -1));
        Assert.All(active, m => Assert.Equal("GET", m["http.request.method"]));
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_handler_that_throws_gives_a_500_with_error_type_and_one_counted_error(PollerBackend backend)
    {
        using var factory = new TestMeterFactory();
        using var metrics = new MetricsCollector(factory);
        using var manager = Create(backend, factory);
        var router = ItemsRouter();
        var outcomes = new List<HttpOutcome>();
        var listener = manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
        {
            router.Handle(c, e);
            if (e.Kind == EventKind.HttpDone) outcomes.Add(e.Outcome);
        });
        var peer = Task.Run(async () =>
        {
            using var client = new System.Net.Http.HttpClient();
            return (await client.GetAsync($"http://127.0.0.1:{listener.LocalEndPoint!.Port}/boom")).StatusCode;
        });
        Assert.Equal(HttpStatusCode.InternalServerError, manager.Until(peer));
        manager.Until(() => outcomes.Count == 1, what: "the HttpDone");

        var m = Assert.Single(metrics.Of(Duration));
        Assert.Equal(HttpOutcome.HandlerError, outcomes[0]);
        Assert.Equal("handler_error", m["error.type"]);
        Assert.Equal(500, m["http.response.status_code"]);
        Assert.Equal("/boom", m["http.route"]);
        var error = Assert.Single(metrics.Of("meerkat.errors"));
        Assert.Equal("handler_error", error["error.type"]);
        Assert.Equal("accepted", error["meerkat.connection.role"]);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_transaction_cut_by_a_reset_is_measured_once_with_its_outcome_and_no_status(PollerBackend backend)
    {
        using var factory = new TestMeterFactory();
        using var metrics = new MetricsCollector(factory);
        using var manager = Create(backend, factory);
        var outcomes = new List<HttpOutcome>();
        int messages = 0;
        var listener = manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage) messages++; // deferred: never answered
            if (e.Kind == EventKind.HttpDone) outcomes.Add(e.Outcome);
        });
        using var socket = RawClient.Connect(listener.LocalEndPoint!.Port);
        socket.Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"u8);
        manager.Until(() => messages == 1, what: "the request");
        Assert.Equal(1, metrics.Sum(Active));
        socket.LingerState = new LingerOption(true, 0); // close with a reset
        socket.Close();
        manager.Until(() => outcomes.Count == 1, what: "the HttpDone");

        var m = Assert.Single(metrics.Of(Duration));
        Assert.True(outcomes[0] is HttpOutcome.Reset or HttpOutcome.PeerClosed, outcomes[0].ToString());
        Assert.Equal(outcomes[0] == HttpOutcome.Reset ? "reset" : "peer_closed", m["error.type"]);
        Assert.False(m.Has("http.response.status_code"));
        Assert.Equal(0, metrics.Sum(Active));
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Connections_and_bytes_are_counted_by_role_and_direction(PollerBackend backend)
    {
        using var factory = new TestMeterFactory();
        using var metrics = new MetricsCollector(factory);
        using var manager = Create(backend, factory);
        var listener = manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage) c.Reply(200, "hello"u8, "text/plain");
        });
        int port = listener.LocalEndPoint!.Port;
        var request = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        var answers = Enumerable.Range(0, 3).Select(_ => RawClient.ExchangeAsync(port, request)).ToArray();
        var all = Task.WhenAll(answers);
        var responses = manager.Until(all);
        manager.Until(() => metrics.Sum("meerkat.closed_connections", m => (string?)m["meerkat.connection.role"] == "accepted") == 3, what: "three closes");

        Assert.Equal(1, metrics.Sum("meerkat.opened_connections", m => (string?)m["meerkat.connection.role"] == "listener"));
        Assert.Equal(3, metrics.Sum("meerkat.opened_connections", m => (string?)m["meerkat.connection.role"] == "accepted"));
        Assert.Equal(1, metrics.Sum("meerkat.active_connections")); // the listener is still open
        Assert.All(metrics.Of("meerkat.opened_connections"), m => Assert.Equal("tcp", m["network.transport"]));
        Assert.Equal(3 * request.Length, metrics.Sum("meerkat.network.io", m => (string?)m["network.io.direction"] == "receive"));
        Assert.Equal(responses.Sum(r => r.Length), metrics.Sum("meerkat.network.io", m => (string?)m["network.io.direction"] == "transmit"));
        Assert.NotEmpty(metrics.Of("meerkat.loop.lag"));
        Assert.All(metrics.Of("meerkat.loop.lag"), m => Assert.InRange(m.Value, 0, 10));
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_refused_request_head_is_counted_as_an_error_of_its_kind(PollerBackend backend)
    {
        using var factory = new TestMeterFactory();
        using var metrics = new MetricsCollector(factory);
        using var manager = Create(backend, factory);
        var listener = manager.ListenHttp("http://127.0.0.1:0", (c, e) => { }, new HttpServerOptions { Limits = new HttpLimits { MaxHeaderBytes = 1024 } });
        int port = listener.LocalEndPoint!.Port;
        var tooBig = manager.Until(RawClient.ExchangeAsync(port, $"GET / HTTP/1.1\r\nHost: x\r\nX-Big: {new string('a', 2000)}\r\n\r\n"));
        var malformed = manager.Until(RawClient.ExchangeAsync(port, "GET / HTTP/1.1\r\nHost x\r\n\r\n"));
        Assert.StartsWith("HTTP/1.1 431", tooBig);
        Assert.StartsWith("HTTP/1.1 400", malformed);
        var errors = metrics.Of("meerkat.errors");
        Assert.Equal(["bad_request", "request_too_large"], errors.Select(m => (string)m["error.type"]!).Order());
        Assert.Empty(metrics.Of(Duration)); // no transaction began
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void N_client_requests_give_N_durations_and_the_connection_moves_between_idle_and_active(PollerBackend backend)
    {
        const int N = 10;
        using var factory = new TestMeterFactory();
        using var metrics = new MetricsCollector(factory);
        using var manager = Create(backend, factory);
        var listener = manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage) c.Reply(e.Request!.PathIs("/missing"u8) ? 404 : 200, "x"u8);
        });
        int port = listener.LocalEndPoint!.Port;
        int done = 0;
        bool closed = false;
        Connection client = null!;
        client = manager.ConnectHttp($"http://127.0.0.1:{port}", (c, e) =>
        {
            if (e.Kind == EventKind.HttpDone && ++done < N) c.SendRequest(new HttpClientRequest("GET", $"http://127.0.0.1:{port}/{(done == N - 1 ? "missing" : "ok")}"));
            if (e.Kind == EventKind.Close) closed = true;
        });
        client.SendRequest(new HttpClientRequest("GET", $"http://127.0.0.1:{port}/ok"));
        manager.Until(() => done == N, what: "every response");
        client.Close();
        manager.Until(() => closed, what: "the close");

        var durations = metrics.Of("http.client.request.duration");
        Assert.Equal(N, durations.Count);
        Assert.All(durations, m =>
        {
            Assert.Equal("GET", m["http.request.method"]);
            Assert.Equal("127.0.0.1", m["server.address"]);
            Assert.Equal(port, m["server.port"]);
            Assert.Equal("http", m["url.scheme"]);
            Assert.Equal("1.1", m["network.protocol.version"]);
        });
        Assert.Equal(N - 1, durations.Count(m => 200.Equals(m["http.response.status_code"]) && !m.Has("error.type")));
        var missing = Assert.Single(durations, m => 404.Equals(m["http.response.status_code"]));
        Assert.Equal("404", missing["error.type"]); // a client counts a 4xx as an error (OpenTelemetry's HTTP span status)
        var open = metrics.Of("http.client.open_connections");
        Assert.Equal(0, open.Sum(m => m.Value));
        Assert.Equal(N, open.Count(m => m.Value == 1 && (string?)m["http.connection.state"] == "active"));
        Assert.Equal(0, open.Where(m => (string?)m["http.connection.state"] == "active").Sum(m => m.Value));
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Requests_refused_by_a_closed_connection_end_with_an_error_type(PollerBackend backend)
    {
        using var factory = new TestMeterFactory();
        using var metrics = new MetricsCollector(factory);
        using var manager = Create(backend, factory);
        // A server that reads the request and closes without answering.
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        peer.Listen();
        var server = Task.Run(() =>
        {
            using var s = peer.Accept();
            var buffer = new byte[4096];
            int got = 0;
            while (!System.Text.Encoding.Latin1.GetString(buffer, 0, got).Contains("\r\n\r\n")) got += s.Receive(buffer, got, buffer.Length - got, SocketFlags.None);
        });
        int port = ((IPEndPoint)peer.LocalEndPoint!).Port;
        bool closed = false;
        var client = manager.ConnectHttp($"http://127.0.0.1:{port}", (c, e) => { if (e.Kind == EventKind.Close) closed = true; });
        client.SendRequest(new HttpClientRequest("GET", $"http://127.0.0.1:{port}/"));
        manager.Until(() => closed, what: "the connection's end");
        server.Wait(Loop.Deadline);

        var m = Assert.Single(metrics.Of("http.client.request.duration"));
        Assert.True(m.Has("error.type"));
        Assert.False(m.Has("http.response.status_code"));
    }
}
