using System.Buffers;
using System.IO.Compression;
using System.Text;
using Meerkat.WebSockets;
using Xunit;

namespace Meerkat.Tests.WebSockets;

public class PerMessageDeflateTests
{
    private static readonly PerMessageDeflateOptions Defaults = new();

    [Theory]
    [InlineData("permessage-deflate", "permessage-deflate")]
    [InlineData("permessage-deflate; client_max_window_bits", "permessage-deflate")]
    [InlineData("permessage-deflate; server_no_context_takeover", "permessage-deflate; server_no_context_takeover")]
    [InlineData("permessage-deflate; client_no_context_takeover", "permessage-deflate; client_no_context_takeover")]
    [InlineData("permessage-deflate; server_max_window_bits=15", "permessage-deflate; server_max_window_bits=15")]
    [InlineData("permessage-deflate; server_max_window_bits=\"15\"", "permessage-deflate; server_max_window_bits=15")]
    [InlineData("x-webkit-deflate-frame, permessage-deflate", "permessage-deflate")]
    // A smaller server window cannot be honoured: that offer is declined and the next one taken.
    [InlineData("permessage-deflate; server_max_window_bits=10, permessage-deflate", "permessage-deflate")]
    // Bad offers are declined, good ones later in the list still win.
    [InlineData("permessage-deflate; server_no_context_takeover; server_no_context_takeover, permessage-deflate; client_no_context_takeover", "permessage-deflate; client_no_context_takeover")]
    [InlineData("permessage-deflate; foo=1, permessage-deflate", "permessage-deflate")]
    public void Server_accepts_the_first_acceptable_offer(string offers, string expected)
    {
        Assert.True(PerMessageDeflate.TryAcceptOffer(offers, Defaults, out PerMessageDeflateParameters? agreed, out string? response));
        Assert.Equal(expected, response);
        Assert.Equal(PerMessageDeflateOptions.MaxWindowBits, agreed!.ServerMaxWindowBits);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("x-webkit-deflate-frame")]
    [InlineData("permessage-deflate; server_max_window_bits=8")]
    [InlineData("permessage-deflate; server_max_window_bits=14")]
    [InlineData("permessage-deflate; server_max_window_bits")]
    [InlineData("permessage-deflate; server_max_window_bits=16")]
    [InlineData("permessage-deflate; server_max_window_bits=7")]
    [InlineData("permessage-deflate; server_max_window_bits=015")]
    [InlineData("permessage-deflate; server_max_window_bits=abc")]
    [InlineData("permessage-deflate; client_max_window_bits=16")]
    [InlineData("permessage-deflate; client_max_window_bits; client_max_window_bits")]
    [InlineData("permessage-deflate; server_no_context_takeover=1")]
    [InlineData("permessage-deflate; client_no_context_takeover=true")]
    [InlineData("permessage-deflate; unknown")]
    public void Server_declines_unacceptable_offers(string? offers)
    {
        Assert.False(PerMessageDeflate.TryAcceptOffer(offers, Defaults, out PerMessageDeflateParameters? agreed, out string? response));
        Assert.Null(agreed);
        Assert.Null(response);
    }

    [Fact]
    public void Server_asks_for_a_smaller_client_window_only_when_the_client_offered_it()
    {
        var options = new PerMessageDeflateOptions { ClientMaxWindowBits = 10, ServerNoContextTakeover = true };
        Assert.True(PerMessageDeflate.TryAcceptOffer("permessage-deflate; client_max_window_bits", options, out var agreed, out string? response));
        Assert.Equal("permessage-deflate; server_no_context_takeover; client_max_window_bits=10", response);
        Assert.Equal(10, agreed!.ClientMaxWindowBits);
        Assert.True(PerMessageDeflate.TryAcceptOffer("permessage-deflate", options, out _, out response));
        Assert.Equal("permessage-deflate; server_no_context_takeover", response);
    }

    [Fact]
    public void Options_that_cannot_be_honoured_throw()
    {
        Assert.Throws<ArgumentException>(() => PerMessageDeflate.CreateOffer(new PerMessageDeflateOptions { ClientMaxWindowBits = 12 }));
        Assert.Throws<ArgumentException>(() => PerMessageDeflate.TryAcceptOffer("permessage-deflate", new PerMessageDeflateOptions { ServerMaxWindowBits = 12 }, out _, out _));
        Assert.Throws<ArgumentException>(() => PerMessageDeflate.CreateOffer(new PerMessageDeflateOptions { ServerMaxWindowBits = 7 }));
    }

    [Fact]
    public void Client_offer_never_carries_client_max_window_bits()
    {
        Assert.Equal("permessage-deflate", PerMessageDeflate.CreateOffer(Defaults));
        Assert.Equal(
            "permessage-deflate; client_no_context_takeover; server_no_context_takeover; server_max_window_bits=10",
            PerMessageDeflate.CreateOffer(new PerMessageDeflateOptions { ClientNoContextTakeover = true, ServerNoContextTakeover = true, ServerMaxWindowBits = 10 }));
    }

