using Meerkat.Http;
using Meerkat.Http2;
using static Meerkat.Tests.Http2.Raw;

namespace Meerkat.Tests.Http2;

/// <summary>The client side of the core against a server played byte by byte: responses,
/// their errors, GOAWAY and refused streams, push refused.</summary>
public class Http2ClientTests
{
    private static Http2HeaderList Get(string path = "/", string method = "GET") =>
        new Http2HeaderList().Add(":method", method).Add(":scheme", "https").Add(":authority", "example.com").Add(":path", path);

    [Fact]
    public void A_client_sends_the_preface_then_settings_that_refuse_push()
    {
        var client = new Endpoint(isServer: false);
        byte[] output = client.TakeOutput();
        Assert.Equal(ClientPreface, output[..24]);
        List<SentFrame> frames = SentFrame.Parse(output.AsSpan(24));
        Assert.Equal([Settings, WindowUpdate], frames.Select(f => f.Type));
        Assert.Contains("000200000000", Convert.ToHexString(frames[0].Payload)); // SETTINGS_ENABLE_PUSH = 0
        Assert.Equal(1024 * 1024 - 65_535, frames[1].Increment);
    }

    [Fact]
    public void A_request_gets_its_response_content_and_trailers_then_one_stream_closed()
    {
        Endpoint client = Handshake.Client();
        int id = client.Connection.OpenStream(Get(), endStream: true);
        Assert.Equal(1, id);
        client.Connection.SetUserState(id, "mine");
        List<SentFrame> request = client.TakeFrames();
        Assert.Equal((Raw.Headers, EndStream | EndHeaders), (request.Single().Type, request.Single().Flags));
        List<Recorded> events = client.Feed(Concat(
            HeadersFrame(1, EndHeaders, Response(100)),
            HeadersFrame(1, EndHeaders, Response(200, ("content-type", "text/plain"))),
            DataFrame(1, 0, "hello "),
            DataFrame(1, 0, "world"),
            HeadersFrame(1, EndHeaders | EndStream, Block(("grpc-status", "0")))));
        Assert.Equal(
        [
            "Headers 1 100 []",
            "Headers 1 200 [content-type: text/plain]",
            "Data 1 hello ",
            "Data 1 world",
            "Trailers 1 end [grpc-status: 0]",
            "StreamClosed 1 Completed",
        ], events.Select(e => e.Head is null ? Short(e) : $"{e.Kind} {e.StreamId}{(e.IsEndStream ? " end" : "")} {e.Head}"));
        Assert.All(events.Skip(2).Take(2), e => Assert.Equal("mine", e.UserState));
        Assert.Equal(0, client.Connection.ActiveStreamCount);
    }

    [Fact]
    public void A_head_response_may_announce_a_length_without_content()
    {
        Endpoint client = Handshake.Client();
        client.Connection.OpenStream(Get(method: "HEAD"), endStream: true);
        List<Recorded> events = client.Feed(HeadersFrame(1, EndHeaders | EndStream, Response(200, ("content-length", "1234"))));
        Assert.Equal(["Headers 1 end", "StreamClosed 1 Completed"], events.Select(Short));
    }

    public static TheoryData<string, string> BadResponses => new()
    {
        { "no :status", "content-type: x" },
        { ":status 101", ":status: 101" },
        { ":status 99", ":status: 99" },
        { ":status 2000", ":status: 2000" },
        { ":status in letters", ":status: abc" },
        { "a request pseudo-header field", ":status: 200|:path: /" },
        { "two :status", ":status: 200|:status: 200" },
        { "an uppercase name", ":status: 200|Content-Type: x" },
        { "a connection-specific field", ":status: 200|connection: close" },
    };

    [Theory]
    [MemberData(nameof(BadResponses))]
    public void A_malformed_response_resets_its_stream_with_protocol_error(string why, string fields)
    {
        Endpoint client = Handshake.Client();
        client.Connection.OpenStream(Get(), endStream: true);
        client.TakeOutput();
        (string, string)[] block = fields.Split('|').Select(f => (f[..f.IndexOf(':', 1)], f[(f.IndexOf(':', 1) + 2)..])).ToArray();
        List<Recorded> events = client.Feed(HeadersFrame(1, EndHeaders, Block(block)));
        Assert.True(events.Single() is { Kind: Http2EventKind.StreamClosed, Outcome: HttpOutcome.ProtocolError }, why);
        Assert.Equal("RST_STREAM(1) PROTOCOL_ERROR", client.TakeFrames().Single().Describe());
    }

