using System.Buffers;
using System.Text;
using Meerkat.WebSockets;
using Xunit;

namespace Meerkat.Tests.WebSockets;

public class WebSocketProtocolTests
{
    private static readonly WebSocketOptions Big = new() { MaxMessageSize = 32 << 20 };

    public static TheoryData<int, int> Deflates => new()
    {
        { 0, 0 },       // no permessage-deflate
        { 1, 0 },       // with context takeover
        { 1, 1 },       // without context takeover
    };

    private static PerMessageDeflateParameters? Deflate(int isOn, int isReset) =>
        isOn == 0 ? null : new PerMessageDeflateParameters(isReset == 1, isReset == 1);

    private static byte[] Pattern(int length) => Enumerable.Range(0, length).Select(i => (byte)((i * 31) ^ (i >> 8))).ToArray();

    [Theory]
    [MemberData(nameof(Deflates))]
    public void Messages_of_every_length_class_round_trip_both_ways(int isOn, int isReset)
    {
        using var pair = new WebSocketTestPair(Big, Deflate(isOn, isReset));
        foreach (int length in new[] { 0, 1, 125, 126, 65535, 65536, 16 << 20 })
        {
            byte[] payload = Pattern(length);
            pair.Client.SendMessage(WebSocketMessageKind.Binary, payload, pair.ClientOutput);
            RecordedEvent atServer = Assert.Single(pair.DeliverToServer());
            Assert.Equal(WebSocketEventKind.Message, atServer.Kind);
            Assert.Equal(payload, atServer.Payload);
            pair.Server.SendMessage(WebSocketMessageKind.Binary, payload, pair.ServerOutput);
            Assert.Equal(payload, Assert.Single(pair.DeliverToClient()).Payload);
        }
    }

    [Theory]
    [MemberData(nameof(Deflates))]
    public void Hundred_messages_back_to_back_arrive_in_order_whole_and_byte_by_byte(int isOn, int isReset)
    {
        foreach (int chunk in new[] { int.MaxValue, 1, 7 })
        {
            using var pair = new WebSocketTestPair(null, Deflate(isOn, isReset));
            for (int i = 0; i < 100; i++)
            {
                pair.Client.SendText($"message {i} é€𝄞", pair.ClientOutput);
            }

            List<RecordedEvent> events = pair.DeliverToServer(chunk);
            Assert.Equal(Enumerable.Range(0, 100).Select(i => $"message {i} é€𝄞"), events.Select(e => e.Text));
            Assert.All(events, e => Assert.Equal(WebSocketMessageKind.Text, e.MessageKind));
        }
    }

    [Theory]
    [MemberData(nameof(Deflates))]
    public void Multibyte_text_fragmented_at_every_byte_with_pings_between(int isOn, int isReset)
    {
        byte[] text = Encoding.UTF8.GetBytes("𝄞 ελληνικά ✓ 日本");
        using var pair = new WebSocketTestPair(null, Deflate(isOn, isReset));
        for (int split = 0; split <= text.Length; split++)
        {
            pair.Client.SendFragment(WebSocketMessageKind.Text, text.AsSpan(0, split), isEndOfMessage: false, pair.ClientOutput);
            pair.Client.SendPing("between"u8, pair.ClientOutput);
            pair.Client.SendFragment(WebSocketMessageKind.Text, text.AsSpan(split), isEndOfMessage: true, pair.ClientOutput);
            List<RecordedEvent> events = pair.DeliverToServer(split + 1);
            Assert.Equal([WebSocketEventKind.Ping, WebSocketEventKind.Message], events.Select(e => e.Kind));
            Assert.Equal(text, events[1].Payload);
            RecordedEvent pong = Assert.Single(pair.DeliverToClient());
            Assert.Equal(WebSocketEventKind.Pong, pong.Kind);
            Assert.Equal("between", pong.Text);
        }
    }

    [Fact]
    public void Streaming_mode_reports_pieces_then_end()
    {
        using var pair = new WebSocketTestPair(new WebSocketOptions { IsWholeMessageMode = false });
        pair.Server.SendFragment(WebSocketMessageKind.Binary, [1, 2], isEndOfMessage: false, pair.ServerOutput);
        pair.Server.SendFragment(WebSocketMessageKind.Binary, [3], isEndOfMessage: true, pair.ServerOutput);
        string trace = string.Join(",", pair.DeliverToClient().Select(e => $"{e.Kind}:{Convert.ToHexString(e.Payload)}"));
        Assert.Equal("MessageData:0102,MessageData:03,MessageEnd:", trace);
    }

    [Fact]
    public void Streaming_mode_still_enforces_the_limit()
    {
        using var pair = new WebSocketTestPair(new WebSocketOptions { IsWholeMessageMode = false, MaxMessageSize = 100 });
        pair.Client.SendFragment(WebSocketMessageKind.Binary, new byte[60], isEndOfMessage: false, pair.ClientOutput);
        pair.Client.SendFragment(WebSocketMessageKind.Binary, new byte[60], isEndOfMessage: true, pair.ClientOutput);
        Assert.Equal(WebSocketCloseCode.MessageTooBig, pair.DeliverToServer()[^1].CloseCode);
    }

