using System.Buffers;
using Meerkat.WebSockets;
using Xunit;

namespace Meerkat.Tests.WebSockets;

/// <summary>The same bytes give the same events however they are cut (STYLE.md §12).</summary>
public class WebSocketReaderCutsTests
{
    public static TheoryData<int> DeflateSettings => [0, 1, 2];

    [Theory]
    [MemberData(nameof(DeflateSettings))]
    public void Client_stream_gives_the_same_events_for_every_cut(int deflateSetting)
    {
        PerMessageDeflateParameters? deflate = deflateSetting == 0 ? null : new PerMessageDeflateParameters(deflateSetting == 2, deflateSetting == 2);
        byte[] stream = ClientStream(deflate);
        using var reference = new WebSocketFrameReader(WebSocketRole.Server, null, deflate);
        List<RecordedEvent> expected = Feeding.Read(reference, Feeding.Whole(stream));
        Assert.Equal(
            "MessageData,MessageEnd,MessageData,Ping,MessageData,Pong,MessageData,MessageEnd,MessageEnd,MessageData,MessageEnd,Close",
            string.Join(",", expected.Select(e => e.Kind)));
        foreach (IEnumerable<byte[]> cut in Feeding.AllCuts(stream))
        {
            using var reader = new WebSocketFrameReader(WebSocketRole.Server, new WebSocketOptions { ReadChunkSize = 3 }, deflate);
            Assert.Equal(expected.Select(Describe), Feeding.Read(reader, cut).Select(Describe));
        }
    }

    [Fact]
    public void Invalid_utf8_straddling_fragments_is_1007_at_every_split()
    {
        byte[] text = [0x61, 0xE2, 0x82, 0x28, 0x62]; // E2 82 must be followed by a continuation byte
        for (int split = 0; split <= text.Length; split++)
        {
            byte[] frames = Frames.Concat(Frames.Masked(WebSocketOpcode.Text, text[..split], isFinal: false), Frames.Masked(WebSocketOpcode.Continuation, text[split..]));
            foreach (IEnumerable<byte[]> cut in Feeding.AllCuts(frames))
            {
                using var reader = new WebSocketFrameReader(WebSocketRole.Server);
                Assert.Equal(WebSocketCloseCode.InvalidPayloadData, Feeding.Read(reader, cut)[^1].CloseCode);
            }
        }
    }

    [Fact]
    public void Reading_uncompressed_frames_does_not_allocate()
    {
        byte[] stream = Frames.Concat(
            Frames.Masked(WebSocketOpcode.Text, "κόσμε", isFinal: false),
            Frames.Masked(WebSocketOpcode.Ping, "p"),
            Frames.Masked(WebSocketOpcode.Continuation, new byte[3000]),
            Frames.Masked(WebSocketOpcode.Binary, new byte[70000]));
        using var reader = new WebSocketFrameReader(WebSocketRole.Server);
        int events = ReadAll(reader, stream); // warm up
        int total = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
        {
            total += ReadAll(reader, stream);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(events * 10, total);
        Assert.Equal(0, allocated);
    }

    private static int ReadAll(WebSocketFrameReader reader, ReadOnlySpan<byte> input)
    {
        int count = 0;
        while (true)
        {
            WebSocketEvent e = reader.Read(input, out int used);
            input = input[used..];
            if (e.Kind == WebSocketEventKind.NeedMoreData)
            {
                return count;
            }

            count++;
        }
    }

    private static string Describe(RecordedEvent e) => $"{e.Kind}/{e.MessageKind}/{Convert.ToHexString(e.Payload)}/{e.CloseCode}/{e.Reason}";

    /// <summary>What a client sends: a text message, fragments with control frames between, an empty message, a binary one, Close.</summary>
    private static byte[] ClientStream(PerMessageDeflateParameters? deflate)
    {
        using var writer = new WebSocketFrameWriter(WebSocketRole.Client, deflate);
        var output = new ArrayBufferWriter<byte>();
        writer.WriteText("héllo héllo", output);
        writer.WriteFragment(WebSocketMessageKind.Text, "𝄞 a"u8[..2], isEndOfMessage: false, output);
        writer.WritePing("ping"u8, output);
        writer.WriteFragment(WebSocketMessageKind.Text, "𝄞 a"u8[2..], isEndOfMessage: false, output);
        writer.WritePong("pong"u8, output);
        writer.WriteFragment(WebSocketMessageKind.Text, "héllo"u8, isEndOfMessage: true, output);
        writer.WriteMessage(WebSocketMessageKind.Binary, [], output);
        writer.WriteMessage(WebSocketMessageKind.Binary, [0, 1, 2, 0, 1, 2, 0, 1, 2], output);
        writer.WriteClose(WebSocketCloseCode.NormalClosure, "done", output);
        return output.WrittenSpan.ToArray();
    }
}
