using Meerkat.Http;
using Meerkat.Http2;
using static Meerkat.Tests.Http2.Raw;

namespace Meerkat.Tests.Http2;

/// <summary>The server side of the core against a client played byte by byte: responses,
/// informational responses, trailers, early responses, graceful shutdown, and sender mistakes.</summary>
public class Http2ServerTests
{
    private static Http2HeaderList Status(int status) => new Http2HeaderList().AddStatus(status);

    [Fact]
    public void A_server_sends_settings_first_and_waits_for_the_preface()
    {
        var server = new Endpoint(isServer: true);
        List<SentFrame> frames = server.TakeFrames();
        Assert.Equal([Settings, WindowUpdate], frames.Select(f => f.Type));
        Assert.Contains("000300000064", Convert.ToHexString(frames[0].Payload)); // SETTINGS_MAX_CONCURRENT_STREAMS = 100
        Assert.Equal(Http2ConnectionState.AwaitingPreface, server.Connection.State);
        Assert.Empty(server.Feed(ClientPreface[..10]));
        Assert.Equal(Http2ConnectionState.AwaitingPreface, server.Connection.State);
        server.Feed(Concat(ClientPreface[10..], SettingsFrame()));
        Assert.Equal(Http2ConnectionState.Open, server.Connection.State);
        Assert.Equal([Settings], server.TakeFrames().Select(f => f.Type)); // the acknowledgement
    }

    [Fact]
    public void A_request_is_answered_with_informational_final_data_and_trailers_and_closes_once()
    {
        Endpoint server = Handshake.Server();
        List<Recorded> events = server.Feed(Concat(HeadersFrame(1, EndHeaders, Request("POST", "/upload", ("expect", "100-continue"))), DataFrame(1, EndStream, "body")));
        Assert.Equal(["Headers 1 POST https://example.com/upload [expect: 100-continue]", "Data 1 body end"], events.Select(e => e.Kind == Http2EventKind.Data ? $"Data 1 {e.Text} end" : $"{e.Kind} {e.StreamId} {e.Head}"));
        Assert.True(server.Connection.SendHeaders(1, Status(100), endStream: false));
        Assert.True(server.Connection.SendHeaders(1, Status(200).Add("Content-Type", "text/plain"), endStream: false));
        Assert.True(server.Connection.TrySendData(1, "ok"u8, endStream: false, server.Now, out int written));
        Assert.Equal(2, written);
        Assert.True(server.Connection.SendHeaders(1, new Http2HeaderList().Add("x-checksum", "42"), endStream: true));
        Assert.Equal(["StreamClosed 1 Completed"], server.Drain().Select(e => $"{e.Kind} {e.StreamId} {e.Outcome}"));
        List<SentFrame> frames = server.TakeFrames();
        Assert.Equal([(Raw.Headers, EndHeaders), (Raw.Headers, EndHeaders), (Raw.Data, 0), (Raw.Headers, EndHeaders | EndStream)], frames.Select(f => (f.Type, (int)f.Flags)));
        var decoder = new Meerkat.Http2.Hpack.HpackDecoder();
        var fields = new Meerkat.Http2.Hpack.HpackFieldList(4096);
        decoder.Decode(frames[1].Payload, fields);
        Assert.Equal([":status: 200", "content-type: text/plain"], HpackTests.Fields(fields)); // lowercased for HTTP/2
    }

    [Fact]
    public void A_response_that_completes_before_the_request_stops_the_upload_with_no_error()
    {
        Endpoint server = Handshake.Server();
        server.Feed(Concat(HeadersFrame(1, EndHeaders, Request("POST")), DataFrame(1, 0, "part")));
        Assert.True(server.Connection.SendHeaders(1, Status(413), endStream: true));
        Assert.Equal(["StreamClosed Completed"], server.Drain().Select(e => $"{e.Kind} {e.Outcome}"));
        Assert.Equal("RST_STREAM(1) NO_ERROR", server.TakeFrames()[^1].Describe());
        Assert.Empty(server.Feed(DataFrame(1, EndStream, "rest"))); // in flight when we reset: ignored
        Assert.DoesNotContain(server.TakeFrames(), f => f.Type is Raw.RstStream or Raw.GoAway);
    }

