using System.Buffers;
using Meerkat.WebSockets;
using Xunit;

namespace Meerkat.Tests.WebSockets;

public class WebSocketFrameWriterTests
{
    private static byte[] Write(WebSocketRole role, Action<WebSocketFrameWriter, ArrayBufferWriter<byte>> write)
    {
        using var writer = new WebSocketFrameWriter(role);
        var output = new ArrayBufferWriter<byte>();
        write(writer, output);
        return output.WrittenSpan.ToArray();
    }

    [Fact]
    public void Server_text_frame_matches_rfc_6455_example() =>
        Assert.Equal(new byte[] { 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f }, Write(WebSocketRole.Server, (w, o) => w.WriteText("Hello", o)));

    [Theory]
    [InlineData(0, 2)]
    [InlineData(125, 2)]
    [InlineData(126, 4)]
    [InlineData(65535, 4)]
    [InlineData(65536, 10)]
    public void Length_uses_the_minimal_encoding(int length, int headerLength)
    {
        byte[] frame = Write(WebSocketRole.Server, (w, o) => w.WriteMessage(WebSocketMessageKind.Binary, new byte[length], o));
        Assert.Equal(length + headerLength, frame.Length);
        Assert.Equal(WebSocketFrameWriter.GetFrameLength(length, WebSocketRole.Server), frame.Length);
        Assert.Equal(WebSocketFrameWriter.GetFrameLength(length, WebSocketRole.Client), frame.Length + 4);
    }

    [Fact]
    public void Client_frames_are_masked_with_a_fresh_key_each_time()
    {
        byte[] payload = new byte[16];
        var keys = new HashSet<string>();
        using var writer = new WebSocketFrameWriter(WebSocketRole.Client);
        for (int i = 0; i < 200; i++)
        {
            var output = new ArrayBufferWriter<byte>();
            writer.WriteMessage(WebSocketMessageKind.Binary, payload, output);
            byte[] frame = output.WrittenSpan.ToArray();
            Assert.Equal(0x80, frame[1] & 0x80);
            keys.Add(Convert.ToHexString(frame, 2, 4));
            using var reader = new WebSocketFrameReader(WebSocketRole.Server);
            Assert.Equal(payload, Feeding.Read(reader, [frame])[0].Payload);
        }

        Assert.True(keys.Count > 190, $"only {keys.Count} distinct keys in 200 frames");
    }

    [Fact]
    public void Fragments_open_with_the_opcode_then_continue()
    {
        byte[] bytes = Write(WebSocketRole.Server, (w, o) =>
        {
            w.WriteFragment(WebSocketMessageKind.Text, "a"u8, isEndOfMessage: false, o);
            Assert.True(w.IsFragmentedMessageOpen);
            w.WritePing("p"u8, o);
            w.WriteFragment(WebSocketMessageKind.Text, "b"u8, isEndOfMessage: false, o);
            w.WriteFragment(WebSocketMessageKind.Text, "c"u8, isEndOfMessage: true, o);
            Assert.False(w.IsFragmentedMessageOpen);
        });
        Assert.Equal("010161" + "890170" + "000162" + "800163", Convert.ToHexString(bytes));
    }

    [Fact]
    public void Close_carries_code_and_reason()
    {
        byte[] bytes = Write(WebSocketRole.Server, (w, o) => w.WriteClose(WebSocketCloseCode.GoingAway, "bye", o));
        Assert.Equal("880503E9627965", Convert.ToHexString(bytes));
        Assert.Equal("8800", Convert.ToHexString(Write(WebSocketRole.Server, (w, o) => w.WriteClose(WebSocketCloseCode.NoStatusReceived, default, o))));
    }

