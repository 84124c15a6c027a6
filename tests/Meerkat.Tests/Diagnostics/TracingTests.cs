using System.Collections.Concurrent;
using System.Diagnostics;
using Meerkat.Diagnostics;
using Meerkat.Http;
using Meerkat.Http.Client;
using Meerkat.Http.Routing;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Diagnostics;

/// <summary>Spans seen through an ActivityListener: a client span's traceparent makes the server span
/// its child, across a real socket; the server span is current in the handler.</summary>
public sealed class TracingTests
{
    private static readonly ActivitySource TestSource = new("Meerkat.Tests.Tracing");

    /// <summary>Samples only the spans of one trace (tests run in parallel), and keeps those that end.</summary>
    private sealed class TraceCollector : IDisposable
    {
        private readonly ActivityListener listener;

        public TraceCollector(ActivityTraceId trace)
        {
            listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name is MeerkatTelemetry.ActivitySourceName or "Meerkat.Tests.Tracing",
                Sample = (ref ActivityCreationOptions<ActivityContext> options) =>
                    options.Parent.TraceId == trace || options.Parent == default && options.Source.Name == "Meerkat.Tests.Tracing"
                        ? ActivitySamplingResult.AllDataAndRecorded : ActivitySamplingResult.None,
                ActivityStopped = activity => { if (activity.TraceId == trace) Stopped.Enqueue(activity); },
            };
            ActivitySource.AddActivityListener(listener);
        }

        public ConcurrentQueue<Activity> Stopped { get; } = new();

