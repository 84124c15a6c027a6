using Meerkat.Http;
using Meerkat.Http2;
using static Meerkat.Tests.Http2.Raw;

namespace Meerkat.Tests.Http2;

/// <summary>
/// Every error rule of RFC 9113 as one row: what a client sends after the handshake, and the
/// GOAWAY or RST_STREAM the server must answer with (§5.4, §7). Rows expecting "none" are the
/// near misses that must be accepted. Each input is also fed byte by byte: the answer must not
/// depend on how the bytes arrive.
/// </summary>
public class Http2ErrorTests
{
    private sealed record Case(byte[] Input, string Expected, Http2Options? Options = null);

    private static readonly byte[] Get1 = HeadersFrame(1, EndHeaders, Request());
    private static readonly byte[] Post1 = HeadersFrame(1, EndHeaders, Request("POST"));

    private static readonly Dictionary<string, Case> Cases = new()
    {
        // §4.2 frame size
        ["frame over SETTINGS_MAX_FRAME_SIZE"] = new(Concat(Post1, FrameHeader(16_385, Data, 0, 1)), "GOAWAY FRAME_SIZE_ERROR"),
        ["frame at SETTINGS_MAX_FRAME_SIZE"] = new(Concat(Post1, DataFrame(1, 0, new byte[16_384])), "none"),
        // §5.1 stream states
        ["DATA on an idle stream"] = new(DataFrame(3, 0, "x"), "GOAWAY PROTOCOL_ERROR"),
        ["RST_STREAM on an idle stream"] = new(RstStreamFrame(3, 8), "GOAWAY PROTOCOL_ERROR"),
        ["WINDOW_UPDATE on an idle stream"] = new(WindowUpdateFrame(3, 1), "GOAWAY PROTOCOL_ERROR"),
        ["PRIORITY on an idle stream"] = new(PriorityFrame(3, 0, 16), "none"),
        ["DATA after END_STREAM (half-closed remote)"] = new(Concat(HeadersFrame(1, EndHeaders | EndStream, Request()), DataFrame(1, 0, "x")), "RST_STREAM(1) STREAM_CLOSED"),
        ["HEADERS after END_STREAM (half-closed remote)"] = new(Concat(HeadersFrame(1, EndHeaders | EndStream, Request()), HeadersFrame(1, EndHeaders | EndStream, Block(("a", "b")))), "RST_STREAM(1) STREAM_CLOSED"),
        ["WINDOW_UPDATE on a half-closed (remote) stream"] = new(Concat(HeadersFrame(1, EndHeaders | EndStream, Request()), WindowUpdateFrame(1, 10)), "none"),
        ["DATA on a stream the peer reset"] = new(Concat(Post1, RstStreamFrame(1, 8), DataFrame(1, 0, "x")), "RST_STREAM(1) STREAM_CLOSED"),
        ["HEADERS on a stream the peer reset"] = new(Concat(Post1, RstStreamFrame(1, 8), HeadersFrame(1, EndHeaders, Block(("a", "b")))), "GOAWAY STREAM_CLOSED"),
        ["RST_STREAM and WINDOW_UPDATE on a closed stream"] = new(Concat(Post1, RstStreamFrame(1, 8), RstStreamFrame(1, 8), WindowUpdateFrame(1, 5), PriorityFrame(1, 0, 1)), "none"),
        // §5.1.1 stream identifiers
        ["HEADERS on an even stream"] = new(HeadersFrame(2, EndHeaders, Request()), "GOAWAY PROTOCOL_ERROR"),
        ["HEADERS on a lower, unused stream"] = new(Concat(HeadersFrame(5, EndHeaders, Request()), HeadersFrame(3, EndHeaders, Request())), "GOAWAY PROTOCOL_ERROR"),
        ["skipping stream identifiers"] = new(Concat(HeadersFrame(1, EndHeaders, Request()), HeadersFrame(7, EndHeaders, Request())), "none"),
        // §5.1.2 concurrency
        ["a stream over SETTINGS_MAX_CONCURRENT_STREAMS"] = new(Concat(Get1, HeadersFrame(3, EndHeaders, Request()), HeadersFrame(5, EndHeaders, Request())), "RST_STREAM(5) REFUSED_STREAM", new Http2Options { MaxConcurrentStreams = 2 }),
        // §5.3 priority
        ["HEADERS depending on its own stream"] = new(Frame(Headers, EndHeaders | PriorityFlag, 1, [.. U32(1), 16, .. Request()]), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["PRIORITY depending on its own stream"] = new(Concat(Post1, PriorityFrame(1, 1, 16)), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["PRIORITY of the wrong size on an open stream"] = new(Concat(Post1, Frame(Priority, 0, 1, 0, 0, 0, 3)), "RST_STREAM(1) FRAME_SIZE_ERROR"),
        ["PRIORITY on stream 0"] = new(PriorityFrame(0, 1, 16), "GOAWAY PROTOCOL_ERROR"),
        ["HEADERS with priority fields"] = new(Frame(Headers, EndHeaders | PriorityFlag | EndStream, 1, [.. U32(0x8000_0003), 200, .. Request()]), "none"),
        // §5.5 extensions
        ["an unknown frame type"] = new(Frame(0xfa, 0xff, 1, 1, 2, 3), "none"),
        ["an unknown frame type inside a field block"] = new(Concat(HeadersFrame(1, 0, Request()), Frame(0xfa, 0, 1)), "GOAWAY PROTOCOL_ERROR"),
        // §6.1 DATA
        ["DATA on stream 0"] = new(DataFrame(0, 0, "x"), "GOAWAY PROTOCOL_ERROR"),
        ["DATA padding as long as the payload"] = new(Concat(Post1, Frame(Data, Padded, 1, 3, 0, 0)), "GOAWAY PROTOCOL_ERROR"),
        ["DATA with padding"] = new(Concat(Post1, Frame(Data, Padded | EndStream, 1, 2, (byte)'h', (byte)'i', 0, 0)), "none"),
        // §6.2 HEADERS, §6.10 CONTINUATION
        ["HEADERS on stream 0"] = new(HeadersFrame(0, EndHeaders, Request()), "GOAWAY PROTOCOL_ERROR"),
        ["HEADERS padding longer than the payload"] = new(Frame(Headers, EndHeaders | Padded, 1, [200, .. Request()]), "GOAWAY PROTOCOL_ERROR"),
        ["HEADERS with priority flag but no room for it"] = new(Frame(Headers, EndHeaders | PriorityFlag, 1, 0, 0), "GOAWAY FRAME_SIZE_ERROR"),
        ["CONTINUATION without HEADERS"] = new(Frame(Continuation, EndHeaders, 1, Request()), "GOAWAY PROTOCOL_ERROR"),
        ["CONTINUATION on another stream"] = new(Concat(HeadersFrame(1, 0, Request()[..4]), Frame(Continuation, EndHeaders, 3, Request()[4..])), "GOAWAY PROTOCOL_ERROR"),
        ["DATA inside a field block"] = new(Concat(HeadersFrame(1, 0, Request()[..4]), DataFrame(1, 0, "x")), "GOAWAY PROTOCOL_ERROR"),
        ["HEADERS and CONTINUATION"] = new(Concat(HeadersFrame(1, EndStream, Request()[..4]), Frame(Continuation, 0, 1, Request()[4..9]), Frame(Continuation, EndHeaders, 1, Request()[9..])), "none"),
        // §6.4 RST_STREAM
        ["RST_STREAM on stream 0"] = new(RstStreamFrame(0, 8), "GOAWAY PROTOCOL_ERROR"),
        ["RST_STREAM of the wrong size"] = new(Concat(Post1, Frame(RstStream, 0, 1, 0, 0, 8)), "GOAWAY FRAME_SIZE_ERROR"),
        // §6.5 SETTINGS
        ["SETTINGS on a stream"] = new(Frame(Settings, 0, 1), "GOAWAY PROTOCOL_ERROR"),
        ["SETTINGS not a multiple of 6"] = new(Frame(Settings, 0, 0, 0, 1, 0, 0, 0), "GOAWAY FRAME_SIZE_ERROR"),
        ["SETTINGS acknowledgement with a payload"] = new(Frame(Settings, Ack, 0, 0, 1, 0, 0, 0, 0), "GOAWAY FRAME_SIZE_ERROR"),
        ["SETTINGS acknowledgement never asked for"] = new(SettingsAck, "GOAWAY PROTOCOL_ERROR"),
        ["SETTINGS_ENABLE_PUSH of 2"] = new(SettingsFrame((2, 2)), "GOAWAY PROTOCOL_ERROR"),
        ["SETTINGS_INITIAL_WINDOW_SIZE of 2^31"] = new(SettingsFrame((4, 0x8000_0000)), "GOAWAY FLOW_CONTROL_ERROR"),
        ["SETTINGS_MAX_FRAME_SIZE below 2^14"] = new(SettingsFrame((5, 16_383)), "GOAWAY PROTOCOL_ERROR"),
        ["SETTINGS_MAX_FRAME_SIZE of 2^24"] = new(SettingsFrame((5, 1 << 24)), "GOAWAY PROTOCOL_ERROR"),
        ["SETTINGS_ENABLE_CONNECT_PROTOCOL of 2"] = new(SettingsFrame((8, 2)), "GOAWAY PROTOCOL_ERROR"),
        ["an unknown setting"] = new(SettingsFrame((0x99, 12345), (4, 0x7fff_ffff)), "none"),
        ["a window update overflowing after SETTINGS_INITIAL_WINDOW_SIZE"] = new(Concat(Post1, WindowUpdateFrame(1, 0x7fff_0000), SettingsFrame((4, 0x7fff_ffff))), "GOAWAY FLOW_CONTROL_ERROR"),
        // §6.6 PUSH_PROMISE
        ["PUSH_PROMISE sent to a server"] = new(Concat(Post1, Frame(PushPromise, EndHeaders, 1, [.. U32(2), .. Request()])), "GOAWAY PROTOCOL_ERROR"),
        // §6.7 PING
        ["PING on a stream"] = new(Frame(Ping, 0, 1, new byte[8]), "GOAWAY PROTOCOL_ERROR"),
        ["PING of the wrong size"] = new(Frame(Ping, 0, 0, new byte[7]), "GOAWAY FRAME_SIZE_ERROR"),
        ["an unasked PING acknowledgement"] = new(PingFrame(Ack, 42), "none"),
        // §6.8 GOAWAY
        ["GOAWAY on a stream"] = new(Frame(GoAway, 0, 1, new byte[8]), "GOAWAY PROTOCOL_ERROR"),
        ["GOAWAY shorter than 8 octets"] = new(Frame(GoAway, 0, 0, new byte[7]), "GOAWAY FRAME_SIZE_ERROR"),
        // §6.9 WINDOW_UPDATE and flow control
        ["WINDOW_UPDATE of the wrong size"] = new(Frame(WindowUpdate, 0, 0, 0, 0, 1), "GOAWAY FRAME_SIZE_ERROR"),
        ["WINDOW_UPDATE of 0 on the connection"] = new(WindowUpdateFrame(0, 0), "GOAWAY PROTOCOL_ERROR"),
        ["WINDOW_UPDATE of 0 on a stream"] = new(Concat(Post1, WindowUpdateFrame(1, 0)), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["the connection window over 2^31-1"] = new(WindowUpdateFrame(0, 0x7fff_ffff), "GOAWAY FLOW_CONTROL_ERROR"),
        ["a stream window over 2^31-1"] = new(Concat(Post1, WindowUpdateFrame(1, 0x7fff_ffff)), "RST_STREAM(1) FLOW_CONTROL_ERROR"),
        ["DATA beyond the stream window"] = new(Concat(Post1, DataFrame(1, 0, new byte[101])), "RST_STREAM(1) FLOW_CONTROL_ERROR", new Http2Options { InitialWindowSize = 100 }),
        ["DATA filling the stream window"] = new(Concat(Post1, DataFrame(1, 0, new byte[100])), "none", new Http2Options { InitialWindowSize = 100 }),
        ["DATA beyond the connection window"] = new(Concat(Post1, DataFrame(1, 0, new byte[65_536])), "GOAWAY FLOW_CONTROL_ERROR", new Http2Options { InitialWindowSize = 1 << 20, ConnectionWindowSize = 65_535, MaxFrameSize = 1 << 17 }),
        ["DATA filling the connection window"] = new(Concat(Post1, DataFrame(1, 0, new byte[65_535]), DataFrame(1, 0, new byte[30_000])), "none", new Http2Options { InitialWindowSize = 1 << 20, ConnectionWindowSize = 65_535, MaxFrameSize = 1 << 17 }),
        // RFC 7541 via §4.3
        ["a field block with HPACK index 0"] = new(HeadersFrame(1, EndHeaders, [0x80]), "GOAWAY COMPRESSION_ERROR"),
        ["a field block with a size update after a field"] = new(HeadersFrame(1, EndHeaders, [0x82, 0x20]), "GOAWAY COMPRESSION_ERROR"),
        ["a field block with bad Huffman padding"] = new(HeadersFrame(1, EndHeaders, [0x00, 0x81, 0x00, 0x00]), "GOAWAY COMPRESSION_ERROR"),
        // §8.1.1 malformed messages, §8.2 fields, §8.3 pseudo-header fields
        ["request without :method"] = new(HeadersFrame(1, EndHeaders, Block((":scheme", "https"), (":path", "/"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["request without :scheme"] = new(HeadersFrame(1, EndHeaders, Block((":method", "GET"), (":path", "/"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["request without :path"] = new(HeadersFrame(1, EndHeaders, Block((":method", "GET"), (":scheme", "https"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["request with an empty :path"] = new(HeadersFrame(1, EndHeaders, Request(path: "")), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["request with a relative :path"] = new(HeadersFrame(1, EndHeaders, Request(path: "index.html")), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["OPTIONS with :path *"] = new(HeadersFrame(1, EndHeaders | EndStream, Request("OPTIONS", "*")), "none"),
        ["request with :status"] = new(HeadersFrame(1, EndHeaders, Block((":status", "200"), (":method", "GET"), (":scheme", "https"), (":path", "/"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["request with an unknown pseudo-header field"] = new(HeadersFrame(1, EndHeaders, Block((":method", "GET"), (":scheme", "https"), (":path", "/"), (":foo", "bar"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["request with :protocol not enabled"] = new(HeadersFrame(1, EndHeaders, Block((":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "https"), (":path", "/"), (":authority", "a"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["request with a duplicate :method"] = new(HeadersFrame(1, EndHeaders, Block((":method", "GET"), (":method", "GET"), (":scheme", "https"), (":path", "/"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["request with a pseudo-header field after a regular one"] = new(HeadersFrame(1, EndHeaders, Block((":method", "GET"), (":scheme", "https"), ("accept", "*/*"), (":path", "/"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["request with an uppercase field name"] = new(HeadersFrame(1, EndHeaders, Request(extra: ("Accept", "*/*"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["request with a space in a field name"] = new(HeadersFrame(1, EndHeaders, Request(extra: ("a b", "c"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["request with a colon inside a field name"] = new(HeadersFrame(1, EndHeaders, Request(extra: ("a:b", "c"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["request with an empty field name"] = new(HeadersFrame(1, EndHeaders, Request(extra: ("", "c"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["request with CR in a value"] = new(HeadersFrame(1, EndHeaders, Request(extra: ("a", "b\rc"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["request with NUL in a value"] = new(HeadersFrame(1, EndHeaders, Request(extra: ("a", "b\0c"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["request with a value starting with a space"] = new(HeadersFrame(1, EndHeaders, Request(extra: ("a", " b"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["request with a value ending with a tab"] = new(HeadersFrame(1, EndHeaders, Request(extra: ("a", "b\t"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["request with Connection"] = new(HeadersFrame(1, EndHeaders, Request(extra: ("connection", "keep-alive"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["request with Keep-Alive"] = new(HeadersFrame(1, EndHeaders, Request(extra: ("keep-alive", "timeout=5"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["request with Proxy-Connection"] = new(HeadersFrame(1, EndHeaders, Request(extra: ("proxy-connection", "close"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["request with Transfer-Encoding"] = new(HeadersFrame(1, EndHeaders, Request(extra: ("transfer-encoding", "chunked"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["request with Upgrade"] = new(HeadersFrame(1, EndHeaders, Request(extra: ("upgrade", "websocket"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["request with TE: gzip"] = new(HeadersFrame(1, EndHeaders, Request(extra: ("te", "gzip"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["request with TE: trailers"] = new(HeadersFrame(1, EndHeaders | EndStream, Request(extra: ("te", "trailers"))), "none"),
        ["request with Host differing from :authority"] = new(HeadersFrame(1, EndHeaders, Request(extra: ("host", "other.example"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["request with Host equal to :authority"] = new(HeadersFrame(1, EndHeaders | EndStream, Request(extra: ("host", "EXAMPLE.com"))), "none"),
        ["request with userinfo in :authority"] = new(HeadersFrame(1, EndHeaders, Block((":method", "GET"), (":scheme", "https"), (":authority", "user@example.com"), (":path", "/"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["CONNECT with :path"] = new(HeadersFrame(1, EndHeaders, Block((":method", "CONNECT"), (":authority", "a:443"), (":path", "/"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["CONNECT without :authority"] = new(HeadersFrame(1, EndHeaders, Block((":method", "CONNECT"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["CONNECT"] = new(HeadersFrame(1, EndHeaders, Block((":method", "CONNECT"), (":authority", "a:443"))), "none"),
        ["request with an invalid content-length"] = new(HeadersFrame(1, EndHeaders, Request("POST", extra: ("content-length", "-1"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["request with conflicting content-lengths"] = new(HeadersFrame(1, EndHeaders, Request("POST", extra: [("content-length", "1"), ("content-length", "2")])), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["END_STREAM with a non-zero content-length"] = new(HeadersFrame(1, EndHeaders | EndStream, Request("POST", extra: ("content-length", "3"))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["DATA longer than content-length"] = new(Concat(HeadersFrame(1, EndHeaders, Request("POST", extra: ("content-length", "3"))), DataFrame(1, 0, "abcd")), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["DATA shorter than content-length"] = new(Concat(HeadersFrame(1, EndHeaders, Request("POST", extra: ("content-length", "3"))), DataFrame(1, EndStream, "ab")), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["DATA matching content-length in pieces"] = new(Concat(HeadersFrame(1, EndHeaders, Request("POST", extra: ("content-length", "3"))), DataFrame(1, 0, "ab"), DataFrame(1, EndStream, "c")), "none"),
        ["trailers without END_STREAM"] = new(Concat(Post1, DataFrame(1, 0, "ab"), HeadersFrame(1, EndHeaders, Block(("x-checksum", "1")))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["trailers with a pseudo-header field"] = new(Concat(Post1, HeadersFrame(1, EndHeaders | EndStream, Block((":path", "/")))), "RST_STREAM(1) PROTOCOL_ERROR"),
        ["trailers"] = new(Concat(Post1, DataFrame(1, 0, "ab"), HeadersFrame(1, EndHeaders | EndStream, Block(("x-checksum", "1")))), "none"),
    };

    public static TheoryData<string> Rules => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(Rules))]
    public void Each_rule_gets_its_error_code(string rule)
    {
        Case c = Cases[rule];
        Assert.Equal(c.Expected, Answer(c, byteByByte: false));
        Assert.Equal(c.Expected, Answer(c, byteByByte: true));
    }

    [Fact]
    public void A_connection_error_closes_every_stream_once_and_reports_the_error_first()
    {
        Endpoint server = Handshake.Server();
        server.Feed(Concat(Post1, HeadersFrame(3, EndHeaders, Request("POST"))));
        List<Recorded> events = server.Feed(DataFrame(0, 0, "x"));
        Assert.Equal(["ConnectionError", "StreamClosed 1 ProtocolError", "StreamClosed 3 ProtocolError"],
            events.Select(e => e.Kind == Http2EventKind.StreamClosed ? $"{e.Kind} {e.StreamId} {e.Outcome}" : e.Kind.ToString()));
        Assert.Equal(Http2ConnectionState.Closed, server.Connection.State);
        SentFrame goAway = Assert.Single(server.TakeFrames());
        Assert.Equal(3, goAway.LastStreamId);
        Assert.Empty(server.Feed(PingFrame(0, 1))); // input after the error is discarded
        Assert.Empty(server.TakeOutput());
    }

    [Fact]
    public void A_stream_error_on_an_announced_stream_ends_it_once_and_leaves_the_connection_open()
    {
        Endpoint server = Handshake.Server();
        server.Feed(Post1);
        List<Recorded> events = server.Feed(WindowUpdateFrame(1, 0));
        Recorded closed = Assert.Single(events);
        Assert.Equal((Http2EventKind.StreamClosed, HttpOutcome.ProtocolError, Http2ErrorCode.ProtocolError), (closed.Kind, closed.Outcome, closed.ErrorCode));
        server.TakeOutput();
        Assert.Equal(Http2EventKind.Ping, Assert.Single(server.Feed(PingFrame(0, 7))).Kind);
        Assert.Equal(Raw.Ping, Assert.Single(server.TakeFrames()).Type);
    }

    [Fact]
    public void An_invalid_preface_is_a_protocol_error()
    {
        var server = new Endpoint(isServer: true);
        server.TakeOutput();
        List<Recorded> events = server.Feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n"u8.ToArray());
        Assert.Equal(Http2EventKind.ConnectionError, Assert.Single(events).Kind);
        Assert.Equal("GOAWAY PROTOCOL_ERROR", Assert.Single(server.TakeFrames()).Describe());
    }

    [Fact]
    public void A_first_frame_other_than_settings_is_a_protocol_error()
    {
        var server = new Endpoint(isServer: true);
        server.TakeOutput();
        server.Feed(Concat(ClientPreface, PingFrame(0, 1)));
        Assert.Equal("GOAWAY PROTOCOL_ERROR", Assert.Single(server.TakeFrames()).Describe());
    }

    [Fact]
    public void A_request_header_section_over_the_limit_gets_431_and_the_stream_closes()
    {
        Endpoint server = Handshake.Server(new Http2Options { MaxHeaderListSize = 1000 });
        List<Recorded> events = server.Feed(Concat(HeadersFrame(1, EndHeaders | EndStream, Request(extra: ("x-big", new string('a', 2000)))), HeadersFrame(3, EndHeaders | EndStream, Request())));
        Assert.Equal([(Http2EventKind.Headers, 3)], events.Select(e => (e.Kind, e.StreamId)));
        List<SentFrame> frames = server.TakeFrames();
        SentFrame response = Assert.Single(frames);
        Assert.Equal((Raw.Headers, 1, EndStream | EndHeaders), (response.Type, response.StreamId, response.Flags));
        var fields = new Meerkat.Http2.Hpack.HpackFieldList(1000);
        Assert.Equal(Meerkat.Http2.Hpack.HpackError.None, new Meerkat.Http2.Hpack.HpackDecoder().Decode(response.Payload, fields));
        Assert.Equal(":status: 431", HpackTests.Fields(fields).Single());
    }

    /// <summary>The GOAWAY the server sent, or its RST_STREAM frames, or "none".</summary>
    private static string Answer(Case c, bool byteByByte)
    {
        Endpoint server = Handshake.Server(c.Options);
        if (byteByByte)
        {
            foreach (byte b in c.Input) server.Feed([b]);
        }
        else
        {
            server.Feed(c.Input);
        }

        List<SentFrame> frames = server.TakeFrames();
        SentFrame? goAway = frames.FirstOrDefault(f => f.Type == Raw.GoAway);
        if (goAway is not null)
        {
            Assert.Equal(Http2ConnectionState.Closed, server.Connection.State);
            Assert.Contains(server.Events, e => e.Kind == Http2EventKind.ConnectionError && e.ErrorCode == (Http2ErrorCode)goAway.Code);
            return goAway.Describe();
        }

        Assert.NotEqual(Http2ConnectionState.Closed, server.Connection.State);
        string resets = string.Join("; ", frames.Where(f => f.Type == Raw.RstStream).Select(f => f.Describe()));
        return resets.Length > 0 ? resets : "none";
    }
}
