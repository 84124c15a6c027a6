using System.Text;
using Meerkat.WebSockets;
using Xunit;
using static Meerkat.WebSockets.WebSocketOpcode;

namespace Meerkat.Tests.WebSockets;

public class WebSocketFrameReaderTests
{
    private static List<RecordedEvent> ServerReads(byte[] bytes, WebSocketOptions? options = null, PerMessageDeflateParameters? deflate = null)
    {
        using var reader = new WebSocketFrameReader(WebSocketRole.Server, options, deflate);
        return Feeding.Read(reader, Feeding.Whole(bytes));
    }

    /// <summary>Asserts that every cut of the input ends in the same violation.</summary>
    private static void AssertViolation(byte[] bytes, WebSocketCloseCode code, string reasonPart, WebSocketRole role = WebSocketRole.Server, PerMessageDeflateParameters? deflate = null)
    {
        foreach (IEnumerable<byte[]> cut in Feeding.AllCuts(bytes))
        {
            using var reader = new WebSocketFrameReader(role, null, deflate);
            RecordedEvent last = Feeding.Read(reader, cut)[^1];
            Assert.Equal(WebSocketEventKind.ProtocolViolation, last.Kind);
            Assert.Equal(code, last.CloseCode);
            Assert.Contains(reasonPart, last.Reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Masked_text_frame_is_read_whole_byte_by_byte_and_at_every_split()
    {
        byte[] frame = Frames.Concat(Frames.Masked(Text, "Hello"), Frames.Masked(Ping, "p"));
        foreach (IEnumerable<byte[]> cut in Feeding.AllCuts(frame))
        {
            using var reader = new WebSocketFrameReader(WebSocketRole.Server);
            List<RecordedEvent> events = Feeding.Read(reader, cut);
            Assert.Equal([WebSocketEventKind.MessageData, WebSocketEventKind.MessageEnd, WebSocketEventKind.Ping], events.Select(e => e.Kind));
            Assert.Equal("Hello", events[0].Text);
            Assert.Equal("p", events[2].Text);
        }
    }

    [Fact]
    public void Rfc_6455_example_frames_decode()
    {
        // RFC 6455 §5.7: unmasked "Hello", masked "Hello", fragmented "Hel" + "lo", ping "Hello".
        byte[] unmasked = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        byte[] masked = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
        byte[] fragmented = [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
        using var client = new WebSocketFrameReader(WebSocketRole.Client);
        Assert.Equal("Hello", Feeding.Read(client, [unmasked])[0].Text);
        Assert.Equal("Hello", Feeding.Read(client, [fragmented])[0].Text);
        using var server = new WebSocketFrameReader(WebSocketRole.Server);
        Assert.Equal("Hello", Feeding.Read(server, [masked])[0].Text);
        Assert.Equal(masked, Frames.Masked(Text, "Hello"));
    }

    [Fact]
    public void Trailing_bytes_of_the_next_frame_are_kept_for_later()
    {
        byte[] two = Frames.Concat(Frames.Masked(Binary, [1, 2, 3]), Frames.Masked(Binary, [4]));
        using var reader = new WebSocketFrameReader(WebSocketRole.Server);
        List<RecordedEvent> events = Feeding.Read(reader, [two[..^3], two[^3..]]);
        Assert.Equal(4, events.Count);
        Assert.Equal(new byte[] { 4 }, events[2].Payload);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(125)]
    [InlineData(126)]
    [InlineData(65535)]
    [InlineData(65536)]
    public void Length_encodings_round_trip(int length)
    {
        byte[] payload = Enumerable.Range(0, length).Select(i => (byte)i).ToArray();
        List<RecordedEvent> events = ServerReads(Frames.Masked(Binary, payload));
        Assert.Equal(WebSocketEventKind.MessageEnd, events[^1].Kind);
        Assert.Equal(payload, length == 0 ? [] : events[0].Payload);
    }

    [Fact]
    public void Non_minimal_length_encoding_is_accepted()
    {
        // 3 bytes encoded with a 64-bit length, unmasked, to a client.
        byte[] frame = [0x82, 127, 0, 0, 0, 0, 0, 0, 0, 3, 7, 8, 9];
        using var reader = new WebSocketFrameReader(WebSocketRole.Client);
        Assert.Equal(new byte[] { 7, 8, 9 }, Feeding.Read(reader, [frame])[0].Payload);
    }

    [Fact]
    public void Length_with_most_significant_bit_set_is_1002() =>
        AssertViolation([0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4], WebSocketCloseCode.ProtocolError, "most significant bit");

    [Fact]
    public void Unmasked_client_frame_is_1002() =>
        AssertViolation(Frames.Unmasked(Text, "hi"u8), WebSocketCloseCode.ProtocolError, "not masked");

    [Fact]
    public void Masked_server_frame_is_1002() =>
        AssertViolation(Frames.Masked(Text, "hi"), WebSocketCloseCode.ProtocolError, "server frame masked", WebSocketRole.Client);

    [Theory]
    [InlineData(0x40, "RSV1")]
    [InlineData(0x20, "RSV2/RSV3")]
    [InlineData(0x10, "RSV2/RSV3")]
    public void Reserved_bits_without_extension_are_1002(byte bit, string reason)
    {
        byte[] frame = Frames.Masked(Text, "hi");
        frame[0] |= bit;
        AssertViolation(frame, WebSocketCloseCode.ProtocolError, reason);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(0xB)]
    [InlineData(0xF)]
    public void Reserved_opcodes_are_1002(int opcode) =>
        AssertViolation(Frames.Masked((WebSocketOpcode)opcode, "x"u8), WebSocketCloseCode.ProtocolError, $"reserved opcode 0x{opcode:X}");

    [Fact]
    public void Control_frame_over_125_bytes_is_1002() =>
        AssertViolation(Frames.Masked(Ping, new byte[126]), WebSocketCloseCode.ProtocolError, "over 125");

    [Theory]
    [InlineData(Ping)]
    [InlineData(Pong)]
    [InlineData(Close)]
    public void Fragmented_control_frame_is_1002(WebSocketOpcode opcode) =>
        AssertViolation(Frames.Masked(opcode, [], isFinal: false), WebSocketCloseCode.ProtocolError, "fragmented control frame");

    [Fact]
    public void Continuation_without_a_message_is_1002() =>
        AssertViolation(Frames.Masked(Continuation, "x"), WebSocketCloseCode.ProtocolError, "continuation frame without a message");

    [Theory]
    [InlineData(Text)]
    [InlineData(Binary)]
    public void New_data_frame_inside_a_fragmented_message_is_1002(WebSocketOpcode second) =>
        AssertViolation(Frames.Concat(Frames.Masked(Text, "a", isFinal: false), Frames.Masked(second, "b")), WebSocketCloseCode.ProtocolError, "before the fragmented message ended");

    [Fact]
    public void Close_with_one_byte_payload_is_1002() =>
        AssertViolation(Frames.Masked(Close, [3]), WebSocketCloseCode.ProtocolError, "1-byte payload");

    [Theory]
    [InlineData(0)]
    [InlineData(999)]
    [InlineData(1004)]
    [InlineData(1005)]
    [InlineData(1006)]
    [InlineData(1015)]
    [InlineData(1016)]
    [InlineData(1100)]
    [InlineData(2000)]
    [InlineData(2999)]
    [InlineData(5000)]
    [InlineData(65535)]
    public void Close_code_that_may_not_be_sent_is_1002(int code) =>
        AssertViolation(Frames.Close((ushort)code), WebSocketCloseCode.ProtocolError, $"close code {code}");

    [Theory]
    [InlineData(1000)]
    [InlineData(1001)]
    [InlineData(1002)]
    [InlineData(1003)]
    [InlineData(1007)]
    [InlineData(1008)]
    [InlineData(1009)]
    [InlineData(1010)]
    [InlineData(1011)]
    [InlineData(1012)]
    [InlineData(1013)]
    [InlineData(1014)]
    [InlineData(3000)]
    [InlineData(3999)]
    [InlineData(4000)]
    [InlineData(4999)]
    public void Valid_close_codes_are_reported_with_their_reason(int code)
    {
        RecordedEvent close = ServerReads(Frames.Close((ushort)code, "bye ✓"))[0];
        Assert.Equal(WebSocketEventKind.Close, close.Kind);
        Assert.Equal((WebSocketCloseCode)code, close.CloseCode);
        Assert.Equal("bye ✓", close.Text);
    }

    [Fact]
    public void Empty_close_reports_no_status_received_and_later_bytes_are_discarded()
    {
        using var reader = new WebSocketFrameReader(WebSocketRole.Server);
        List<RecordedEvent> events = Feeding.Read(reader, [Frames.Concat(Frames.Masked(Close, []), Frames.Masked(Text, "late"), [0xFF, 0xFF])]);
        Assert.Single(events);
        Assert.Equal(WebSocketCloseCode.NoStatusReceived, events[0].CloseCode);
        Assert.True(reader.IsCloseReceived);
    }

    [Fact]
    public void Close_reason_with_invalid_utf8_is_1007() =>
        AssertViolation(Frames.Masked(Close, [0x03, 0xE8, 0xCE, 0xBA, 0xE1, 0xBD]), WebSocketCloseCode.InvalidPayloadData, "close reason");

    [Theory]
    [InlineData(new byte[] { 0xFF })]
    [InlineData(new byte[] { 0xC0, 0x80 })] // overlong NUL
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })] // surrogate
    [InlineData(new byte[] { 0xF4, 0x90, 0x80, 0x80 })] // above U+10FFFF
    [InlineData(new byte[] { 0x80 })]
    [InlineData(new byte[] { (byte)'a', 0xCE, (byte)'b' })]
    public void Invalid_utf8_in_text_is_1007(byte[] text) =>
        AssertViolation(Frames.Masked(Text, text), WebSocketCloseCode.InvalidPayloadData, "invalid UTF-8");

    [Fact]
    public void Text_ending_inside_a_code_point_is_1007() =>
        AssertViolation(Frames.Masked(Text, [0x61, 0xE2, 0x82]), WebSocketCloseCode.InvalidPayloadData, "ends inside a UTF-8 sequence");

    [Fact]
    public void Invalid_utf8_fails_fast_before_the_frame_ends()
    {
        // The frame announces 100 bytes but only the first, invalid, ones arrived.
        byte[] frame = Frames.Masked(Text, [0xCE, 0xBA, 0xFF, .. new byte[97]]);
        using var reader = new WebSocketFrameReader(WebSocketRole.Server);
        Assert.Equal(WebSocketCloseCode.InvalidPayloadData, Feeding.Read(reader, [frame[..12]])[^1].CloseCode);
    }

    [Fact]
    public void Binary_is_not_checked_for_utf8() =>
        Assert.Equal(WebSocketEventKind.MessageEnd, ServerReads(Frames.Masked(Binary, [0xFF, 0xFE]))[^1].Kind);

    [Fact]
    public void Multibyte_text_split_across_fragments_at_every_byte_is_valid()
    {
        byte[] text = Encoding.UTF8.GetBytes("κόσμε € 𝄞 ✓");
        for (int split = 0; split <= text.Length; split++)
        {
            byte[] frames = Frames.Concat(
                Frames.Masked(Text, text[..split], isFinal: false),
                Frames.Masked(Ping, []),
                Frames.Masked(Continuation, text[split..]));
            foreach (IEnumerable<byte[]> cut in new[] { Feeding.Whole(frames), Feeding.ByteByByte(frames) })
            {
                using var reader = new WebSocketFrameReader(WebSocketRole.Server);
                List<RecordedEvent> events = Feeding.Read(reader, cut);
                Assert.DoesNotContain(events, e => e.Kind == WebSocketEventKind.ProtocolViolation);
                byte[] received = events.Where(e => e.Kind == WebSocketEventKind.MessageData).SelectMany(e => e.Payload).ToArray();
                Assert.Equal(text, received);
                Assert.Contains(events, e => e.Kind == WebSocketEventKind.Ping);
            }
        }
    }

    [Fact]
    public void Pings_between_fragments_are_reported_in_order()
    {
        byte[] frames = Frames.Concat(
            Frames.Masked(Binary, [1], isFinal: false),
            Frames.Masked(Ping, "a"),
            Frames.Masked(Continuation, [2], isFinal: false),
            Frames.Masked(Pong, "b"),
            Frames.Masked(Ping, "c"),
            Frames.Masked(Continuation, [3]));
        foreach (IEnumerable<byte[]> cut in Feeding.AllCuts(frames))
        {
            using var reader = new WebSocketFrameReader(WebSocketRole.Server);
            string trace = string.Join(",", Feeding.Read(reader, cut).Select(e => $"{e.Kind}:{Convert.ToHexString(e.Payload)}"));
            Assert.Equal("MessageData:01,Ping:61,MessageData:02,Pong:62,Ping:63,MessageData:03,MessageEnd:", trace);
        }
    }

    [Fact]
    public void Message_over_the_limit_is_1009_before_its_payload_arrives()
    {
        var options = new WebSocketOptions { MaxMessageSize = 10 };
        Assert.Equal(WebSocketEventKind.MessageEnd, ServerReads(Frames.Masked(Binary, new byte[10]), options)[^1].Kind);
        byte[] header = Frames.Masked(Binary, new byte[11])[..6];
        RecordedEvent last = ServerReads(header, options)[^1];
        Assert.Equal(WebSocketCloseCode.MessageTooBig, last.CloseCode);
        Assert.Contains("10-byte limit", last.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Limit_counts_all_fragments()
    {
        var options = new WebSocketOptions { MaxMessageSize = 10 };
        byte[] frames = Frames.Concat(Frames.Masked(Binary, new byte[6], isFinal: false), Frames.Masked(Continuation, new byte[5]));
        Assert.Equal(WebSocketCloseCode.MessageTooBig, ServerReads(frames, options)[^1].CloseCode);
    }

    [Fact]
    public void Violation_is_sticky()
    {
        using var reader = new WebSocketFrameReader(WebSocketRole.Server);
        Feeding.Read(reader, [Frames.Masked(Continuation, "x")]);
        WebSocketEvent again = reader.Read(Frames.Masked(Text, "ok"), out int used);
        Assert.Equal(WebSocketEventKind.ProtocolViolation, again.Kind);
        Assert.Equal(0, used);
    }

    [Fact]
    public void Large_masked_payload_arrives_in_chunks_of_the_configured_size()
    {
        byte[] payload = Enumerable.Range(0, 10_000).Select(i => (byte)(i * 7)).ToArray();
        using var reader = new WebSocketFrameReader(WebSocketRole.Server, new WebSocketOptions { ReadChunkSize = 1000 });
        byte[] frame = Frames.Masked(Binary, payload);
        int offset = 0;
        var pieces = new List<int>();
        var received = new List<byte>();
        while (true)
        {
            WebSocketEvent e = reader.Read(frame.AsSpan(offset), out int used);
            offset += used;
            if (e.Kind != WebSocketEventKind.MessageData)
            {
                break;
            }

            pieces.Add(e.Payload.Length);
            received.AddRange(e.Payload.ToArray());
        }

        Assert.All(pieces, p => Assert.True(p <= 1000));
        Assert.Equal(payload, received);
    }
}
