using System.Net;
using System.Net.WebSockets;
using System.Text;
using Meerkat.Http;
using Meerkat.Http.Routing;
using Meerkat.Tests.Core;
using Meerkat.WebSockets;

namespace Meerkat.Tests.Http.Routing;

public class RouterTests
{
    private static Router ItemsRouter()
    {
        var router = new Router();
        router.MapGet("/api/items/{id}", (c, e, route) => c.Reply(200, $"item {route["id"]} via {route.Template}"));
        router.MapPost("/api/items", (c, e, route) => c.Reply(201, e.Request!.Body, "application/json"));
        router.MapDelete("/api/items/{id}", (c, e, route) => c.Reply(204, ReadOnlySpan<byte>.Empty));
        router.MapGet("/files/{*path}", (c, e, route) => c.Reply(200, $"file '{route["path"]}'"));
        return router;
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void HttpClient_requests_reach_the_route_of_their_method_and_path_with_its_captures(PollerBackend backend)
    {
        using var server = new RoutedServer(ItemsRouter(), backend: backend);
        var get = server.Get("/api/items/42");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal("item 42 via /api/items/{id}", server.Text(get));

        var post = server.Send(HttpMethod.Post, "/api/items", new StringContent("{\"name\":\"x\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, post.StatusCode);
        Assert.Equal("{\"name\":\"x\"}", server.Text(post));

        Assert.Equal(HttpStatusCode.NoContent, server.Send(HttpMethod.Delete, "/api/items/42").StatusCode);
        Assert.Equal("file 'a b/c.txt'", server.Text(server.Get("/files/a%20b/c.txt")));
        Assert.Equal("item café via /api/items/{id}", server.Text(server.Get("/api/items/caf%C3%A9")));
        server.Log.AssertBalanced(server.Manager.Connections.Where(c => c.Role != ConnectionRole.Outbound).ToArray());
    }

    [Fact]
    public void Unrouted_requests_get_404_405_with_Allow_HEAD_through_GET_and_OPTIONS()
    {
        using var server = new RoutedServer(ItemsRouter());
        var missing = server.Get("/nothing/here");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        var wrongMethod = server.Send(HttpMethod.Put, "/api/items", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, wrongMethod.StatusCode);
        Assert.Equal(["POST", "OPTIONS"], wrongMethod.Content.Headers.Allow);

        var head = server.Send(HttpMethod.Head, "/api/items/7");
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("item 7 via /api/items/{id}".Length, head.Content.Headers.ContentLength);
        Assert.Equal("", server.Text(head));

        var options = server.Send(HttpMethod.Options, "/api/items/7");
        Assert.Equal(HttpStatusCode.NoContent, options.StatusCode);
        Assert.Equal(["GET", "HEAD", "DELETE", "OPTIONS"], options.Content.Headers.Allow);
    }

    [Fact]
    public void Pipelined_raw_requests_are_each_answered_in_order_on_one_connection()
    {
        using var server = new RoutedServer(ItemsRouter());
        string answer = server.Raw(
            "GET /api/items/1 HTTP/1.1\r\nHost: x\r\n\r\n" +
            "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n" +
            "PATCH /api/items/2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" +
            "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n" +
            "HEAD /api/items/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        var statuses = System.Text.RegularExpressions.Regex.Matches(answer, "HTTP/1.1 [0-9]{3} [^\r]*").Select(m => m.Value).ToArray();
        Assert.Equal(["HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found", "HTTP/1.1 405 Method Not Allowed", "HTTP/1.1 204 No Content", "HTTP/1.1 200 OK"], statuses);
        Assert.Contains("Allow: GET, HEAD, DELETE, OPTIONS\r\n", answer);
        Assert.Contains("Allow: GET, HEAD, POST, DELETE, OPTIONS\r\n", answer);
        Assert.EndsWith("\r\n\r\n", answer); // the HEAD answer has no body
        Assert.Equal(1, Meerkat.Tests.Http.Server.RawClient.Occurrences(answer, "item 1 via"));
    }

    [Fact]
    public void A_deferred_response_gets_its_wakeup_and_keeps_its_template_while_captures_must_be_copied()
    {
        var router = new Router();
        string? templateAtWakeup = null;
        Exception? captureAtWakeup = null;
        router.MapGet("/jobs/{n}", (c, e, route) =>
        {
            switch (e.Kind)
            {
                case EventKind.HttpMessage:
                    string n = route["n"]!;
                    long id = c.Id;
                    var manager = c.Manager;
                    _ = Task.Run(() => manager.Wakeup(id, Encoding.UTF8.GetBytes($"job {n} done")));
                    break;
                case EventKind.Wakeup:
                    templateAtWakeup = route.Template;
                    captureAtWakeup = Record.Exception(() => route.GetRaw("n"));
                    c.Reply(200, e.Data, "text/plain");
                    break;
            }
        });
        using var server = new RoutedServer(router);
        Assert.Equal("job 5 done", server.Text(server.Get("/jobs/5")));
        Assert.Equal("job 6 done", server.Text(server.Get("/jobs/6")));
        Assert.Equal("/jobs/{n}", templateAtWakeup);
        Assert.IsType<InvalidOperationException>(captureAtWakeup);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_streamed_request_body_arrives_in_pieces_at_the_route_that_asked_for_it(PollerBackend backend)
    {
        var router = new Router();
        var seen = new List<EventKind>();
        router.MapPost("/upload/{name}", (c, e, route) =>
        {
            seen.Add(e.Kind);
            switch (e.Kind)
            {
                case EventKind.HttpHeaders:
                    route.State = new Counter { Name = route["name"]! };
                    break;
                case EventKind.HttpBody:
                    var counter = (Counter)route.State!;
                    counter.Bytes += e.Data.Length;
                    foreach (byte b in e.Data) counter.Sum += b;
                    break;
                case EventKind.HttpMessage:
                    var done = (Counter)route.State!;
                    c.Reply(200, $"{done.Name}: {done.Bytes} bytes, sum {done.Sum}");
                    break;
            }
        }).StreamBody();
        using var server = new RoutedServer(router, backend: backend);
        var payload = new byte[1_000_003];
        new Random(7).NextBytes(payload);
        var request = new HttpRequestMessage(HttpMethod.Post, "/upload/blob") { Content = new StreamContent(new MemoryStream(payload)) };
        request.Headers.TransferEncodingChunked = true;
        var response = server.Send(request);
        Assert.Equal($"blob: {payload.Length} bytes, sum {payload.Sum(b => (long)b)}", server.Text(response));
        Assert.Equal(EventKind.HttpHeaders, seen[0]);
        Assert.Equal(EventKind.HttpMessage, seen[^1]);
        Assert.DoesNotContain(EventKind.HttpDone, seen);
        Assert.True(seen.Count(k => k == EventKind.HttpBody) >= 1);
    }

    private sealed class Counter
    {
        public string Name = "";
        public long Bytes;
        public long Sum;
    }

    [Fact]
    public void A_streamed_response_continues_on_the_write_events_the_route_receives()
    {
        const int Total = 8 * 1024 * 1024;
        var router = new Router();
        int writeEvents = 0;
        router.MapGet("/stream", (c, e, route) =>
        {
            if (e.Kind == EventKind.HttpMessage)
            {
                route.State = new Counter();
                c.BeginResponse(200, Total, "application/octet-stream");
            }
            else if (e.Kind == EventKind.Write) writeEvents++;
            var sent = (Counter)route.State!;
            if (sent.Bytes == Total) return; // ended on an earlier event
            var chunk = new byte[64 * 1024];
            while (sent.Bytes < Total && c.IsWritable)
            {
                int n = (int)Math.Min(chunk.Length, Total - sent.Bytes);
                sent.Bytes += n;
                c.WriteBody(chunk.AsSpan(0, n));
            }
            if (sent.Bytes == Total) c.EndResponse();
        }).Receive(RouteEvents.Write);
        using var server = new RoutedServer(router);
        var bytes = server.Manager.Until(server.Client.GetByteArrayAsync("/stream"));
        Assert.Equal(Total, bytes.Length);
        Assert.True(writeEvents > 0, "the response needed Write events to finish");
    }

    [Fact]
    public void A_route_answering_with_a_producer_is_called_once_however_many_writes_the_body_takes()
    {
        const long Total = 6 * 1024 * 1024;
        var router = new Router();
        int calls = 0;
        router.MapGet("/bytes", (c, e, route) =>
        {
            calls++;
            long sent = 0;
            c.StreamResponse(200, Total, "application/octet-stream", destination =>
            {
                int n = (int)Math.Min(destination.Length, Total - sent);
                destination[..n].Fill(7);
                sent += n;
                return n;
            });
        });
        using var server = new RoutedServer(router);
        Assert.Equal(Total, server.Manager.Until(server.Client.GetByteArrayAsync("/bytes")).LongLength);
        Assert.Equal(1, calls);
    }

    [Fact]
    public void A_websocket_route_upgrades_after_its_filters_and_gets_every_later_event()
    {
        var router = new Router();
        var events = new List<EventKind>();
        var disposed = new TaskCompletionSource();
        router.MapWebSocket("/chat/{room}", (c, e, route) =>
        {
            events.Add(e.Kind);
            if (e.Kind == EventKind.WsMessage) c.SendText($"[{((Room)route.State!).Name}] {e.WebSocketText}");
        }).AddFilter((c, request, route) =>
        {
            route.State = new Room(route["room"]!, disposed);
            return true;
        });
        using var server = new RoutedServer(router);
        using var client = new ClientWebSocket();
        server.Manager.Until(client.ConnectAsync(new Uri($"ws://127.0.0.1:{server.Port}/chat/lobby"), CancellationToken.None));
        server.Manager.Until(client.SendAsync("hi"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None));
        var buffer = new byte[256];
        var received = server.Manager.Until(client.ReceiveAsync(buffer, CancellationToken.None));
        Assert.Equal("[lobby] hi", Encoding.UTF8.GetString(buffer, 0, received.Count));
        server.Manager.Until(client.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None));
        server.Manager.Until(disposed.Task);
        Assert.Equal(EventKind.WsOpen, events[0]);
        Assert.Contains(EventKind.WsMessage, events);
        Assert.Equal(EventKind.Close, events[^1]);
    }

    private sealed record Room(string Name, TaskCompletionSource Disposed) : IDisposable
    {
        public void Dispose() => Disposed.TrySetResult();
    }

    private sealed class Probe(List<string> log, string name) : IDisposable
    {
        public void Dispose() => log.Add("disposed " + name);
    }

    [Fact]
    public void Request_state_is_disposed_when_the_transaction_ends_and_when_the_connection_is_cut()
    {
        var router = new Router();
        var log = new List<string>();
        router.MapGet("/quick", (c, e, route) =>
        {
            route.State = new Probe(log, "quick");
            c.Reply(200, "ok");
        });
        router.MapGet("/never", (c, e, route) =>
        {
            if (e.Kind == EventKind.HttpMessage) route.State = new Probe(log, "never"); // deferred, never answered
        });
        using var server = new RoutedServer(router);
        Assert.Equal("ok", server.Text(server.Get("/quick")));
        Assert.Equal(["disposed quick"], log);

        using var socket = Meerkat.Tests.Http.Server.RawClient.Connect(server.Port);
        socket.Send("GET /never HTTP/1.1\r\nHost: x\r\n\r\n"u8);
        server.Manager.Until(() => log.Count == 1 && server.Manager.Connections.Count(c => c.Role == ConnectionRole.Accepted && c.HasPendingRequest()) == 1);
        socket.LingerState = new System.Net.Sockets.LingerOption(true, 0); // close with a reset: the peer is gone
        socket.Close();
        server.Manager.Until(() => log.Count == 2, what: "the abandoned request's state to be disposed");
        Assert.Equal("disposed never", log[1]);
    }

    [Fact]
    public void Route_body_limits_refuse_declared_buffered_and_streamed_bodies_with_413()
    {
        var router = new Router();
        router.MapPost("/small", (c, e, route) => c.Reply(200, $"{e.Request!.Body.Length}")).WithMaxBodySize(10);
        router.MapPost("/small-stream", (c, e, route) =>
        {
            if (e.Kind == EventKind.HttpMessage) c.Reply(200, $"{route.State}");
        }).StreamBody().WithMaxBodySize(10);
        using var server = new RoutedServer(router);
        Assert.Equal("10", server.Text(server.Send(HttpMethod.Post, "/small", new ByteArrayContent(new byte[10]))));
        var declared = server.Send(HttpMethod.Post, "/small", new ByteArrayContent(new byte[11]));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declared.StatusCode);
        Assert.Contains("11 bytes exceeds this route's limit of 10 bytes", server.Text(declared));

        string chunked = server.Raw("POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 413 ", chunked);
        Assert.Contains("12 bytes exceeds", chunked);

        string streamed = server.Raw("POST /small-stream HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 413 ", streamed);
        Assert.Contains("exceeds this route's limit of 10 bytes", streamed);
    }

    [Fact]
    public void A_route_that_asks_for_HttpDone_learns_how_each_request_ended_and_its_template()
    {
        var router = new Router();
        var done = new List<string>();
        router.MapGet("/a/{x}", (c, e, route) =>
        {
            if (e.Kind == EventKind.HttpMessage) c.Reply(200, "a");
            else if (e.Kind == EventKind.HttpDone) done.Add($"{route.Template} {e.Request!.ResponseStatus} {e.Outcome}");
        }).Receive(RouteEvents.Done);
        using var server = new RoutedServer(router);
        server.Get("/a/1");
        server.Get("/a/2");
        Assert.Equal(["/a/{x} 200 Completed", "/a/{x} 200 Completed"], done);
    }

    [Fact]
    public void The_fallback_takes_unmatched_paths_but_a_mapped_path_with_another_method_is_still_405()
    {
        var router = new Router();
        router.MapGet("/api/items", (c, e, route) => c.Reply(200, "[]", "application/json"));
        router.MapFallback((c, e, route) => c.Reply(200, $"fallback {e.Request!.MethodString} '{route["path"]}' {route.Template}"));
        using var server = new RoutedServer(router);
        Assert.Equal("fallback GET 'index.html' /{*path}", server.Text(server.Get("/index.html")));
        Assert.Equal("fallback POST 'deep/er' /{*path}", server.Text(server.Send(HttpMethod.Post, "/deep/er", new StringContent(""))));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, server.Send(HttpMethod.Post, "/api/items", new StringContent("")).StatusCode);
    }

    [Fact]
    public void Group_filters_run_outermost_first_and_a_refusal_skips_the_handler_but_keeps_the_added_headers()
    {
        var router = new Router();
        var order = new List<string>();
        var api = router.MapGroup("/api")
            .WithResponseHeaders(("X-Content-Type-Options", "nosniff"))
            .AddFilter((c, request, route) => { order.Add("group"); return true; });
        api.MapGet("/open", (c, e, route) => { order.Add("handler"); c.Reply(200, "open"); })
            .AddFilter((c, request, route) => { order.Add("route"); return true; });
        api.MapGet("/closed", (c, e, route) => order.Add("never"))
            .AddFilter((c, request, route) =>
            {
                order.Add("refuse");
                c.Reply(403, "no\n");
                return false;
            });
        using var server = new RoutedServer(router);
        var open = server.Get("/api/open");
        Assert.Equal("nosniff", open.Headers.GetValues("X-Content-Type-Options").Single());
        var closed = server.Get("/api/closed");
        Assert.Equal(HttpStatusCode.Forbidden, closed.StatusCode);
        Assert.Equal("nosniff", closed.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal(["group", "route", "handler", "group", "refuse"], order);
    }

    [Fact]
    public void A_filter_that_refuses_without_answering_fails_the_connection_naming_the_route()
    {
        var router = new Router();
        router.MapGet("/bad", (c, e, route) => c.Reply(200, "x")).AddFilter((c, request, route) => false);
        using var server = new RoutedServer(router);
        server.Raw("GET /bad HTTP/1.1\r\nHost: x\r\n\r\n");
        var error = Assert.Single(server.Log.Errors);
        Assert.Contains("GET /bad", error.Message);
        Assert.Contains("without answering", error.Message);
    }

    [Fact]
    public void Routes_cannot_change_once_the_router_handles_requests()
    {
        var router = new Router();
        var group = router.MapGroup("/g");
        using var server = new RoutedServer(router);
        server.Get("/");
        Assert.Throws<InvalidOperationException>(() => router.MapGet("/late", (c, e, r) => { }));
        Assert.Throws<InvalidOperationException>(() => group.WithMaxBodySize(1));
    }

    [Fact]
    public void Response_headers_can_be_added_only_while_the_response_has_not_begun()
    {
        var router = new Router();
        Exception? late = null, framing = null;
        router.MapGet("/h", (c, e, route) =>
        {
            c.AddResponseHeader("X-Early", "1");
            framing = Record.Exception(() => c.AddResponseHeader("Content-Length", "5"));
            c.Reply(200, "h");
            late = Record.Exception(() => c.AddResponseHeader("X-Late", "1"));
        });
        using var server = new RoutedServer(router);
        var response = server.Get("/h");
        Assert.Equal("1", response.Headers.GetValues("X-Early").Single());
        Assert.False(response.Headers.Contains("X-Late"));
        Assert.IsType<InvalidOperationException>(late);
        Assert.IsType<ArgumentException>(framing);
    }
}