    [Fact]
    public void A_stream_the_peer_reset_refuses_further_sends_quietly()
    {
        Endpoint server = Handshake.Server();
        server.Feed(HeadersFrame(1, EndHeaders | EndStream, Request()));
        List<Recorded> events = server.Feed(RstStreamFrame(1, 8));
        Assert.Equal((Http2EventKind.StreamClosed, HttpOutcome.Reset, Http2ErrorCode.Cancel), (events[0].Kind, events[0].Outcome, events[0].ErrorCode));
        Assert.False(server.Connection.SendHeaders(1, Status(200), endStream: false));
        Assert.False(server.Connection.TrySendData(1, "x"u8, endStream: true, server.Now, out _));
        Assert.False(server.Connection.ResetStream(1, Http2ErrorCode.Cancel));
        Assert.Empty(server.TakeOutput());
    }

    [Fact]
    public void An_application_reset_ends_the_stream_with_its_outcome()
    {
        Endpoint server = Handshake.Server();
        server.Feed(HeadersFrame(1, EndHeaders | EndStream, Request()));
        Assert.True(server.Connection.ResetStream(1, Http2ErrorCode.InternalError, HttpOutcome.HandlerError));
        Assert.Equal((HttpOutcome.HandlerError, Http2ErrorCode.InternalError), server.Drain().Select(e => (e.Outcome, e.ErrorCode)).Single());
        Assert.Equal("RST_STREAM(1) INTERNAL_ERROR", server.TakeFrames().Single().Describe());
    }