        public void Dispose() => listener.Dispose();
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_client_span_parents_the_server_span_through_traceparent(PollerBackend backend)
    {
        using var manager = Loop.Create(backend);
        var trace = ActivityTraceId.CreateRandom();
        using var collector = new TraceCollector(trace);
        var router = new Router();
        string? receivedTraceParent = null;
        Activity? currentInHandler = null;
        router.MapGet("/items/{id}", (c, e, route) =>
        {
            receivedTraceParent = e.Request!.GetHeader("traceparent");
            currentInHandler = Activity.Current;
            c.Reply(200, "ok");
        });
        var listener = manager.ListenHttp("http://127.0.0.1:0", router.Handle);
        int port = listener.LocalEndPoint!.Port;
        int done = 0;
        // The test's own root span, current while the request is sent on the loop thread.
        using (var root = TestSource.StartActivity("test", ActivityKind.Internal, new ActivityContext(trace, ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded)))
        {
            Assert.NotNull(root);
            var client = manager.ConnectHttp($"http://127.0.0.1:{port}", (c, e) => { if (e.Kind == EventKind.HttpDone) done++; });
            client.SendRequest(new HttpClientRequest("GET", $"http://127.0.0.1:{port}/items/7"));
            Assert.Same(root, Activity.Current); // sending does not leave the client span current
        }
        manager.Until(() => done == 1 && collector.Stopped.Count(a => a.Kind == ActivityKind.Server) == 1, what: "both spans");

        var clientSpan = Assert.Single(collector.Stopped, a => a.Kind == ActivityKind.Client);
        var serverSpan = Assert.Single(collector.Stopped, a => a.Kind == ActivityKind.Server);
        Assert.Equal(MeerkatTelemetry.ActivitySourceName, clientSpan.Source.Name);
        Assert.Equal($"00-{trace}-{clientSpan.SpanId}-01", receivedTraceParent);
        Assert.Equal(clientSpan.SpanId, serverSpan.ParentSpanId);
        Assert.Equal(trace, serverSpan.TraceId);
        Assert.True(serverSpan.HasRemoteParent);
        Assert.Same(serverSpan, currentInHandler);
        Assert.Equal("GET /items/{id}", serverSpan.DisplayName);
        Assert.Equal("/items/{id}", serverSpan.GetTagItem("http.route"));
        Assert.Equal(200, serverSpan.GetTagItem("http.response.status_code"));
        Assert.Equal("/items/7", serverSpan.GetTagItem("url.path"));
        Assert.Equal("GET", clientSpan.DisplayName);
        Assert.Equal(200, clientSpan.GetTagItem("http.response.status_code"));
        Assert.Equal($"http://127.0.0.1:{port}/items/7", clientSpan.GetTagItem("url.full"));
        Assert.Equal(ActivityStatusCode.Unset, serverSpan.Status);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_client_request_made_in_a_server_handler_is_a_child_of_the_server_span(PollerBackend backend)
    {
        using var manager = Loop.Create(backend);
        var trace = ActivityTraceId.CreateRandom();
        using var collector = new TraceCollector(trace);
        int backendPort = manager.ListenHttp("http://127.0.0.1:0", (c, e) => { if (e.Kind == EventKind.HttpMessage) c.Reply(200, "backend"); }).LocalEndPoint!.Port;
        // A proxy: each request is forwarded to the backend, answered when the backend answers.
        var front = manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind != EventKind.HttpMessage) return;
            var upstream = c.Manager.ConnectHttp($"http://127.0.0.1:{backendPort}", (u, ue) =>
            {
                if (ue.Kind == EventKind.HttpDone) { c.Reply(200, "via proxy"); u.Close(); }
            });
            upstream.SendRequest(new HttpClientRequest("GET", $"http://127.0.0.1:{backendPort}/b"));
        });
        var peer = Task.Run(async () =>
        {
            using var client = new System.Net.Http.HttpClient();
            using var request = new System.Net.Http.HttpRequestMessage(System.Net.Http.HttpMethod.Get, $"http://127.0.0.1:{front.LocalEndPoint!.Port}/a");
            request.Headers.TryAddWithoutValidation("traceparent", $"00-{trace}-{ActivitySpanId.CreateRandom()}-01");
            request.Headers.TryAddWithoutValidation("tracestate", "vendor=1");
            return await (await client.SendAsync(request)).Content.ReadAsStringAsync();
        });
        Assert.Equal("via proxy", manager.Until(peer));
        manager.Until(() => collector.Stopped.Count == 3, what: "three spans");

        var spans = collector.Stopped.ToList();
        var frontSpan = Assert.Single(spans, a => a.Kind == ActivityKind.Server && (string?)a.GetTagItem("url.path") == "/a");
        var clientSpan = Assert.Single(spans, a => a.Kind == ActivityKind.Client);
        var backendSpan = Assert.Single(spans, a => a.Kind == ActivityKind.Server && (string?)a.GetTagItem("url.path") == "/b");
        Assert.Equal("vendor=1", frontSpan.TraceStateString);
        Assert.Equal(frontSpan.SpanId, clientSpan.ParentSpanId);
        Assert.Equal(clientSpan.SpanId, backendSpan.ParentSpanId);
        Assert.Equal("vendor=1", backendSpan.TraceStateString);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_request_whose_handler_throws_ends_its_span_with_an_error(PollerBackend backend)
    {
        using var manager = Loop.Create(backend);
        var trace = ActivityTraceId.CreateRandom();
        using var collector = new TraceCollector(trace);
        var listener = manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage) throw new InvalidOperationException("broken");
        });
        var peer = Task.Run(async () =>
        {
            using var client = new System.Net.Http.HttpClient();
            using var request = new System.Net.Http.HttpRequestMessage(System.Net.Http.HttpMethod.Get, $"http://127.0.0.1:{listener.LocalEndPoint!.Port}/x");
            request.Headers.TryAddWithoutValidation("traceparent", $"00-{trace}-{ActivitySpanId.CreateRandom()}-01");
            return (int)(await client.SendAsync(request)).StatusCode;
        });
        Assert.Equal(500, manager.Until(peer));
        manager.Until(() => collector.Stopped.Count == 1, what: "the span");
        var span = Assert.Single(collector.Stopped);
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Equal("handler_error", span.GetTagItem("error.type"));
        Assert.Contains(span.Events, e => e.Name == "exception");
    }

    [Fact]
    public void Without_a_sampling_listener_no_traceparent_is_sent()
    {
        using var manager = Loop.Create(PollerBackend.Epoll);
        string? traceParent = "unset";
        var listener = manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind != EventKind.HttpMessage) return;
            traceParent = e.Request!.GetHeader("traceparent");
            c.Reply(200, "ok");
        });
        int port = listener.LocalEndPoint!.Port;
        int done = 0;
        // Nobody samples these spans (another test's listener samples only its own trace): nothing is propagated.
        var client = manager.ConnectHttp($"http://127.0.0.1:{port}", (c, e) => { if (e.Kind == EventKind.HttpDone) done++; });
        client.SendRequest(new HttpClientRequest("GET", $"http://127.0.0.1:{port}/"));
        manager.Until(() => done == 1, what: "the response");
        Assert.Null(traceParent);
    }
}
