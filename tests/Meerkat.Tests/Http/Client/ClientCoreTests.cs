using Meerkat.Http;
using Meerkat.Http.Client;
using static Meerkat.Tests.Http.Client.ClientCorePair;

namespace Meerkat.Tests.Http.Client;

/// <summary>The sans-I/O client core (HttpClientCore) against a scripted server, every response fed
/// whole, byte by byte and split at every point: keep-alive, pipelining, HTTP/1.0, 1xx and
/// 100-continue, bodiless responses, each framing, and how every transaction ends.</summary>
public sealed class ClientCoreTests
{
    private const string Hello = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    private const string ChunkedWithTrailers = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n";

    public static TheoryData<string, string[]> Framings => new()
    {
        { Hello, ["head 200 HTTP/1.1 ContentLength", "body hello", "message 5", "done Completed"] },
        { ChunkedWithTrailers, ["head 200 HTTP/1.1 Chunked", "body hello world", "message 11 trailers X-Sum: 42", "done Completed"] },
        { "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", ["head 200 HTTP/1.1 ContentLength", "message 0", "done Completed"] },
        { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", ["head 200 HTTP/1.1 Chunked", "message 0", "done Completed"] },
    };

    [Theory, MemberData(nameof(Framings))]
    public void A_keep_alive_response_in_each_framing_ends_once_and_leaves_the_connection_idle(string response, string[] expected)
    {
        foreach (var pair in Cuts.Run(p => p.Send(Get("/a")), response, endOfStream: false, expected))
        {
            Assert.Equal(HttpClientState.Idle, pair.Core.State);
            Assert.Equal("GET /a HTTP/1.1\r\nHost: example.test\r\n\r\n", pair.Sent);
        }
    }

    [Fact]
    public void A_read_until_close_body_ends_at_the_end_of_stream_and_closes()
    {
        Cuts.Run(p => p.Send(Get("/")), "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it", endOfStream: true,
            "head 200 HTTP/1.1 UntilClose", "body all of it", "message 9", "done Completed", "close");
    }

    [Fact]
    public void A_read_until_close_body_whose_end_cannot_be_trusted_is_an_error_not_a_short_success()
    {
        Cuts.Run(p => { p.Send(Get("/")); p.Core.IsEndOfStreamAuthenticated = false; }, "HTTP/1.1 200 OK\r\n\r\nall of it", endOfStream: true,
            "head 200 HTTP/1.1 UntilClose", "body all of it", "done PeerClosed",
            "error the TLS connection closed without close_notify, so the read-until-close response body may be cut short (9 body bytes, UntilClose framing)");
    }

    [Fact]
    public void Sequential_requests_reuse_the_connection()
    {
        foreach (var cut in Cuts.All(Hello))
        {
            var pair = new ClientCorePair();
            pair.Send(Get("/a"));
            pair.Deliver(cut);
            Assert.True(pair.Send(Get("/b")));
            pair.Deliver(ChunkedWithTrailers);
            Assert.Equal(["head 200 HTTP/1.1 ContentLength", "body hello", "message 5", "done Completed",
                "head 200 HTTP/1.1 Chunked", "body hello world", "message 11 trailers X-Sum: 42", "done Completed"], pair.Events);
            Assert.Equal("GET /a HTTP/1.1\r\nHost: example.test\r\n\r\nGET /b HTTP/1.1\r\nHost: example.test\r\n\r\n", pair.Sent);
            Assert.Equal(HttpClientState.Idle, pair.Core.State);
        }
    }

    [Fact]
    public void Pipelined_responses_are_matched_in_order_and_bodiless_ones_take_no_bytes()
    {
        // RFC 9112 §9.3.2, §6.3 rule 1: HEAD, 204 and 304 answers have no body, whatever their fields say.
        string responses = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
            + "HTTP/1.1 200 OK\r\nContent-Length: 12345\r\n\r\n"
            + "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"
            + "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\ne\r\n0\r\n\r\n";
        foreach (var pair in Cuts.Run(p =>
        {
            p.Send(Get("/1"));
            p.Send(Get("/2", "HEAD"));
            p.Send(Get("/3"));
            p.Send(Get("/4"));
            p.Send(Get("/5"));
        }, responses, endOfStream: false,
            "head 200 HTTP/1.1 ContentLength", "body a", "message 1", "done Completed",
            "head 200 HTTP/1.1 None", "message 0", "done Completed",
            "head 204 HTTP/1.1 None", "message 0", "done Completed",
            "head 304 HTTP/1.1 None", "message 0", "done Completed",
            "head 200 HTTP/1.1 Chunked", "body e", "message 1", "done Completed"))
        {
            Assert.Equal(HttpClientState.Idle, pair.Core.State);
            Assert.Equal(0, pair.Core.OutstandingCount);
        }
    }

    [Fact]
    public void A_close_in_the_middle_of_a_pipeline_ends_the_connection_and_the_rest_are_not_read()
    {
        // RFC 9112 §9.6: after a response with close, nothing more is read; the requests behind it are unanswered.
        string responses = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
            + "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\nb"
            + "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc";
        foreach (var pair in Cuts.Run(p => { p.Send(Get("/1")); p.Send(Get("/2")); p.Send(Get("/3")); }, responses, endOfStream: false,
            "head 200 HTTP/1.1 ContentLength", "body a", "message 1", "done Completed",
            "head 200 HTTP/1.1 ContentLength", "body b", "message 1", "done Completed",
            "error the server closed the connection with 1 request(s) unanswered"))
        {
            Assert.False(pair.Send(Get("/4")));
            Assert.False(pair.Core.Error!.IsResponseStarted);
        }
    }

    [Fact]
    public void A_request_asking_to_close_is_the_last_one_and_its_response_closes()
    {
        foreach (var pair in Cuts.Run(p =>
        {
            Assert.True(p.Send(Get("/bye").AddHeader("Connection", "close")));
            Assert.False(p.Send(Get("/more"))); // RFC 9112 §9.6: no request after one that asked to close
        }, Hello, endOfStream: false, "head 200 HTTP/1.1 ContentLength", "body hello", "message 5", "done Completed", "close"))
        {
            Assert.Equal(HttpClientState.MustClose, pair.Core.State);
            Assert.DoesNotContain("/more", pair.Sent);
        }
    }

    [Fact]
    public void An_http_1_0_response_closes_unless_it_asks_for_keep_alive()
    {
        Cuts.Run(p => p.Send(Get("/")), "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc", endOfStream: false,
            "head 200 HTTP/1.0 ContentLength", "body abc", "message 3", "done Completed", "close");
        foreach (var pair in Cuts.Run(p => p.Send(Get("/")), "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc", endOfStream: false,
            "head 200 HTTP/1.0 ContentLength", "body abc", "message 3", "done Completed"))
        {
            Assert.Equal(HttpClientState.Idle, pair.Core.State);
            // RFC 9112 §6.1: a chunked body goes only to a server known to speak HTTP/1.1.
            var error = Assert.Throws<InvalidOperationException>(() => pair.SendHead(Get("/up", "POST"), -1));
            Assert.Contains("HTTP/1.0", error.Message);
            Assert.True(pair.SendHead(Get("/up", "POST"), 3));
        }
        Cuts.Run(p => p.Send(Get("/")), "HTTP/1.0 200 OK\r\n\r\nuntil the end", endOfStream: true,
            "head 200 HTTP/1.0 UntilClose", "body until the end", "message 13", "done Completed", "close");
    }

    [Fact]
    public void A_higher_minor_version_is_read_as_http_1_1()
    {
        // RFC 9110 §2.5, §6.2: HTTP/1.2 is processed as the highest 1.x we implement, so it stays keep-alive.
        foreach (var pair in Cuts.Run(p => p.Send(Get("/")), "HTTP/1.2 200 OK\r\nContent-Length: 2\r\n\r\nok", endOfStream: false,
            "head 200 HTTP/1.1 ContentLength", "body ok", "message 2", "done Completed"))
            Assert.Equal(HttpClientState.Idle, pair.Core.State);
    }

    [Fact]
    public void Interim_responses_are_passed_over_and_the_final_one_answers_the_request()
    {
        // RFC 9110 §15.2: a client must parse 1xx responses it did not expect.
        Cuts.Run(p => p.Send(Get("/")), "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 199 Whatever\r\n\r\n" + Hello, endOfStream: false,
            "interim 103", "interim 199", "head 200 HTTP/1.1 ContentLength", "body hello", "message 5", "done Completed");
    }

    private static HttpClientRequest PostExpecting(string body) =>
        new HttpClientRequest("POST", "http://example.test/up") { Content = System.Text.Encoding.ASCII.GetBytes(body) }.AddHeader("Expect", "100-continue");

    [Fact]
    public void Expect_100_continue_holds_the_body_until_100_arrives()
    {
        foreach (var cut in Cuts.All("HTTP/1.1 100 Continue\r\n\r\n"))
        {
            var pair = new ClientCorePair();
            pair.Send(PostExpecting("hello"));
            Assert.EndsWith("Expect: 100-continue\r\nContent-Length: 5\r\n\r\n", pair.Sent);
            Assert.True(pair.Core.IsSendingBody);
            Assert.Throws<InvalidOperationException>(() => pair.Send(Get("/other")));
            pair.Deliver(cut);
            Assert.EndsWith("\r\n\r\nhello", pair.Sent);
            Assert.False(pair.Core.IsSendingBody);
            pair.Deliver(Hello);
            Assert.Equal(["interim 100", "head 200 HTTP/1.1 ContentLength", "body hello", "message 5", "done Completed"], pair.Events);
            Assert.Equal(1, pair.Sent.Split("hello").Length - 1);
            Assert.Equal(HttpClientState.Idle, pair.Core.State);
        }
    }

    [Fact]
    public void Expect_100_continue_sends_the_body_anyway_when_the_wait_runs_out()
    {
        var pair = new ClientCorePair();
        pair.Send(PostExpecting("hello"));
        Assert.Equal(pair.Now + ContinueTicks, pair.Core.NextDeadline);
        pair.Tick(ContinueTicks - 1);
        Assert.DoesNotContain("hello", pair.Sent);
        pair.Tick(1);
        Assert.EndsWith("\r\n\r\nhello", pair.Sent);
        Assert.Equal(long.MaxValue, pair.Core.NextDeadline);
        pair.Deliver("HTTP/1.1 100 Continue\r\n\r\n" + Hello);
        Assert.Equal(1, pair.Sent.Split("hello").Length - 1); // a late 100 sends nothing twice
        Assert.Equal(HttpClientState.Idle, pair.Core.State);
    }

    [Fact]
    public void A_final_answer_before_100_continue_means_the_body_is_never_sent_and_the_connection_ends()
    {
        foreach (var pair in Cuts.Run(p => p.Send(PostExpecting("hello")), "HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n", endOfStream: false,
            "head 417 HTTP/1.1 ContentLength", "message 0", "done Completed", "close"))
        {
            Assert.DoesNotContain("hello", pair.Sent);
            pair.Tick(ContinueTicks);
            Assert.DoesNotContain("hello", pair.Sent);
            Assert.False(pair.Send(Get("/next")));
        }
    }

    [Fact]
    public void A_streamed_body_is_framed_as_announced()
    {
        var pair = new ClientCorePair();
        pair.SendHead(Get("/up", "POST"), -1);
        pair.SendBody("hello");
        pair.SendBody("");
        pair.SendBody(" world");
        pair.EndBody(("X-Sum", "42"));
        Assert.Equal("POST /up HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n", pair.Sent);
        pair.ClearSent();
        pair.Deliver(Hello);
        pair.SendHead(Get("/up", "PUT"), 5);
        Assert.Throws<InvalidOperationException>(() => pair.SendBody("toolong"));
        pair.SendBody("abc");
        Assert.Throws<InvalidOperationException>(() => pair.EndBody());
        pair.SendBody("de");
        pair.EndBody();
        Assert.Equal("PUT /up HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n\r\nabcde", pair.Sent);
    }

    [Fact]
    public void A_response_that_arrives_while_its_body_is_still_streaming_ends_the_connection()
    {
        var pair = new ClientCorePair();
        pair.SendHead(Get("/up", "POST"), 100);
        pair.SendBody("partial");
        pair.Deliver("HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n");
        Assert.Equal(["head 413 HTTP/1.1 ContentLength", "message 0", "done Completed", "close"], pair.Events);
    }

    [Fact]
    public void A_buffered_response_comes_whole_with_its_message_and_a_larger_one_is_an_error()
    {
        Cuts.Run(p => p.Send(new HttpClientRequest("GET", "http://example.test/") { BufferResponse = true }), ChunkedWithTrailers, endOfStream: false,
            "head 200 HTTP/1.1 Chunked", "body hello world", "message 11 trailers X-Sum: 42 buffered hello world", "done Completed");
        foreach (var cut in Cuts.All(Hello))
        {
            var pair = new ClientCorePair(maxBufferedBodySize: 4);
            pair.Send(new HttpClientRequest("GET", "http://example.test/") { BufferResponse = true });
            pair.Deliver(cut);
            Assert.Equal("head 200 HTTP/1.1 ContentLength", pair.Events[0]);
            Assert.Equal(["done ProtocolError", "error the response body is larger than MaxBufferedBodySize (4 bytes)"], pair.Events[^2..]);
        }
    }

    [Fact]
    public void Stray_line_breaks_between_responses_are_dropped_but_other_data_with_no_request_is_an_error()
    {
        // RFC 9112 §2.2, §9.2.
        foreach (var pair in Cuts.Run(p => p.Send(Get("/")), Hello + "\r\n\r\n", endOfStream: false,
            "head 200 HTTP/1.1 ContentLength", "body hello", "message 5", "done Completed"))
        {
            Assert.Equal(HttpClientState.Idle, pair.Core.State);
            pair.Send(Get("/2"));
            pair.Deliver("\r\n" + Hello);
            Assert.Equal(8, pair.Events.Count);
        }
        Cuts.Run(p => p.Send(Get("/")), Hello + "HTTP/1.1 200 OK\r\n\r\n", endOfStream: false,
            "head 200 HTTP/1.1 ContentLength", "body hello", "message 5", "done Completed", "error the server sent data with no request outstanding");
    }

    [Fact]
    public void The_server_closing_an_idle_connection_is_a_close_not_an_error()
    {
        Cuts.Run(p => { }, "", endOfStream: true, "close");
        Cuts.Run(p => { p.Send(Get("/")); }, Hello + "\r\n", endOfStream: true,
            "head 200 HTTP/1.1 ContentLength", "body hello", "message 5", "done Completed", "close");
    }

    public static TheoryData<string, string[]> CutShort => new()
    {
        { "", ["error the server closed the connection before sending a response"] },
        { "\r\n", ["error the server closed the connection before sending a response"] },
        { "HTTP/1.1 200 OK\r\nContent-Le", ["error the connection closed before the response was complete (no response head)"] },
        { "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
            ["head 200 HTTP/1.1 ContentLength", "body abc", "done PeerClosed", "error the connection closed before the response was complete (3 of 10 body bytes)"] },
        { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
            ["head 200 HTTP/1.1 Chunked", "body abc", "done PeerClosed", "error the connection closed before the response was complete (3 body bytes, Chunked framing)"] },
        { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n",
            ["head 200 HTTP/1.1 Chunked", "body abc", "done PeerClosed", "error the connection closed before the response was complete (3 body bytes, Chunked framing)"] },
    };

    [Theory, MemberData(nameof(CutShort))]
    public void A_response_cut_short_by_the_server_closing_is_an_error_and_its_transaction_ends_with_PeerClosed(string response, string[] expected)
    {
        // RFC 9112 §8: an incomplete message is recorded as incomplete, never as a short success.
        foreach (var pair in Cuts.Run(p => p.Send(Get("/")), response, endOfStream: true, expected))
            Assert.Equal(expected.Length > 1, pair.Core.Error!.IsResponseStarted);
    }

    private const string Malformed = "error malformed response: ";

    public static TheoryData<string, string[]> MalformedResponses => new()
    {
        // RFC 9112 §6.3 rule 3: both framings at once is a smuggling attempt: an error, before anything begins.
        { "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", [Malformed + "Content-Length and Transfer-Encoding must not both be present."] },
        // Rule 5: an invalid Content-Length is an unrecoverable error.
        { "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", [Malformed + "Invalid Content-Length."] },
        { "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", [Malformed + "Invalid Content-Length."] },
        { "HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx", [Malformed + "Invalid Content-Length."] },
        { "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", [Malformed + "Invalid Content-Length."] },
        { "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", [Malformed + "Several Content-Length fields with different values."] },
        // Status line and version (RFC 9112 §2.3, §4).
        { "HTTP/1.1 2000 OK\r\n\r\n", [Malformed + "Malformed status line."] },
        { "HTTP/1.1 099 Low\r\n\r\n", [Malformed + "Malformed status line."] },
        { "HTTP/2.0 200 OK\r\n\r\n", [Malformed + "Only HTTP/1.x is supported."] },
        { "http/1.1 200 OK\r\n\r\n", [Malformed + "Malformed HTTP version."] },
        { "ICY 200 OK\r\n\r\n", [Malformed + "Malformed HTTP version."] },
        // Line and field syntax (RFC 9112 §2.2, §5; RFC 9110 §5.5).
        { "HTTP/1.1 200 OK\nContent-Length: 0\n\n", [Malformed + "Lines must end with CRLF."] },
        { "HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n", [Malformed + "Lines must end with CRLF."] },
        { "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", [Malformed + "Invalid header field name."] },
        { "HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n", [Malformed + "Invalid character in a header field value."] },
        { "HTTP/1.1 200 OK\r\n Content-Length: 0\r\n\r\n", [Malformed + "Obsolete line folding (a field line starting with whitespace) is not accepted."] },
        // Chunked syntax (RFC 9112 §7.1): the head began, so the transaction ends with ProtocolError first.
        { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            ["head 200 HTTP/1.1 Chunked", "done ProtocolError", Malformed + "Malformed chunk-size line."] },
        { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX",
            ["head 200 HTTP/1.1 Chunked", "body hello", "done ProtocolError", Malformed + "Chunk data must be followed by CRLF."] },
        // What this client never asked for.
        { "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", ["error the server switched protocols (101), which this client does not support"] },
        { "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
            ["error the response uses the transfer coding 'gzip', which this client does not decode (it asks for none, RFC 9112 §7.4)"] },
    };

    [Theory, MemberData(nameof(MalformedResponses))]
    public void A_malformed_response_ends_with_a_clear_error_at_every_split(string response, string[] expected)
    {
        foreach (var pair in Cuts.Run(p => p.Send(Get("/")), response, endOfStream: false, expected))
        {
            Assert.Equal(HttpClientState.Failed, pair.Core.State);
            Assert.False(pair.Send(Get("/next")));
        }
    }

    [Fact]
    public void A_101_to_a_request_that_accepts_upgrades_ends_HTTP_on_the_connection_at_every_split()
    {
        // The reverse proxy's tunnel (RFC 9110 §15.2.2): the bytes after the head are the new protocol's, never parsed.
        var request = Get("/chat");
        request.AcceptsUpgrade = true;
        foreach (var pair in Cuts.Run(p => p.Send(request), "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi",
            endOfStream: false, "head 101 HTTP/1.1 None", "message 0", "done Completed"))
        {
            Assert.Equal(HttpClientState.Switched, pair.Core.State);
            Assert.Equal(HttpClientEvent.NeedMoreData, pair.Core.Receive("\x81\x02hi"u8.ToArray(), endOfStream: true, out int consumed));
            Assert.Equal(0, consumed);
        }
    }

    [Fact]
    public void Connection_options_are_a_list_and_identical_repeated_lengths_are_one_length()
    {
        // RFC 9110 §7.6.1: "close" among other options still closes. RFC 9110 §8.6: the same length twice is one length.
        Cuts.Run(p => p.Send(Get("/")), "HTTP/1.1 200 OK\r\nConnection: foo, close\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", endOfStream: false,
            "head 200 HTTP/1.1 ContentLength", "body x", "message 1", "done Completed", "close");
    }

    [Fact]
    public void A_chunk_size_too_large_to_count_is_an_error_not_an_overflow()
    {
        // RFC 9112 §7.1: recipients anticipate large hexadecimal numbers.
        Cuts.Run(p => p.Send(Get("/")), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", endOfStream: false,
            "head 200 HTTP/1.1 Chunked", "done ProtocolError", Malformed + "Chunk size too large.");
    }

    [Fact]
    public void A_head_over_the_limit_is_an_error()
    {
        var limits = new HttpLimits { MaxHeaderBytes = 64 };
        var pair = new ClientCorePair(limits);
        pair.Send(Get("/"));
        pair.Deliver("HTTP/1.1 200 OK\r\nX-Long: " + new string('a', 100) + "\r\n\r\n");
        Assert.Single(pair.Events);
        Assert.StartsWith(Malformed, pair.Events[0]);
        Assert.Contains("too large", pair.Events[0]);
    }

    [Fact]
    public void An_abort_from_outside_ends_an_open_transaction_once_with_its_reason()
    {
        var pair = new ClientCorePair();
        pair.Send(Get("/"));
        pair.Deliver("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
        pair.Abort(HttpOutcome.Deadline);
        Assert.Equal(["head 200 HTTP/1.1 ContentLength", "body abc", "done Deadline"], pair.Events);
        Assert.False(pair.Core.Abort(HttpOutcome.Reset, out _)); // once only
        Assert.Equal(HttpClientState.Closed, pair.Core.State);

        var idle = new ClientCorePair();
        idle.Send(Get("/"));
        idle.Abort(HttpOutcome.Reset);
        Assert.Empty(idle.Events); // no head, no transaction to end

        // Between Message and Done the response is whole: the transaction completed.
        var core = new ClientCorePair().Core;
        core.SendRequest(Get("/"), 0);
        var bytes = System.Text.Encoding.ASCII.GetBytes(Hello);
        Assert.Equal(HttpClientEvent.Head, core.Receive(bytes, false, out int used));
        Assert.Equal(HttpClientEvent.Body, core.Receive(bytes.AsMemory(used), false, out _));
        Assert.Equal(HttpClientEvent.Message, core.Receive(ReadOnlyMemory<byte>.Empty, false, out _));
        Assert.True(core.Abort(HttpOutcome.Cancelled, out var outcome));
        Assert.Equal(HttpOutcome.Completed, outcome);
    }
}