    [Fact]
    public void Sender_mistakes_throw_before_anything_is_sent()
    {
        Endpoint server = Handshake.Server();
        server.Feed(HeadersFrame(1, EndHeaders | EndStream, Request()));
        Assert.Throws<ArgumentException>(() => new Http2HeaderList().Add("Connection", "close"));
        Assert.Throws<ArgumentException>(() => new Http2HeaderList().Add("Transfer-Encoding", "chunked"));
        Assert.Throws<ArgumentException>(() => new Http2HeaderList().Add("te", "gzip"));
        Assert.Throws<ArgumentException>(() => new Http2HeaderList().Add("a", "b").AddStatus(200));
        Assert.Throws<ArgumentException>(() => new Http2HeaderList().Add(":foo", "b"));
        Assert.Throws<ArgumentException>(() => new Http2HeaderList().Add("a b", "c"));
        Assert.Throws<ArgumentException>(() => new Http2HeaderList().Add("a", "b\r\nc"));
        Assert.Throws<ArgumentException>(() => new Http2HeaderList().Add("a", "\u20ac"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Http2HeaderList().AddStatus(101));
        Assert.Throws<InvalidOperationException>(() => server.Connection.TrySendData(1, "x"u8, false, server.Now, out _)); // before headers
        Assert.Throws<ArgumentException>(() => server.Connection.SendHeaders(1, Status(103), endStream: true));
        Assert.Throws<ArgumentException>(() => server.Connection.SendHeaders(1, new Http2HeaderList().Add(":method", "GET"), endStream: false));
        Assert.Throws<InvalidOperationException>(() => server.Connection.OpenStream(new Http2HeaderList(), true));
        Assert.Empty(server.TakeOutput());
        Assert.True(server.Connection.SendHeaders(1, Status(200), endStream: false));
        Assert.Throws<InvalidOperationException>(() => server.Connection.SendHeaders(1, new Http2HeaderList().Add("x", "y"), endStream: false));
        Assert.Throws<ArgumentException>(() => server.Connection.SendHeaders(1, Status(200), endStream: true)); // trailers carry no :status
    }

    [Fact]
    public void Graceful_shutdown_sends_two_goaways_accepts_streams_in_flight_and_closes_after_the_last()
    {
        Endpoint server = Handshake.Server();
        server.Feed(HeadersFrame(1, EndHeaders | EndStream, Request()));
        server.Connection.BeginShutdown(server.Now);
        List<SentFrame> first = server.TakeFrames();
        Assert.Equal(["GOAWAY NO_ERROR", "frame 6 flags 0 stream 0"], first.Select(f => f.Describe()));
        Assert.Equal(int.MaxValue, first[0].LastStreamId);
        Assert.Equal(Http2ConnectionState.ShuttingDown, server.Connection.State);
        // A request already on its way when the first GOAWAY left is still served.
        Assert.Equal(Http2EventKind.Headers, server.Feed(HeadersFrame(3, EndHeaders | EndStream, Request())).Single().Kind);
        server.Feed(Frame(Raw.Ping, Ack, 0, first[1].Payload));
        SentFrame final = server.TakeFrames().Single();
        Assert.Equal(("GOAWAY NO_ERROR", 3), (final.Describe(), final.LastStreamId));
        Assert.Equal(Http2ConnectionState.Draining, server.Connection.State);
        Assert.Empty(server.Feed(HeadersFrame(5, EndHeaders | EndStream, Request()))); // after the final GOAWAY: ignored
        server.Connection.SendHeaders(1, Status(204), endStream: true);
        Assert.Equal(Http2ConnectionState.Draining, server.Connection.State);
        server.Connection.SendHeaders(3, Status(204), endStream: true);
        Assert.Equal(Http2ConnectionState.Closed, server.Connection.State);
        Assert.Equal([1, 3], server.Drain().Where(e => e.Kind == Http2EventKind.StreamClosed).Select(e => e.StreamId));
    }

    [Fact]
    public void Graceful_shutdown_sends_the_final_goaway_after_the_ping_timeout_without_an_answer()
    {
        Endpoint server = Handshake.Server(new Http2Options { ShutdownPingTimeout = TimeSpan.FromSeconds(2) });
        server.Connection.BeginShutdown(server.Now);
        server.TakeOutput();
        server.Advance(TimeSpan.FromSeconds(1));
        Assert.Empty(server.TakeOutput());
        server.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("GOAWAY NO_ERROR", server.TakeFrames().Single().Describe());
        Assert.Equal(Http2ConnectionState.Closed, server.Connection.State); // no streams left
    }

    [Fact]
    public void The_end_of_the_transport_ends_every_stream_with_peer_closed()
    {
        Endpoint server = Handshake.Server();
        server.Feed(Concat(HeadersFrame(1, EndHeaders | EndStream, Request()), HeadersFrame(3, EndHeaders, Request("POST"))));
        server.Connection.ReceiveEndOfStream();
        Assert.Equal([(1, HttpOutcome.PeerClosed), (3, HttpOutcome.PeerClosed)], server.Drain().Select(e => (e.StreamId, e.Outcome)));
        Assert.Equal(Http2ConnectionState.Closed, server.Connection.State);
    }

    [Fact]
    public void Settings_from_the_peer_shape_what_we_send()
    {
        // The peer's SETTINGS_MAX_FRAME_SIZE splits our DATA and field blocks; a header table size of 0 keeps our encoder's table empty.
        Endpoint server = Handshake.Server(null, (1, 0), (5, 16_384), (4, 100_000));
        server.Feed(HeadersFrame(1, EndHeaders | EndStream, Request()));
        Http2HeaderList big = Status(200).Add("x-big", new string('v', 20_000));
        server.Connection.SendHeaders(1, big, endStream: false);
        Assert.True(server.Connection.TrySendData(1, new byte[40_000], endStream: true, server.Now, out int written));
        Assert.Equal(40_000, written);
        List<SentFrame> frames = server.TakeFrames();
        Assert.Equal([(Raw.Headers, 0), (Continuation, EndHeaders), (Raw.Data, 0), (Raw.Data, 0), (Raw.Data, EndStream)], frames.Select(f => (f.Type, (int)f.Flags)));
        Assert.All(frames, f => Assert.True(f.Payload.Length <= 16_384));
        Assert.Equal(0x20, frames[0].Payload[0]); // dynamic table size update to 0 first
        Assert.Equal(0, server.Connection.Encoder.Table.Count);
    }

    [Fact]
    public void Credit_owed_when_a_lowered_window_is_acknowledged_is_sent_at_once()
    {
        // Regression: credit waited for more DATA that a peer with a negative window could not send.
        var server = new Endpoint(isServer: true, new Http2Options { InitialWindowSize = 1000 });
        server.Feed(Concat(ClientPreface, SettingsFrame(), HeadersFrame(1, EndHeaders, Request("POST")), DataFrame(1, 0, new byte[10_000]), DataFrame(1, 0, new byte[10_000])));
        server.TakeOutput();
        server.Feed(SettingsAck); // the client now counts with 1,000: its window is 1,000 - 20,000 + what we owe
        SentFrame update = server.TakeFrames().Single(f => f.Type == WindowUpdate && f.StreamId == 1);
        Assert.Equal(20_000, update.Increment);
    }
}
