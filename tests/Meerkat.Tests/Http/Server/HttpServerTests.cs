using System.Net.Http.Headers;
using System.Text;
using Meerkat.Http;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Http.Server;

public class HttpServerTests
{
    /// <summary>A server with the paths the tests use; deferred responses are answered from a worker thread.</summary>
    private static (Manager Manager, int Port, EventLog Log) Start(HttpServerOptions? options = null, PollerBackend backend = PollerBackend.Auto)
    {
        var manager = Loop.Create(backend);
        var log = new EventLog();
        log.Next = (c, e) =>
        {
            if (e.Kind == EventKind.Wakeup) { c.Reply(200, e.Data, "text/plain"); return; }
            if (e.Kind != EventKind.HttpMessage) return;
            var request = e.Request!;
            if (request.PathIs("/plaintext"u8)) c.Reply(200, "Hello, World!"u8, "text/plain");
            else if (request.PathIs("/echo"u8)) c.Reply(200, request.Body, request.GetHeader("Content-Type") ?? "application/octet-stream");
            else if (request.PathIs("/deferred"u8))
            {
                long id = c.Id;
                string path = request.ToString();
                _ = Task.Run(() => manager.Wakeup(id, Encoding.ASCII.GetBytes("deferred " + path)));
            }
            else if (request.PathIs("/chunked"u8))
            {
                c.BeginResponse(200, -1, "text/plain");
                c.WriteBody("one,"u8);
                c.WriteBody("two"u8);
                c.EndResponse();
            }
            else c.Reply(404, "not found"u8, "text/plain");
        };
        var listener = manager.ListenHttp("http://127.0.0.1:0", log.Handler, options);
        return (manager, listener.LocalEndPoint!.Port, log);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void HttpClient_gets_plaintext_over_one_kept_alive_connection(PollerBackend backend)
    {
        var (manager, port, log) = Start(backend: backend);
        using (manager)
        {
            using var client = new HttpClient();
            for (int i = 0; i < 20; i++)
            {
                var response = manager.Until(client.GetAsync($"http://127.0.0.1:{port}/plaintext"));
                Assert.Equal(200, (int)response.StatusCode);
                Assert.Equal("Hello, World!", manager.Until(response.Content.ReadAsStringAsync()));
                Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
            }
            Assert.Equal(1, log.Count(EventKind.Accept));
            Assert.Equal(20, log.Count(EventKind.HttpDone));
        }
    }

    [Fact]
    public void HttpClient_posts_a_chunked_body_and_reads_a_chunked_response()
    {
        var (manager, port, _) = Start();
        using (manager)
        {
            using var client = new HttpClient();
            var payload = new byte[300_000];
            Random.Shared.NextBytes(payload);
            var content = new StreamContent(new MemoryStream(payload));
            content.Headers.ContentType = new MediaTypeHeaderValue("application/x-test");
            var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}/echo") { Content = content };
            request.Headers.TransferEncodingChunked = true;
            var response = manager.Until(client.SendAsync(request));
            Assert.Equal(payload, manager.Until(response.Content.ReadAsByteArrayAsync()));
            Assert.Equal("application/x-test", response.Content.Headers.ContentType!.MediaType);
            var chunked = manager.Until(client.GetAsync($"http://127.0.0.1:{port}/chunked"));
            Assert.True(chunked.Headers.TransferEncodingChunked);
            Assert.Equal("one,two", manager.Until(chunked.Content.ReadAsStringAsync()));
        }
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Pipeline_of_three_with_close_on_the_second_gets_exactly_two_responses_then_close(PollerBackend backend)
    {
        var (manager, port, log) = Start(backend: backend);
        using (manager)
        {
            var text = manager.Until(RawClient.ExchangeAsync(port,
                "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n" +
                "GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" +
                "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"));
            Assert.Equal(2, RawClient.Occurrences(text, "HTTP/1.1 200 OK"));
            Assert.Equal(1, RawClient.Occurrences(text, "Connection: close"));
            Assert.EndsWith("Hello, World!", text, StringComparison.Ordinal);
            manager.Until(() => log.Count(EventKind.Close) == 1, what: "the server side to close");
            Assert.Equal(2, log.Count(EventKind.HttpHeaders));
            Assert.Equal(2, log.Count(EventKind.HttpDone));
        }
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Deferred_response_after_connection_close_is_sent_then_the_connection_closes(PollerBackend backend)
    {
        var (manager, port, log) = Start(backend: backend);
        using (manager)
        {
            var text = manager.Until(RawClient.ExchangeAsync(port,
                "GET /deferred HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"));
            Assert.Equal(1, RawClient.Occurrences(text, "HTTP/1.1 200 OK"));
            Assert.Contains("Connection: close", text, StringComparison.Ordinal);
            Assert.EndsWith("deferred GET /deferred HTTP/1.1", text, StringComparison.Ordinal);
            manager.Until(() => log.Count(EventKind.Close) == 1, what: "the close");
        }
    }

    [Fact]
    public void Pipelined_requests_behind_a_deferred_one_wait_their_turn()
    {
        var (manager, port, log) = Start();
        using (manager)
        {
            var text = manager.Until(RawClient.ExchangeAsync(port,
                "GET /deferred HTTP/1.1\r\nHost: x\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: x\r\n\r\nGET /deferred HTTP/1.0\r\n\r\n"));
            int first = text.IndexOf("deferred GET /deferred HTTP/1.1", StringComparison.Ordinal);
            int second = text.IndexOf("Hello, World!", StringComparison.Ordinal);
            int third = text.IndexOf("deferred GET /deferred HTTP/1.0", StringComparison.Ordinal);
            Assert.True(first >= 0 && first < second && second < third, text);
            Assert.Equal(3, log.Count(EventKind.HttpDone));
        }
    }

    [Fact]
    public void Http10_closes_by_default_and_honours_keep_alive()
    {
        var (manager, port, _) = Start();
        using (manager)
        {
            var closed = manager.Until(RawClient.ExchangeAsync(port, "GET /plaintext HTTP/1.0\r\n\r\n"));
            Assert.StartsWith("HTTP/1.0 200 OK", closed, StringComparison.Ordinal);
            Assert.Contains("Connection: close", closed, StringComparison.Ordinal);
            var kept = manager.Until(Task.Run(() =>
            {
                using var socket = RawClient.Connect(port);
                socket.Send("GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5, max=100\r\n\r\n"u8);
                string first = RawClient.ReadUntil(socket, "Hello, World!");
                socket.Send("GET /plaintext HTTP/1.0\r\n\r\n"u8);
                return first + RawClient.ReadToEnd(socket);
            }));
            Assert.Equal(2, RawClient.Occurrences(kept, "HTTP/1.0 200 OK"));
            Assert.Contains("Connection: keep-alive", kept, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Head_gets_the_headers_of_get_and_no_body()
    {
        var (manager, port, _) = Start();
        using (manager)
        {
            var text = manager.Until(RawClient.ExchangeAsync(port, "HEAD /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
            Assert.Contains("Content-Length: 13\r\n", text, StringComparison.Ordinal);
            Assert.EndsWith("\r\n\r\n", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Expect_100_continue_gets_an_interim_response_before_the_body()
    {
        var (manager, port, _) = Start();
        using (manager)
        {
            var text = manager.Until(Task.Run(() =>
            {
                using var socket = RawClient.Connect(port);
                socket.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"u8);
                string interim = RawClient.ReadUntil(socket, "\r\n\r\n");
                socket.Send("hello"u8);
                return interim + RawClient.ReadToEnd(socket);
            }));
            Assert.StartsWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK", text, StringComparison.Ordinal);
            Assert.EndsWith("hello", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_request_split_at_every_byte_gives_the_same_answer()
    {
        var (manager, port, _) = Start();
        using (manager)
        {
            const string Request = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n";
            var exchanges = Enumerable.Range(1, Request.Length - 1)
                .Select(split => RawClient.ExchangeAsync(port, Request[..split], Request[split..]))
                .ToArray();
            var all = Task.WhenAll(exchanges);
            foreach (var text in manager.Until(all))
            {
                Assert.StartsWith("HTTP/1.1 200 OK", text, StringComparison.Ordinal);
                Assert.EndsWith("\r\n\r\nhello world", text, StringComparison.Ordinal);
            }
        }
    }

    public static TheoryData<string, int> BadRequests => new()
    {
        { "GET /" + new string('a', 9000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414 },
        { "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + new string('b', 40_000) + "\r\n\r\n", 431 },
        { "GET / HTTP/1.1\r\n" + string.Concat(Enumerable.Range(0, 150).Select(i => $"X-{i}: v\r\n")) + "\r\n", 431 },
        { "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n", 413 },
        { "GET / HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n", 400 },
        { "GARBAGE\r\n\r\n", 400 },
        { "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400 },
        { "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400 },
        { "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400 },
        { "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo\r\n\r\n", 501 },
        { "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505 },
    };

    [Theory, MemberData(nameof(BadRequests))]
    public void Bad_input_gets_its_status_and_a_close(string request, int status)
    {
        var (manager, port, log) = Start();
        using (manager)
        {
            var text = manager.Until(RawClient.ExchangeAsync(port, request));
            Assert.StartsWith($"HTTP/1.1 {status} ", text, StringComparison.Ordinal);
            Assert.Contains("Connection: close", text, StringComparison.Ordinal);
            manager.Until(() => log.Count(EventKind.Close) == 1, what: "the close");
        }
    }

    [Fact]
    public void A_slow_head_gets_408_and_an_idle_connection_is_closed()
    {
        var (manager, port, log) = Start(new HttpServerOptions { HeaderTimeout = TimeSpan.FromMilliseconds(200), IdleTimeout = TimeSpan.FromMilliseconds(300) });
        using (manager)
        {
            var slow = manager.Until(RawClient.ExchangeAsync(port, "GET /plaintext HTTP/1.1\r\nHost: x\r\n"));
            Assert.StartsWith("HTTP/1.1 408 ", slow, StringComparison.Ordinal);
            var idle = manager.Until(RawClient.ExchangeAsync(port));
            Assert.Equal("", idle);
            manager.Until(() => log.Count(EventKind.Close) == 2, what: "both closes");
        }
    }

    [Fact]
    public void Curl_fetches_plaintext()
    {
        string? curl = Peers.Find("curl");
        if (curl is null) { Peers.SkipOrFail("curl"); return; }
        var (manager, port, _) = Start();
        using (manager)
        {
            var output = manager.Until(Peers.RunAsync(curl, $"-s -i http://127.0.0.1:{port}/plaintext"));
            Assert.Contains("HTTP/1.1 200 OK", output, StringComparison.Ordinal);
            Assert.EndsWith("Hello, World!", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_declined_upgrade_is_answered_like_any_request_and_the_connection_goes_on()
    {
        var (manager, port, log) = Start();
        using (manager)
        {
            var text = manager.Until(RawClient.ExchangeAsync(port,
                "GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: foo/1\r\n\r\n" +
                "GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
            Assert.Equal(2, RawClient.Occurrences(text, "HTTP/1.1 200 OK"));
            Assert.Equal(2, log.Count(EventKind.HttpDone));
        }
    }

    [Fact]
    public void A_half_closed_client_still_gets_its_deferred_answer()
    {
        var (manager, port, _) = Start();
        using (manager)
        {
            var text = manager.Until(Task.Run(() =>
            {
                using var socket = RawClient.Connect(port);
                socket.Send("GET /deferred HTTP/1.1\r\nHost: x\r\n\r\n"u8);
                socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
                return RawClient.ReadToEnd(socket);
            }));
            Assert.StartsWith("HTTP/1.1 200 OK", text, StringComparison.Ordinal);
            Assert.EndsWith("deferred GET /deferred HTTP/1.1", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Answering_before_reading_a_small_body_drains_it_and_keeps_the_connection()
    {
        var manager = Loop.Create(PollerBackend.Auto);
        using (manager)
        {
            var listener = manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
            {
                if (e.Kind == EventKind.HttpHeaders && e.Request!.PathIs("/early"u8)) c.Reply(403, "no thanks"u8, "text/plain");
                else if (e.Kind == EventKind.HttpMessage && !e.Request!.PathIs("/early"u8)) c.Reply(200, "ok"u8, "text/plain");
            });
            int port = listener.LocalEndPoint!.Port;
            var small = manager.Until(RawClient.ExchangeAsync(port,
                "POST /early HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
            Assert.Contains("HTTP/1.1 403 Forbidden", small, StringComparison.Ordinal);
            Assert.EndsWith("ok", small, StringComparison.Ordinal);
            var large = manager.Until(Task.Run(() =>
            {
                using var socket = RawClient.Connect(port);
                socket.Send("POST /early HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n"u8);
                try
                {
                    var chunk = new byte[64 * 1024];
                    for (int i = 0; i < 150; i++) socket.Send(chunk);
                }
                catch (System.Net.Sockets.SocketException)
                {
                    // The server closed after its answer; what it sent is still readable below.
                }
                return RawClient.ReadToEnd(socket);
            }));
            Assert.StartsWith("HTTP/1.1 403 Forbidden", large, StringComparison.Ordinal);
            Assert.Contains("Connection: close", large, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Requests_with_bodies_keep_their_own_heads_on_a_kept_alive_connection()
    {
        var (manager, port, _) = Start();
        using (manager)
        {
            var text = manager.Until(RawClient.ExchangeAsync(port,
                "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: a/one\r\nContent-Length: 3\r\n\r\n",
                "one",
                "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: b/two\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n" +
                "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: c/three\r\nContent-Length: 5\r\nConnection: close\r\n\r\nthree"));
            int one = text.IndexOf("Content-Type: a/one", StringComparison.Ordinal);
            int two = text.IndexOf("Content-Type: b/two", StringComparison.Ordinal);
            int three = text.IndexOf("Content-Type: c/three", StringComparison.Ordinal);
            Assert.True(one >= 0 && one < two && two < three, text);
            Assert.EndsWith("three", text, StringComparison.Ordinal);
        }
    }
}
