// The server core without a socket: each behaviour fed whole, byte by byte and split at every
// position, with the same transcript (events, response bytes, final state) every time.
using Meerkat.Http;

namespace Meerkat.Tests.Http.Server;

public class ServerCoreTests
{
    private const string Get = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";

    private static ServerCoreHarness Echo() => new((h, kind) =>
    {
        if (kind == HttpServerEventKind.Message) h.Reply(200, $"{h.Request.PathString}:{System.Text.Encoding.Latin1.GetString(h.Request.Body)}");
    });

    [Fact]
    public void Keep_alive_answers_each_request_and_stays_open()
    {
        string t = ServerCoreHarness.SameAtEverySplit(Echo, Get + Get.Replace("/a", "/b"));
        Assert.Equal(2, Count(t, "HTTP/1.1 200 OK"));
        Assert.Contains("Done Completed 200\nHeaders GET /b HTTP/1.1", t);
        Assert.DoesNotContain("Connection: close", t);
        Assert.EndsWith("Idle", t);
    }

    [Fact]
    public void Pipeline_with_a_close_request_in_the_middle_answers_up_to_it_and_parses_nothing_after()
    {
        string t = ServerCoreHarness.SameAtEverySplit(Echo,
            Get + "GET /close HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" + Get.Replace("/a", "/never"));
        Assert.Equal(2, Count(t, "HTTP/1.1 200 OK"));
        Assert.Equal(1, Count(t, "Connection: close"));
        Assert.DoesNotContain("/never", t);
        Assert.EndsWith("MustClose", t);
    }

    [Fact]
    public void A_deferred_response_to_a_close_request_is_sent_when_it_completes_then_the_connection_closes()
    {
        string t = ServerCoreHarness.SameAtEverySplit(() => new ServerCoreHarness((_, _) => { }),
            "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" + Get,
            h =>
            {
                Assert.Equal(HttpServerState.Responding, h.Core.State); // waiting, the connection open
                h.Reply(200, "later");
                h.Pump();
            });
        Assert.Equal(1, Count(t, "HTTP/1.1 200 OK"));
        Assert.Contains("Connection: close", t);
        Assert.Contains("Done Completed 200", t);
        Assert.DoesNotContain("GET /a", t);
        Assert.EndsWith("later\n--\nMustClose", t);
    }

    [Fact]
    public void Requests_pipelined_behind_a_deferred_one_wait_for_its_done()
    {
        var h = new ServerCoreHarness((_, _) => { });
        h.Receive(Get + Get.Replace("/a", "/b"));
        Assert.Equal(["Headers GET /a HTTP/1.1", "Message [] trailers []"], h.Events); // not the second request yet
        h.Reply(200, "one");
        h.Pump();
        Assert.Equal(["Headers GET /a HTTP/1.1", "Message [] trailers []", "Done Completed 200", "Headers GET /b HTTP/1.1", "Message [] trailers []"], h.Events);
    }