    [Theory]
    [InlineData(999)]
    [InlineData(1004)]
    [InlineData(1006)]
    [InlineData(1015)]
    [InlineData(2000)]
    [InlineData(5000)]
    public void Close_code_that_may_not_be_sent_throws(int code)
    {
        var e = Assert.Throws<ArgumentException>(() => Write(WebSocketRole.Client, (w, o) => w.WriteClose((WebSocketCloseCode)code, "x", o)));
        Assert.Contains(code.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
        Assert.Equal("code", e.ParamName);
    }

    [Fact]
    public void Caller_mistakes_throw_naming_the_mistake()
    {
        Assert.Contains("123", Assert.Throws<ArgumentException>(() => Write(WebSocketRole.Server, (w, o) => w.WriteClose(WebSocketCloseCode.NormalClosure, new string('é', 62), o))).Message, StringComparison.Ordinal);
        Assert.Contains("125", Assert.Throws<ArgumentException>(() => Write(WebSocketRole.Server, (w, o) => w.WritePing(new byte[126], o))).Message, StringComparison.Ordinal);
        Assert.Contains("UTF-8", Assert.Throws<ArgumentException>(() => Write(WebSocketRole.Server, (w, o) => w.WriteMessage(WebSocketMessageKind.Text, [0xFF], o))).Message, StringComparison.Ordinal);
        Assert.Contains("surrogate", Assert.Throws<ArgumentException>(() => Write(WebSocketRole.Server, (w, o) => w.WriteText("\ud800", o))).Message, StringComparison.Ordinal);
        Assert.Contains("needs a close code", Assert.Throws<ArgumentException>(() => Write(WebSocketRole.Server, (w, o) => w.WriteClose(WebSocketCloseCode.NoStatusReceived, "x", o))).Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => Write(WebSocketRole.Server, (w, o) =>
        {
            w.WriteFragment(WebSocketMessageKind.Binary, [1], isEndOfMessage: false, o);
            w.WriteMessage(WebSocketMessageKind.Binary, [2], o);
        }));
        Assert.Throws<ArgumentException>(() => Write(WebSocketRole.Server, (w, o) =>
        {
            w.WriteFragment(WebSocketMessageKind.Binary, [1], isEndOfMessage: false, o);
            w.WriteFragment(WebSocketMessageKind.Text, [2], isEndOfMessage: true, o);
        }));
    }

    [Fact]
    public void Span_writer_rejects_a_short_destination() =>
        Assert.Throws<ArgumentException>(() => WebSocketFrameWriter.WriteFrame(new byte[5], WebSocketOpcode.Binary, new byte[4]));

    [Fact]
    public void Writing_uncompressed_frames_does_not_allocate()
    {
        using var writer = new WebSocketFrameWriter(WebSocketRole.Client);
        var output = new ArrayBufferWriter<byte>(1 << 16);
        byte[] payload = new byte[1000];
        writer.WriteMessage(WebSocketMessageKind.Binary, payload, output); // warm up
        output.Clear();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++)
        {
            writer.WriteMessage(WebSocketMessageKind.Binary, payload, output);
            writer.WritePing(payload.AsSpan(0, 10), output);
            writer.WriteClose(WebSocketCloseCode.NormalClosure, "bye", output);
            output.Clear();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Masking_in_pieces_equals_masking_at_once(int phase)
    {
        byte[] data = Enumerable.Range(0, 301).Select(i => (byte)i).ToArray();
        uint key = WebSocketMask.ReadKey(Frames.Key);
        byte[] whole = new byte[data.Length];
        WebSocketMask.Apply(data, whole, key, phase);
        byte[] pieces = new byte[data.Length];
        for (int start = 0; start < data.Length; start += 37)
        {
            int length = Math.Min(37, data.Length - start);
            WebSocketMask.Apply(data.AsSpan(start, length), pieces.AsSpan(start), key, phase + start);
        }

        Assert.Equal(whole, pieces);
        for (int i = 0; i < data.Length; i++)
        {
            Assert.Equal((byte)(data[i] ^ Frames.Key[(i + phase) % 4]), whole[i]);
        }
    }
}