    [Theory]
    [InlineData("an informational response with END_STREAM", "100", EndStream, "", "RST_STREAM(1) PROTOCOL_ERROR")]
    [InlineData("DATA after only an informational response", "100", 0, "x", "RST_STREAM(1) PROTOCOL_ERROR")]
    [InlineData("END_STREAM with a content-length", "200|content-length: 5", EndStream, "", "RST_STREAM(1) PROTOCOL_ERROR")]
    [InlineData("content shorter than content-length", "200|content-length: 5", 0, "abc", "RST_STREAM(1) PROTOCOL_ERROR")]
    [InlineData("204 with END_STREAM", "204", EndStream, "", "none")]
    [InlineData("304 with a content-length and no content", "304|content-length: 5", EndStream, "", "none")]
    public void Response_framing_rules(string why, string head, byte headFlags, string content, string expected)
    {
        Endpoint client = Handshake.Client();
        client.Connection.OpenStream(Get(), endStream: true);
        client.TakeOutput();
        string[] parts = head.Split('|');
        byte[] block = Response(int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), parts.Skip(1).Select(p => (p[..p.IndexOf(':')], p[(p.IndexOf(':') + 2)..])).ToArray());
        byte[] input = HeadersFrame(1, (byte)(EndHeaders | headFlags), block);
        if (headFlags == 0) input = Concat(input, DataFrame(1, EndStream, content));
        client.Feed(input);
        string resets = string.Join("; ", client.TakeFrames().Where(f => f.Type == RstStream).Select(f => f.Describe()));
        Assert.True(expected == (resets.Length == 0 ? "none" : resets), $"{why}: {resets}");
    }

    [Fact]
    public void A_response_header_section_over_the_limit_resets_the_stream()
    {
        Endpoint client = Handshake.Client(new Http2Options { MaxHeaderListSize = 500 });
        client.Connection.OpenStream(Get(), endStream: true);
        client.TakeOutput();
        Recorded closed = client.Feed(HeadersFrame(1, EndHeaders, Response(200, ("x-big", new string('b', 1000))))).Single();
        Assert.Equal((Http2EventKind.StreamClosed, HttpOutcome.ProtocolError), (closed.Kind, closed.Outcome));
        Assert.Equal("RST_STREAM(1) PROTOCOL_ERROR", client.TakeFrames().Single().Describe());
    }

    [Theory]
    [InlineData("HEADERS on a client stream never opened", 3, "GOAWAY PROTOCOL_ERROR")]
    [InlineData("HEADERS on a server-initiated stream", 2, "GOAWAY PROTOCOL_ERROR")]
    public void Streams_a_server_may_not_open(string why, int streamId, string expected)
    {
        Endpoint client = Handshake.Client();
        client.Connection.OpenStream(Get(), endStream: true);
        client.TakeOutput();
        client.Feed(HeadersFrame(streamId, EndHeaders, Response(200)));
        Assert.True(expected == client.TakeFrames().Single().Describe(), why);
    }

    [Fact]
    public void Push_before_our_settings_are_acknowledged_is_decoded_and_cancelled_and_after_it_is_an_error()
    {
        var client = new Endpoint(isServer: false);
        client.Feed(SettingsFrame());
        client.Connection.OpenStream(Get(), endStream: true);
        client.TakeOutput();
        client.Feed(Frame(PushPromise, EndHeaders, 1, [.. U32(2), .. Raw.Request(path: "/style.css")]));
        Assert.Equal("RST_STREAM(2) CANCEL", client.TakeFrames().Single().Describe());
        client.Feed(HeadersFrame(1, EndHeaders | EndStream, Response(200)));
        Assert.Equal("StreamClosed", client.Events[^1].Kind.ToString());
        client.Feed(SettingsAck);
        client.Connection.OpenStream(Get(), endStream: true);
        client.TakeOutput();
        client.Feed(Frame(PushPromise, EndHeaders, 3, [.. U32(4), .. Raw.Request(path: "/style.css")]));
        Assert.Equal("GOAWAY PROTOCOL_ERROR", client.TakeFrames().Single().Describe());
    }

    [Fact]
    public void A_server_enabling_push_is_a_protocol_error()
    {
        var client = new Endpoint(isServer: false);
        client.TakeOutput();
        client.Feed(SettingsFrame((2, 1)));
        Assert.Equal("GOAWAY PROTOCOL_ERROR", client.TakeFrames().Single().Describe());
    }

    [Fact]
    public void Goaway_refuses_the_streams_above_its_last_one_and_the_rest_finish()
    {
        Endpoint client = Handshake.Client();
        for (int i = 0; i < 3; i++) client.Connection.OpenStream(Get("/" + i), endStream: true);
        List<Recorded> events = client.Feed(GoAwayFrame(1, 0));
        Assert.Equal(["GoAway", "StreamClosed 3 Reset refused", "StreamClosed 5 Reset refused"], events.Select(e => e.Kind == Http2EventKind.GoAway ? "GoAway" : $"{e.Kind} {e.StreamId} {e.Outcome}{(e.IsRefused ? " refused" : "")}"));
        Assert.False(client.Connection.CanOpenStream);
        Assert.Equal(Http2ConnectionState.Draining, client.Connection.State);
        client.Feed(HeadersFrame(1, EndHeaders | EndStream, Response(204)));
        Assert.Equal(Http2ConnectionState.Closed, client.Connection.State);
    }

    [Fact]
    public void Refused_streams_are_marked_retryable()
    {
        Endpoint client = Handshake.Client();
        client.Connection.OpenStream(Get(), endStream: true);
        Recorded closed = client.Feed(RstStreamFrame(1, 7)).Single();
        Assert.True(closed.IsRefused);
        Assert.Equal((HttpOutcome.Reset, Http2ErrorCode.RefusedStream), (closed.Outcome, closed.ErrorCode));
    }

    [Fact]
    public void A_reset_with_no_error_after_a_complete_response_completes_the_upload_side()
    {
        Endpoint client = Handshake.Client();
        int id = client.Connection.OpenStream(Get(method: "POST"), endStream: false);
        Assert.True(client.Connection.TrySendData(id, "part"u8, endStream: false, client.Now, out _));
        List<Recorded> events = client.Feed(Concat(HeadersFrame(1, EndHeaders | EndStream, Response(413)), RstStreamFrame(1, 0)));
        Assert.Equal(["Headers 1 end", "StreamClosed 1 Completed"], events.Select(Short));
        Assert.False(client.Connection.TrySendData(id, "more"u8, endStream: true, client.Now, out _));
    }

    [Fact]
    public void The_peer_concurrency_limit_holds_new_streams_back_until_one_closes()
    {
        Endpoint client = Handshake.Client(null, (3, 1));
        Assert.True(client.Connection.CanOpenStream);
        client.Connection.OpenStream(Get(), endStream: true);
        Assert.False(client.Connection.CanOpenStream);
        Assert.Throws<InvalidOperationException>(() => client.Connection.OpenStream(Get(), endStream: true));
        client.Feed(HeadersFrame(1, EndHeaders | EndStream, Response(200)));
        Assert.True(client.Connection.CanOpenStream);
        Assert.Equal(3, client.Connection.OpenStream(Get(), endStream: true));
    }

    [Fact]
    public void Client_streams_take_odd_identifiers_in_order()
    {
        Endpoint client = Handshake.Client();
        Assert.Equal(1, client.Connection.OpenStream(Get(), true));
        Assert.Equal(3, client.Connection.OpenStream(Get(), true));
        Assert.Equal(5L, client.Connection.Streams.NextLocalStreamId);
    }

    private static string Short(Recorded e) => e.Kind switch
    {
        Http2EventKind.StreamClosed => $"StreamClosed {e.StreamId} {e.Outcome}",
        Http2EventKind.Data => $"Data {e.StreamId} {e.Text}{(e.IsEndStream ? " end" : "")}",
        _ => $"{e.Kind} {e.StreamId}{(e.IsEndStream ? " end" : "")}",
    };
}