    [Fact]
    public void Client_initiated_close_handshake()
    {
        using var pair = new WebSocketTestPair();
        Assert.True(pair.Client.SendClose(WebSocketCloseCode.GoingAway, "tab closed", pair.ClientOutput));
        Assert.False(pair.Client.SendClose(WebSocketCloseCode.NormalClosure, default, pair.ClientOutput));
        Assert.Equal(WebSocketProtocolState.CloseSent, pair.Client.State);
        Assert.Throws<InvalidOperationException>(() => pair.Client.SendText("late", pair.ClientOutput));

        RecordedEvent atServer = Assert.Single(pair.DeliverToServer());
        Assert.Equal((WebSocketCloseCode.GoingAway, "tab closed"), (atServer.CloseCode, atServer.Text));
        Assert.Equal(WebSocketProtocolState.Closed, pair.Server.State);
        Assert.True(pair.Server.ShouldCloseTransport);

        RecordedEvent echo = Assert.Single(pair.DeliverToClient());
        Assert.Equal((WebSocketCloseCode.GoingAway, "tab closed"), (echo.CloseCode, echo.Text));
        Assert.Equal(WebSocketProtocolState.Closed, pair.Client.State);
        Assert.False(pair.Client.ShouldCloseTransport); // the server closes TCP first (RFC 6455 §7.1.1)
    }

    [Fact]
    public void Server_initiated_close_still_delivers_messages_in_flight()
    {
        using var pair = new WebSocketTestPair();
        pair.Client.SendText("in flight", pair.ClientOutput);
        pair.Server.SendClose(WebSocketCloseCode.NormalClosure, default, pair.ServerOutput);
        Assert.Equal("in flight", Assert.Single(pair.DeliverToServer()).Text);
        Assert.Equal(WebSocketEventKind.Close, Assert.Single(pair.DeliverToClient()).Kind);
        Assert.Equal(WebSocketEventKind.Close, Assert.Single(pair.DeliverToServer()).Kind);
        Assert.True(pair.Server.ShouldCloseTransport);
        Assert.Empty(pair.ServerOutput.WrittenSpan.ToArray());
    }

    [Fact]
    public void Empty_close_is_echoed_empty()
    {
        using var pair = new WebSocketTestPair();
        pair.Client.SendClose(WebSocketCloseCode.NoStatusReceived, default, pair.ClientOutput);
        Assert.Equal(WebSocketCloseCode.NoStatusReceived, Assert.Single(pair.DeliverToServer()).CloseCode);
        Assert.Equal("8800", Convert.ToHexString(pair.ServerOutput.WrittenSpan));
    }

    [Fact]
    public void Violation_sends_its_close_code_and_both_sides_may_close()
    {
        using var pair = new WebSocketTestPair();
        pair.ClientOutput.Write<byte>(Frames.Unmasked(WebSocketOpcode.Text, "unmasked"u8));
        RecordedEvent violation = Assert.Single(pair.DeliverToServer());
        Assert.Equal(WebSocketEventKind.ProtocolViolation, violation.Kind);
        Assert.True(pair.Server.ShouldCloseTransport);
        RecordedEvent close = Assert.Single(pair.DeliverToClient());
        Assert.Equal(WebSocketCloseCode.ProtocolError, close.CloseCode);
        Assert.Contains("not masked", close.Text, StringComparison.Ordinal);
        Assert.Equal(WebSocketProtocolState.Closed, pair.Client.State);
    }

    [Fact]
    public void Pings_are_not_answered_after_close_was_sent()
    {
        using var pair = new WebSocketTestPair();
        pair.Server.SendClose(WebSocketCloseCode.NormalClosure, default, pair.ServerOutput);
        pair.ClientOutput.Write<byte>(Frames.Masked(WebSocketOpcode.Ping, "p"u8));
        Assert.Equal(WebSocketEventKind.Ping, Assert.Single(pair.DeliverToServer()).Kind);
        Assert.Equal(4, pair.ServerOutput.WrittenCount); // only the Close frame (2-byte header + code)
    }
}

public class WebSocketHandshakeToProtocolTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("permessage-deflate")]
    [InlineData("permessage-deflate; server_no_context_takeover")]
    public void Negotiated_parameters_drive_a_working_pair(string? serverWish)
    {
        var client = new WebSocketClientHandshake(null, serverWish is null ? null : new PerMessageDeflateOptions { ServerNoContextTakeover = serverWish.Contains("server_no", StringComparison.Ordinal) });
        var headers = client.RequestHeaders.ToDictionary(p => p.Key, p => p.Value);
        WebSocketServerHandshake server = WebSocketHandshake.AcceptRequest(
            new WebSocketUpgradeRequest
            {
                Method = "GET", HttpVersion = "HTTP/1.1", Upgrade = "websocket", Connection = "Upgrade", SecWebSocketKey = client.Key, SecWebSocketVersion = "13",
                SecWebSocketExtensions = headers.GetValueOrDefault("Sec-WebSocket-Extensions"),
            },
            null,
            new PerMessageDeflateOptions());
        string? extensions = server.ResponseHeaders.Where(p => p.Key == "Sec-WebSocket-Extensions").Select(p => p.Value).FirstOrDefault();
        Assert.Equal(serverWish, extensions);
        WebSocketClientHandshakeResult result = client.ValidateResponse(101, "websocket", "Upgrade", WebSocketHandshake.ComputeAccept(client.Key), null, extensions);
        Assert.True(result.IsSuccess, result.Error);

        using var clientEngine = new WebSocketProtocol(WebSocketRole.Client, null, result.Deflate);
        using var serverEngine = new WebSocketProtocol(WebSocketRole.Server, null, server.Deflate);
        var wire = new ArrayBufferWriter<byte>();
        var replies = new ArrayBufferWriter<byte>();
        for (int i = 0; i < 3; i++)
        {
            clientEngine.SendText("same text, same text, same text", wire);
        }

        ReadOnlySpan<byte> bytes = wire.WrittenSpan;
        for (int i = 0; i < 3; i++)
        {
            WebSocketEvent e = serverEngine.Receive(bytes, out int used, replies);
            bytes = bytes[used..];
            Assert.Equal("same text, same text, same text", System.Text.Encoding.UTF8.GetString(e.Payload));
        }
    }
}