    [Theory]
    [InlineData("permessage-deflate", false, false, 15)]
    [InlineData("permessage-deflate; server_no_context_takeover", true, false, 15)]
    [InlineData("permessage-deflate; client_no_context_takeover", false, true, 15)]
    [InlineData("permessage-deflate; server_max_window_bits=9", false, false, 9)]
    public void Client_accepts_valid_responses(string response, bool serverReset, bool clientReset, int serverWindow)
    {
        Assert.True(PerMessageDeflate.TryAcceptResponse(response, Defaults, out var agreed, out string? error), error);
        Assert.Equal(new PerMessageDeflateParameters(serverReset, clientReset, serverWindow), agreed);
    }

    [Theory]
    [InlineData("permessage-deflate; client_max_window_bits=15", "client_max_window_bits")]
    [InlineData("permessage-deflate; client_max_window_bits=9", "client_max_window_bits")]
    [InlineData("permessage-deflate; server_max_window_bits=16", "8 to 15")]
    [InlineData("permessage-deflate; server_no_context_takeover; server_no_context_takeover", "duplicate")]
    [InlineData("permessage-deflate; bogus", "unknown parameter")]
    [InlineData("permessage-deflate, permessage-deflate", "not offered")]
    [InlineData("x-other", "not offered")]
    public void Client_fails_bad_responses(string response, string errorPart)
    {
        Assert.False(PerMessageDeflate.TryAcceptResponse(response, Defaults, out _, out string? error));
        Assert.Contains(errorPart, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Client_fails_a_response_ignoring_what_it_asked()
    {
        var asked = new PerMessageDeflateOptions { ServerNoContextTakeover = true, ServerMaxWindowBits = 10 };
        Assert.False(PerMessageDeflate.TryAcceptResponse("permessage-deflate; server_max_window_bits=10", asked, out _, out string? error));
        Assert.Contains("server_no_context_takeover", error, StringComparison.Ordinal);
        Assert.False(PerMessageDeflate.TryAcceptResponse("permessage-deflate; server_no_context_takeover", asked, out _, out error));
        Assert.Contains("server_max_window_bits", error, StringComparison.Ordinal);
        Assert.True(PerMessageDeflate.TryAcceptResponse("permessage-deflate; server_no_context_takeover; server_max_window_bits=9", asked, out _, out error), error);
    }

    [Fact]
    public void Rfc_7692_example_hello_decompresses()
    {
        // RFC 7692 §7.2.3.1: "Hello" compressed, unmasked, from a server.
        byte[] frame = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        foreach (IEnumerable<byte[]> cut in Feeding.AllCuts(frame))
        {
            using var reader = new WebSocketFrameReader(WebSocketRole.Client, null, new PerMessageDeflateParameters(false, false));
            List<RecordedEvent> events = Feeding.Read(reader, cut);
            Assert.Equal("Hello", events[0].Text);
            Assert.Equal(WebSocketEventKind.MessageEnd, events[1].Kind);
        }
    }

    [Fact]
    public void Rfc_7692_example_shared_window_and_fragments_decompress()
    {
        // §7.2.3.2: two messages sharing the window; §7.2.3.3-style: "Hello" compressed in fragments.
        byte[] second = [0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00];
        byte[] fragmented = [0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00];
        using var reader = new WebSocketFrameReader(WebSocketRole.Client, null, new PerMessageDeflateParameters(false, false));
        byte[] first = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        List<RecordedEvent> events = Feeding.Read(reader, [first, second, fragmented]);
        Assert.Equal(["Hello", "Hello", "Hello"], events.Where(e => e.Kind == WebSocketEventKind.MessageData).Select(e => e.Text));
    }

    [Fact]
    public void Decompression_bomb_is_1009_without_inflating_it_all()
    {
        // 64 MiB of zeros compresses to ~64 KiB; the limit is 1 MiB.
        byte[] compressed = Compress(new byte[64 << 20]);
        var deflate = new PerMessageDeflateParameters(false, false);
        byte[] frame = new byte[compressed.Length + WebSocketFrameWriter.MaxHeaderLength];
        int length = WebSocketFrameWriter.WriteFrame(frame, WebSocketOpcode.Binary, compressed, isRsv1: true, maskKey: Frames.Key);
        using var reader = new WebSocketFrameReader(WebSocketRole.Server, new WebSocketOptions { MaxMessageSize = 1 << 20 }, deflate);
        long delivered = 0;
        int offset = 0;
        while (true)
        {
            WebSocketEvent e = reader.Read(frame.AsSpan(offset, length - offset), out int used);
            offset += used;
            if (e.Kind != WebSocketEventKind.MessageData)
            {
                Assert.Equal(WebSocketEventKind.ProtocolViolation, e.Kind);
                Assert.Equal(WebSocketCloseCode.MessageTooBig, e.CloseCode);
                Assert.Contains("limit", e.Reason, StringComparison.Ordinal);
                break;
            }

            delivered += e.Payload.Length;
        }

        Assert.True(delivered <= 1 << 20);
    }

    [Fact]
    public void Corrupt_compressed_data_is_1007()
    {
        byte[] frame = Frames.Masked(WebSocketOpcode.Binary, [0xFF, 0xFF, 0xFF, 0xFF], isRsv1: true);
        using var reader = new WebSocketFrameReader(WebSocketRole.Server, null, new PerMessageDeflateParameters(false, false));
        RecordedEvent last = Feeding.Read(reader, [frame])[^1];
        Assert.Equal(WebSocketCloseCode.InvalidPayloadData, last.CloseCode);
        Assert.Contains("compressed", last.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(WebSocketOpcode.Ping, "control frame")]
    [InlineData(WebSocketOpcode.Close, "control frame")]
    public void Compressed_control_frame_is_1002(WebSocketOpcode opcode, string reason)
    {
        byte[] frame = Frames.Masked(opcode, [], isRsv1: true);
        using var reader = new WebSocketFrameReader(WebSocketRole.Server, null, new PerMessageDeflateParameters(false, false));
        RecordedEvent last = Feeding.Read(reader, [frame])[^1];
        Assert.Equal(WebSocketCloseCode.ProtocolError, last.CloseCode);
        Assert.Contains(reason, last.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Rsv1_on_a_continuation_frame_is_1002()
    {
        byte[] frames = Frames.Concat(Frames.Masked(WebSocketOpcode.Binary, [0xf2], isFinal: false, isRsv1: true), Frames.Masked(WebSocketOpcode.Continuation, [0x00], isRsv1: true));
        using var reader = new WebSocketFrameReader(WebSocketRole.Server, null, new PerMessageDeflateParameters(false, false));
        Assert.Contains("continuation", Feeding.Read(reader, [frames])[^1].Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Writer_sets_rsv1_on_the_first_frame_only(bool isResetPerMessage)
    {
        var deflate = new PerMessageDeflateParameters(isResetPerMessage, isResetPerMessage);
        using var writer = new WebSocketFrameWriter(WebSocketRole.Server, deflate);
        var output = new ArrayBufferWriter<byte>();
        writer.WriteFragment(WebSocketMessageKind.Text, "Hello "u8, isEndOfMessage: false, output);
        int first = output.WrittenCount;
        writer.WriteFragment(WebSocketMessageKind.Text, "world"u8, isEndOfMessage: true, output);
        byte[] bytes = output.WrittenSpan.ToArray();
        Assert.Equal(0x41, bytes[0]);
        Assert.Equal(0x80, bytes[first]);
        using var reader = new WebSocketFrameReader(WebSocketRole.Client, null, deflate);
        Assert.Equal("Hello world", Feeding.Read(reader, [bytes])[0].Text);
    }

    [Fact]
    public void Context_takeover_makes_a_repeated_message_smaller()
    {
        byte[] message = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 50).Select(i => $"item {i * 7919 % 1000}, ")));
        Assert.True(SecondMessageLength(false, message) < SecondMessageLength(true, message) / 4);
    }

    [Fact]
    public void Empty_message_is_sent_uncompressed_and_a_lone_00_decompresses_to_empty()
    {
        var deflate = new PerMessageDeflateParameters(false, false);
        using var writer = new WebSocketFrameWriter(WebSocketRole.Server, deflate);
        var output = new ArrayBufferWriter<byte>();
        writer.WriteMessage(WebSocketMessageKind.Binary, [], output);
        Assert.Equal("8200", Convert.ToHexString(output.WrittenSpan));
        using var reader = new WebSocketFrameReader(WebSocketRole.Client, null, deflate);
        List<RecordedEvent> events = Feeding.Read(reader, [[0xC2, 0x01, 0x00]]);
        Assert.Equal(WebSocketEventKind.MessageEnd, Assert.Single(events).Kind);
    }

    private static int SecondMessageLength(bool isResetPerMessage, byte[] message)
    {
        using var writer = new WebSocketFrameWriter(WebSocketRole.Server, new PerMessageDeflateParameters(isResetPerMessage, false));
        var output = new ArrayBufferWriter<byte>();
        writer.WriteMessage(WebSocketMessageKind.Text, message, output);
        output.Clear();
        writer.WriteMessage(WebSocketMessageKind.Text, message, output);
        return output.WrittenCount;
    }

    private static byte[] Compress(byte[] data)
    {
        using var stream = new MemoryStream();
        using (var deflate = new DeflateStream(stream, CompressionLevel.Optimal, leaveOpen: true))
        {
            deflate.Write(data);
            deflate.Flush();
        }

        return stream.ToArray();
    }
}
