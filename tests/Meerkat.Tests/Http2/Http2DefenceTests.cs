using Meerkat.Http;
using Meerkat.Http2;
using static Meerkat.Tests.Http2.Raw;

namespace Meerkat.Tests.Http2;

/// <summary>
/// The defences against known attacks on HTTP/2 servers: each attack is run against the core and
/// must end in GOAWAY with ENHANCE_YOUR_CALM (or the named code) within its limit, while the same
/// traffic at a legitimate pace is served. Time is the core's argument, so "per second" is exact.
/// </summary>
public class Http2DefenceTests
{
    private static readonly Http2Options Limits = new()
    {
        StreamResets = new Http2RateLimit(20, 10),
        Pings = new Http2RateLimit(5, 2),
        Settings = new Http2RateLimit(5, 2),
        UnproductiveFrames = new Http2RateLimit(10, 5),
    };

    [Fact]
    public void Rapid_reset_cve_2023_44487_is_stopped_at_the_budget()
    {
        Endpoint server = Handshake.Server(Limits);
        int streams = 0;
        for (int id = 1; server.Connection.State != Http2ConnectionState.Closed && id < 1000; id += 2)
        {
            server.Feed(Concat(HeadersFrame(id, EndHeaders, Request()), RstStreamFrame(id, 8)));
            streams++;
        }

        Assert.Equal(21, streams); // a burst of 20 resets, the 21st is one too many
        Assert.Equal("GOAWAY ENHANCE_YOUR_CALM", server.TakeFrames().Single(f => f.Type == GoAway).Describe());
        // Every stream the application saw still ended exactly once.
        Assert.Equal(server.Events.Count(e => e.Kind == Http2EventKind.Headers), server.Events.Count(e => e.Kind == Http2EventKind.StreamClosed));
    }

    [Fact]
    public void Resets_at_a_legitimate_rate_are_served()
    {
        Endpoint server = Handshake.Server(Limits);
        for (int id = 1; id < 400; id += 2)
        {
            server.Feed(Concat(HeadersFrame(id, EndHeaders, Request()), RstStreamFrame(id, 8)));
            server.Now += System.Diagnostics.Stopwatch.Frequency / 5; // 5 a second, under the 10 allowed
        }

        Assert.Equal(Http2ConnectionState.Open, server.Connection.State);
        Assert.Equal(200, server.Events.Count(e => e.Kind == Http2EventKind.StreamClosed && e.Outcome == HttpOutcome.Reset));
    }

    [Fact]
    public void Streams_refused_over_the_concurrency_limit_count_as_resets()
    {
        var options = new Http2Options { MaxConcurrentStreams = 1, StreamResets = new Http2RateLimit(20, 10) };
        Endpoint server = Handshake.Server(options);
        server.Feed(HeadersFrame(1, EndHeaders, Request("POST")));
        for (int id = 3; id < 100; id += 2) server.Feed(HeadersFrame(id, EndHeaders | EndStream, Request()));
        List<SentFrame> frames = server.TakeFrames();
        Assert.Equal(21, frames.Count(f => f.Describe().EndsWith("REFUSED_STREAM", StringComparison.Ordinal))); // the 21st is refused, then the budget of 20 is over
        Assert.Equal("GOAWAY ENHANCE_YOUR_CALM", frames[^1].Describe());
    }

    [Fact]
    public void Malformed_requests_in_a_stream_count_as_resets()
    {
        Endpoint server = Handshake.Server(Limits);
        for (int id = 1; id < 100 && server.Connection.State != Http2ConnectionState.Closed; id += 2)
            server.Feed(HeadersFrame(id, EndHeaders, Block((":method", "GET"))));
        Assert.Equal("GOAWAY ENHANCE_YOUR_CALM", server.TakeFrames()[^1].Describe());
    }