    [Fact]
    public void Http10_closes_by_default_and_keeps_alive_when_asked()
    {
        string closed = ServerCoreHarness.SameAtEverySplit(Echo, "GET /a HTTP/1.0\r\n\r\n");
        Assert.Contains("HTTP/1.0 200 OK\r\n", closed);
        Assert.Contains("Connection: close", closed);
        Assert.EndsWith("MustClose", closed);
        string kept = ServerCoreHarness.SameAtEverySplit(Echo, "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        Assert.Contains("Connection: keep-alive", kept);
        Assert.EndsWith("Idle", kept);
        string streamed = ServerCoreHarness.SameAtEverySplit(() => new ServerCoreHarness((h, kind) =>
        {
            if (kind != HttpServerEventKind.Message) return;
            h.Begin(200);
            h.Write("until close");
            h.Finish();
        }), "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        Assert.DoesNotContain("Transfer-Encoding", streamed); // HTTP/1.0 has no chunked coding: the close delimits
        Assert.Contains("Connection: close\r\n\r\nuntil close", streamed);
        Assert.EndsWith("MustClose", streamed);
    }

    [Fact]
    public void Expect_100_continue_gets_the_interim_response_before_the_final_one()
    {
        string t = ServerCoreHarness.SameAtEverySplit(Echo,
            "POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello");
        Assert.StartsWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK", t[(t.IndexOf("--\n", StringComparison.Ordinal) + 3)..]);
        Assert.Contains("/up:hello", t);
    }

    [Fact]
    public void A_refusal_in_headers_sends_no_100_continue_and_drains_the_small_body()
    {
        string t = ServerCoreHarness.SameAtEverySplit(() => new ServerCoreHarness((h, kind) =>
        {
            if (kind == HttpServerEventKind.Headers && h.Request.PathIs("/up"u8)) h.Reply(403, "no");
            else if (kind == HttpServerEventKind.Message && !h.Request.PathIs("/up"u8)) h.Reply(200, "next");
        }), "POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello" + Get);
        Assert.DoesNotContain("100 Continue", t);
        Assert.Contains("HTTP/1.1 403 Forbidden", t);
        Assert.Contains("next", t);
        Assert.EndsWith("Idle", t);
    }

    [Fact]
    public void Request_bodies_in_each_framing_arrive_whole_with_their_trailers()
    {
        string t = ServerCoreHarness.SameAtEverySplit(Echo,
            "POST /cl HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
            "POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\nX-Two: 2\r\n\r\n");
        Assert.Contains("Message [hello] trailers []", t);
        Assert.Contains("Message [hello world] trailers [X-Sum=42,X-Two=2]", t);
        Assert.Contains("/chunked:hello world", t);
    }

    [Fact]
    public void A_streamed_request_body_arrives_as_pieces_and_the_response_can_stream_back_meanwhile()
    {
        const string Request = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
        for (int split = 0; split <= Request.Length; split++)
        {
            var h = new ServerCoreHarness((h, kind) =>
            {
                switch (kind)
                {
                    case HttpServerEventKind.Headers:
                        h.Request.StreamBody = true;
                        h.Begin(200);
                        break;
                    case HttpServerEventKind.Body:
                        h.Write(System.Text.Encoding.Latin1.GetString(h.Core.BodyPiece).ToUpperInvariant());
                        break;
                    case HttpServerEventKind.Message:
                        h.Finish(("X-Done", "yes"));
                        break;
                }
            });
            h.Receive(Request[..split]).Receive(Request[split..]);
            Assert.Contains("Body hello world", h.Events);
            var (body, trailers) = ReadChunkedResponse(h.Output.WrittenMemory);
            Assert.Equal("HELLO WORLD", body);
            Assert.Equal("X-Done=yes", trailers);
            Assert.Equal(HttpServerState.Idle, h.Core.State);
        }
    }

    /// <summary>Reads one response with the client's reader: its body and trailers.</summary>
    private static (string Body, string Trailers) ReadChunkedResponse(ReadOnlyMemory<byte> bytes)
    {
        var reader = new HttpMessageReader(isRequest: false);
        var body = new System.Text.StringBuilder();
        while (true)
        {
            var result = reader.Read(bytes, true, out int used);
            if (result == HttpReadResult.Body) body.Append(System.Text.Encoding.Latin1.GetString(reader.Body.Span));
            if (result == HttpReadResult.MessageEnd)
                return (body.ToString(), string.Join(",", Enumerable.Range(0, reader.Trailers.Count).Select(i => reader.Trailers.GetNameString(i) + "=" + reader.Trailers.GetValueString(i))));
            Assert.True(result is HttpReadResult.Head or HttpReadResult.Body, $"unexpected {result} {reader.Error}");
            bytes = bytes[used..];
        }
    }

    [Fact]
    public void Responses_in_each_framing()
    {
        var h = new ServerCoreHarness((h, kind) =>
        {
            if (kind != HttpServerEventKind.Message) return;
            if (h.Request.PathIs("/length"u8)) { h.Begin(200, 3); h.Write("abc"); h.Finish(); }
            else { h.Begin(200); h.Write("abc"); h.Finish(("X-Check", "1")); }
        });
        h.Receive("GET /length HTTP/1.1\r\nHost: x\r\n\r\nGET /chunked HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Contains("Content-Length: 3\r\n\r\nabc", h.OutputText);
        Assert.Contains("Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Check: 1\r\n\r\n", h.OutputText);
    }

    [Fact]
    public void Response_trailers_are_refused_with_a_length_or_to_an_http10_client()
    {
        Exception? refused = null;
        var h = new ServerCoreHarness((h, kind) =>
        {
            if (kind != HttpServerEventKind.Message) return;
            h.Begin(200, 0);
            refused = Record.Exception(() => h.Finish(("X", "1"))); // in the handler: once Done is delivered, no request is in progress
        });
        h.Receive(Get);
        Assert.Contains("chunked", Assert.IsType<InvalidOperationException>(refused).Message);
        var old = new ServerCoreHarness((h, kind) => { if (kind == HttpServerEventKind.Message) h.Begin(200); });
        old.Receive("GET / HTTP/1.0\r\n\r\n");
        Assert.Contains("HTTP/1.0", Assert.Throws<InvalidOperationException>(() => old.Finish(("X", "1"))).Message);
        var framing = new ServerCoreHarness((h, kind) => { if (kind == HttpServerEventKind.Message) h.Begin(200); });
        framing.Receive(Get);
        Assert.Throws<ArgumentException>(() => framing.Finish(("Content-Length", "1")));
    }

    public static TheoryData<string, int> HostAndVersionCases => new()
    {
        { "GET / HTTP/1.1\r\n\r\n", 400 },                                  // HTTP/1.1 without Host
        { "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 },             // two Host lines
        { "GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n", 400 },             // two, even the same, even 1.0
        { "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400 },                      // invalid values
        { "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400 },
        { "GET / HTTP/1.1\r\nHost: a:80x\r\n\r\n", 400 },
        { "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400 },
        { "GET / HTTP/1.1\r\nHost: a@b\r\n\r\n", 400 },
        { "GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", 200 },         // valid values
        { "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", 200 },
        { "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 200 },
        { "GET / HTTP/1.1\r\nHost: xn--bcher-kva.example%41\r\n\r\n", 200 },
        { "GET / HTTP/1.1\r\nHost:\r\n\r\n", 200 },                          // empty: a target without authority
        { "GET / HTTP/1.0\r\n\r\n", 200 },                                  // HTTP/1.0 may omit it
        { "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 200 },
        { "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 200 },                        // a higher 1.x minor reads as 1.1
        { "GET / HTTP/1.9\r\nHost: a\r\n\r\n", 200 },
        { "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505 },
        { "GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505 },
        { "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505 },
    };

    [Theory, MemberData(nameof(HostAndVersionCases))]
    public void Host_and_version_rules(string request, int status)
    {
        string t = ServerCoreHarness.SameAtEverySplit(Echo, request);
        string output = t.Split("\n--\n")[1];
        Assert.StartsWith($"HTTP/1.{(request.Contains("HTTP/1.0") && status == 200 ? 0 : 1)} {status} ", output); // errors speak 1.1
        if (status != 200)
        {
            Assert.Contains("Connection: close", output);
            Assert.DoesNotContain("Headers", t); // rejected before a transaction began
            Assert.EndsWith("MustClose", t);
        }
    }

    public static TheoryData<string, int> HeadErrors => new()
    {
        { "HEAD / HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n", 400 },
        { "HEAD / HTTP/1.1\r\nHost: x\r\nX: " + new string('b', 40_000) + "\r\n\r\n", 431 },
        { "HEAD / HTTP/1.1\r\n\r\n", 400 },
        { "HEAD / HTTP/2.0\r\nHost: x\r\n\r\n", 505 },
    };

    [Theory, MemberData(nameof(HeadErrors))]
    public void Error_answers_to_head_carry_no_body(string request, int status)
    {
        var h = Echo().Receive(request);
        Assert.StartsWith($"HTTP/1.1 {status} ", h.OutputText);
        Assert.EndsWith("\r\n\r\n", h.OutputText);
        Assert.Equal(HttpServerState.MustClose, h.Core.State);
        var get = Echo().Receive(request.Replace("HEAD", "GET"));
        Assert.EndsWith(".\n", get.OutputText); // the same error to GET names the problem in its body
    }

    [Fact]
    public void A_head_that_takes_too_long_gets_408_with_no_body_for_head()
    {
        var h = Echo().Receive("HEAD / HTTP/1.1\r\nHost: x\r\n");
        h.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(HttpServerState.ReadingHead, h.Core.State);
        h.Advance(TimeSpan.FromSeconds(2));
        Assert.StartsWith("HTTP/1.1 408 ", h.OutputText);
        Assert.EndsWith("\r\n\r\n", h.OutputText);
        Assert.Equal(HttpServerState.MustClose, h.Core.State);
        Assert.Empty(h.Events);
    }

    [Fact]
    public void An_idle_connection_closes_after_the_idle_timeout()
    {
        var h = Echo().Receive(Get);
        h.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(HttpServerState.Idle, h.Core.State);
        h.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(HttpServerState.MustClose, h.Core.State);
    }

    [Fact]
    public void A_body_under_the_minimum_rate_after_the_grace_period_gets_408_and_the_transaction_ends_with_deadline()
    {
        var h = Echo().Receive("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + new string('a', 1000));
        h.Advance(TimeSpan.FromSeconds(4)); // within the grace period: 250 B/s but not judged yet
        Assert.Equal(HttpServerState.ReadingBody, h.Core.State);
        h.Advance(TimeSpan.FromSeconds(10), pendingOutput: 1, readPaused: true); // our own backpressure: not charged
        Assert.Equal(HttpServerState.ReadingBody, h.Core.State);
        h.Receive(new string('a', 400));
        h.Advance(TimeSpan.FromSeconds(2)); // 1400 bytes in 6 s (paused time excluded): 233 B/s < 240
        Assert.Equal(HttpServerState.MustClose, h.Core.State);
        Assert.StartsWith("HTTP/1.1 408 ", h.OutputText);
        Assert.Equal("Done Deadline 408", h.Events[^1]);
    }

    [Fact]
    public void A_peer_that_stops_reading_is_cut_after_the_send_stall_timeout()
    {
        var h = new ServerCoreHarness(null, new HttpServerOptions { IdleTimeout = TimeSpan.FromMinutes(10) }).Receive(Get);
        h.Advance(TimeSpan.FromSeconds(1), pendingOutput: 0);
        h.Advance(TimeSpan.FromSeconds(20), pendingOutput: 500);
        h.Core.OutputProgressed(h.Now); // some bytes left: the clock restarts
        h.Advance(TimeSpan.FromSeconds(20), pendingOutput: 400);
        Assert.Equal(HttpServerState.Idle, h.Core.State);
        h.Advance(TimeSpan.FromSeconds(29), pendingOutput: 400); // no progress since the last check, but within the limit
        Assert.Equal(HttpServerState.Idle, h.Core.State);
        h.Advance(TimeSpan.FromSeconds(2), pendingOutput: 400);
        Assert.Equal(HttpServerState.Aborted, h.Core.State);
    }

    [Fact]
    public void Output_queued_just_before_a_late_check_does_not_count_as_a_stall()
    {
        var h = Echo().Receive(Get);
        h.Advance(TimeSpan.FromSeconds(45), pendingOutput: 100); // the first check to see it: the clock starts now
        Assert.Equal(HttpServerState.Idle, h.Core.State);
    }

    [Fact]
    public void A_stalled_reader_mid_response_ends_the_transaction_with_deadline()
    {
        var h = new ServerCoreHarness((h, kind) => { if (kind == HttpServerEventKind.Message) { h.Begin(200, 1000); h.Write("part"); } });
        h.Receive(Get);
        h.Advance(TimeSpan.FromSeconds(1), pendingOutput: 4);
        h.Advance(TimeSpan.FromSeconds(31), pendingOutput: 4);
        Assert.Equal(HttpServerState.Aborted, h.Core.State);
        Assert.Equal("Done Deadline 200", h.Events[^1]);
    }

    [Fact]
    public void A_malformed_body_after_the_head_gets_400_and_ends_the_transaction_as_a_protocol_error()
    {
        string t = ServerCoreHarness.SameAtEverySplit(Echo, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
        Assert.Contains("Done ProtocolError 400", t);
        Assert.Contains("HTTP/1.1 400 Bad Request", t);
        Assert.EndsWith("MustClose", t);
    }

    [Fact]
    public void A_body_over_the_limit_gets_413_and_ends_the_transaction()
    {
        string t = ServerCoreHarness.SameAtEverySplit(() => new ServerCoreHarness(null, new HttpServerOptions { MaxBufferedBodySize = 4 }),
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
        Assert.Contains("Done ProtocolError 413", t);
        Assert.EndsWith("MustClose", t);
    }

    [Fact]
    public void A_peer_that_closes_mid_body_ends_the_transaction_as_peer_closed()
    {
        var h = Echo().Receive("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhal").End();
        Assert.Equal("Done PeerClosed 400", h.Events[^1]);
        Assert.Equal(HttpServerState.MustClose, h.Core.State);
    }

    [Fact]
    public void A_half_closed_client_still_gets_its_deferred_answer_then_the_connection_closes()
    {
        var h = new ServerCoreHarness((_, _) => { }).Receive(Get).End();
        Assert.Equal(HttpServerState.Responding, h.Core.State);
        h.Reply(200, "late");
        h.Pump();
        Assert.Contains("Connection: close", h.OutputText);
        Assert.Equal(HttpServerState.MustClose, h.Core.State);
    }

    [Fact]
    public void A_handler_that_throws_before_answering_gets_500_with_close_and_handler_error()
    {
        string t = ServerCoreHarness.SameAtEverySplit(() => new ServerCoreHarness((h, kind) =>
        {
            if (kind == HttpServerEventKind.Message) throw new HandlerBug("boom");
        }), Get + Get);
        Assert.Equal(1, Count(t, "HTTP/1.1 500 Internal Server Error"));
        Assert.Contains("Connection: close", t);
        Assert.Contains("Done HandlerError 500", t);
        Assert.EndsWith("MustClose", t);
        var head = new ServerCoreHarness((h, kind) => { if (kind == HttpServerEventKind.Headers) throw new HandlerBug("boom"); });
        head.Receive("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.EndsWith("\r\n\r\n", head.OutputText); // no body to HEAD
    }

    [Fact]
    public void A_handler_that_throws_mid_response_aborts_it()
    {
        var h = new ServerCoreHarness((h, kind) =>
        {
            if (kind != HttpServerEventKind.Message) return;
            h.Begin(200, 100);
            h.Write("partial");
            throw new HandlerBug("boom");
        });
        h.Receive(Get);
        Assert.Equal("Done HandlerError 200", h.Events[^1]);
        Assert.Equal(HttpServerState.Aborted, h.Core.State);
    }

    [Theory]
    [InlineData(HttpOutcome.Reset)]
    [InlineData(HttpOutcome.Disposed)]
    [InlineData(HttpOutcome.Shutdown)]
    [InlineData(HttpOutcome.Cancelled)]
    public void An_abort_ends_the_open_transaction_once_with_its_outcome(HttpOutcome outcome)
    {
        var h = new ServerCoreHarness((_, _) => { }).Receive(Get);
        h.Abort(outcome);
        h.Abort(outcome);
        Assert.Equal(1, h.Events.Count(e => e.StartsWith("Done", StringComparison.Ordinal)));
        Assert.Equal($"Done {outcome} 0", h.Events[^1]);
        var idle = Echo().Receive(Get);
        idle.Abort(outcome);
        Assert.Equal(1, idle.Events.Count(e => e.StartsWith("Done", StringComparison.Ordinal))); // nothing was open
    }

    [Fact]
    public void A_response_complete_and_sent_before_the_abort_counts_as_completed()
    {
        var h = new ServerCoreHarness((_, _) => { }).Receive(Get);
        h.Reply(200, "x");
        h.Abort(HttpOutcome.Disposed, pendingOutput: 0);
        Assert.Equal("Done Completed 200", h.Events[^1]);
        var unsent = new ServerCoreHarness((_, _) => { }).Receive(Get);
        unsent.Reply(200, "x");
        unsent.Abort(HttpOutcome.Disposed, pendingOutput: 10);
        Assert.Equal("Done Disposed 200", unsent.Events[^1]);
    }

    [Fact]
    public void Shutdown_closes_an_idle_connection_at_once_and_a_busy_one_after_its_response_with_connection_close()
    {
        var idle = Echo().Receive(Get);
        idle.Core.Shutdown();
        Assert.Equal(HttpServerState.MustClose, idle.Core.State);
        var busy = new ServerCoreHarness((_, _) => { }).Receive(Get + Get);
        busy.Core.Shutdown();
        busy.Reply(200, "x");
        busy.Pump();
        Assert.Contains("Connection: close", busy.OutputText);
        Assert.Equal(HttpServerState.MustClose, busy.Core.State);
        Assert.Single(busy.Events, e => e.StartsWith("Headers", StringComparison.Ordinal));
    }

    [Fact]
    public void A_declined_upgrade_goes_on_as_http_and_a_declined_connect_closes()
    {
        string t = ServerCoreHarness.SameAtEverySplit(Echo, "GET /u HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n" + Get);
        Assert.Equal(2, Count(t, "HTTP/1.1 200 OK"));
        string connect = ServerCoreHarness.SameAtEverySplit(Echo, "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n" + Get);
        Assert.Equal(1, Count(connect, "HTTP/1.1 200 OK"));
        Assert.EndsWith("MustClose", connect);
    }

    private static int Count(string haystack, string needle) => RawClient.Occurrences(haystack, needle);
}