    [Fact]
    public void Continuation_flood_of_many_frames_is_stopped()
    {
        Endpoint server = Handshake.Server(new Http2Options { MaxContinuationFrames = 32 });
        server.Feed(HeadersFrame(1, 0, Request()));
        for (int i = 0; i < 32; i++) server.Feed(Frame(Continuation, 0, 1, Block(("x-" + i, "v"))));
        Assert.Empty(server.TakeOutput());
        server.Feed(Frame(Continuation, 0, 1, Block(("x-last", "v"))));
        Assert.Equal("GOAWAY ENHANCE_YOUR_CALM", server.TakeFrames().Single().Describe());
    }

    [Fact]
    public void Continuation_flood_of_many_bytes_is_stopped_before_the_limit_is_buffered()
    {
        Endpoint server = Handshake.Server(new Http2Options { MaxFieldBlockSize = 40_000, MaxContinuationFrames = 1000 });
        server.Feed(HeadersFrame(1, 0, Request()));
        server.Feed(Frame(Continuation, 0, 1, new byte[16_000]));
        server.Feed(Frame(Continuation, 0, 1, new byte[16_000]));
        Assert.Empty(server.TakeOutput());
        server.Feed(Frame(Continuation, 0, 1, new byte[16_000]));
        Assert.Equal("GOAWAY ENHANCE_YOUR_CALM", server.TakeFrames().Single().Describe());
    }

    [Fact]
    public void Empty_continuation_frames_are_a_flood_too()
    {
        Endpoint server = Handshake.Server(new Http2Options { MaxContinuationFrames = 1000, UnproductiveFrames = new Http2RateLimit(10, 5) });
        server.Feed(HeadersFrame(1, 0, Request()));
        for (int i = 0; i < 20 && server.Connection.State != Http2ConnectionState.Closed; i++) server.Feed(Frame(Continuation, 0, 1));
        Assert.Equal("GOAWAY ENHANCE_YOUR_CALM", server.TakeFrames().Single().Describe());
    }

    [Theory]
    [InlineData("PING")]
    [InlineData("SETTINGS")]
    [InlineData("empty DATA")]
    [InlineData("PRIORITY")]
    public void Floods_of_frames_that_cost_work_are_stopped_and_the_same_frames_at_a_slow_pace_are_not(string kind)
    {
        byte[] Next(int i) => kind switch
        {
            "PING" => PingFrame(0, (ulong)i),
            "SETTINGS" => SettingsFrame((4, 65_535)),
            "empty DATA" => DataFrame(1, 0, ""),
            _ => PriorityFrame(1, 0, 16),
        };

        Endpoint slow = Handshake.Server(Limits);
        slow.Feed(HeadersFrame(1, EndHeaders, Request("POST")));
        for (int i = 0; i < 50; i++)
        {
            slow.Feed(Next(i));
            slow.Now += System.Diagnostics.Stopwatch.Frequency; // one a second
        }

        Assert.Equal(Http2ConnectionState.Open, slow.Connection.State);

        Endpoint fast = Handshake.Server(Limits);
        fast.Feed(HeadersFrame(1, EndHeaders, Request("POST")));
        for (int i = 0; i < 50 && fast.Connection.State != Http2ConnectionState.Closed; i++) fast.Feed(Next(i));
        Assert.Equal("GOAWAY ENHANCE_YOUR_CALM", fast.TakeFrames()[^1].Describe());
    }

    [Fact]
    public void Hpack_bomb_is_answered_431_and_stores_no_more_than_the_limit()
    {
        // One 4,000-octet field added to the table, then referenced 3,000 times: 12 MB unpacked from 7 KB.
        byte[] block = Concat([0x40, 0x01, (byte)'x', 0x7f, 0xa1, 0x1e], Enumerable.Repeat((byte)'v', 4000).ToArray(), Enumerable.Repeat((byte)0xbe, 3000).ToArray());
        Endpoint server = Handshake.Server(new Http2Options { MaxHeaderListSize = 16_384 });
        server.Feed(HeadersFrame(1, EndHeaders | EndStream, Concat(Request(), block)));
        Assert.True(server.Connection.FieldList.ByteLength <= 16_384);
        SentFrame answer = server.TakeFrames().Single();
        Assert.Equal((Raw.Headers, 1), (answer.Type, answer.StreamId));
        // The table stayed in step: the next request may use the entry.
        List<Recorded> events = server.Feed(HeadersFrame(3, EndHeaders | EndStream, Concat(Request(), [0xbe])));
        Assert.Equal("GET https://example.com/ [x: " + new string('v', 4000) + "]", events.Single().Head);
    }

    [Fact]
    public void A_peer_that_never_opens_its_window_has_its_stream_reset_at_the_stall_deadline()
    {
        Endpoint server = Handshake.Server(new Http2Options { SendStallTimeout = TimeSpan.FromSeconds(30) }, (4, 0));
        server.Feed(HeadersFrame(1, EndHeaders | EndStream, Request()));
        server.Connection.SendHeaders(1, new Http2HeaderList().AddStatus(200), endStream: false);
        Assert.True(server.Connection.TrySendData(1, new byte[1000], endStream: true, server.Now, out int written));
        Assert.Equal(0, written);
        long blockedAt = server.Now;
        Assert.Equal(blockedAt + 30 * System.Diagnostics.Stopwatch.Frequency, server.Connection.NextDeadline);
        server.TakeOutput();
        server.Advance(TimeSpan.FromSeconds(29));
        Assert.Empty(server.Drain());
        server.Advance(TimeSpan.FromSeconds(1));
        Recorded closed = server.Drain().Single();
        Assert.Equal((Http2EventKind.StreamClosed, HttpOutcome.Deadline, Http2ErrorCode.Cancel), (closed.Kind, closed.Outcome, closed.ErrorCode));
        Assert.Equal("RST_STREAM(1) CANCEL", server.TakeFrames().Single().Describe());
        Assert.Equal(long.MaxValue, server.Connection.NextDeadline);
    }

    [Fact]
    public void A_window_update_before_the_deadline_clears_the_stall_and_wakes_the_stream()
    {
        Endpoint server = Handshake.Server(new Http2Options { SendStallTimeout = TimeSpan.FromSeconds(30) }, (4, 0));
        server.Feed(HeadersFrame(1, EndHeaders | EndStream, Request()));
        server.Connection.SendHeaders(1, new Http2HeaderList().AddStatus(200), endStream: false);
        server.Connection.TrySendData(1, new byte[1000], endStream: true, server.Now, out _);
        server.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(0, server.Connection.GetSendWindow(1));
        List<Recorded> events = server.Feed(WindowUpdateFrame(1, 600));
        Assert.Equal(600, server.Connection.GetSendWindow(1));
        Assert.Equal((Http2EventKind.StreamWritable, 1), (events.Single().Kind, events.Single().StreamId));
        Assert.True(server.Connection.TrySendData(1, new byte[1000], endStream: true, server.Now, out int written));
        Assert.Equal(600, written);
        server.Advance(TimeSpan.FromSeconds(20));
        Assert.Empty(server.Drain()); // blocked again 20 s ago, not 40
    }

    [Fact]
    public void Settings_never_acknowledged_time_out()
    {
        var server = new Endpoint(isServer: true, new Http2Options { SettingsTimeout = TimeSpan.FromSeconds(10) });
        server.Feed(Concat(ClientPreface, SettingsFrame()));
        server.TakeOutput();
        server.Advance(TimeSpan.FromSeconds(9));
        Assert.Empty(server.TakeOutput());
        server.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("GOAWAY SETTINGS_TIMEOUT", server.TakeFrames().Single().Describe());
        Assert.Equal(Http2EventKind.ConnectionError, server.Drain().Single().Kind);
    }
}
