using Meerkat.Http;
using Meerkat.Http2;
using static Meerkat.Tests.Http2.Raw;

namespace Meerkat.Tests.Http2;

/// <summary>
/// The connection core fed a real client's bytes at every split point (the same events however
/// the bytes arrive), and fed mutated and spliced versions of them (never an exception, every
/// stream the application saw closes exactly once).
/// </summary>
public class Http2CutsAndFuzzTests
{
    /// <summary>What our client core sends for a few requests: preface, SETTINGS, HPACK with a dynamic table, bodies, trailers, resets.</summary>
    private static byte[] ClientTranscript()
    {
        var client = new Endpoint(isServer: false, new Http2Options { InitialWindowSize = 1000 });
        client.Feed(Concat(SettingsFrame((3, 100)), SettingsAck));
        Http2HeaderList Request(string method, string path) => new Http2HeaderList()
            .Add(":method", method).Add(":scheme", "https").Add(":authority", "example.com").Add(":path", path).Add("user-agent", "meerkat").Add("accept", "*/*");
        client.Connection.OpenStream(Request("GET", "/"), endStream: true);
        int post = client.Connection.OpenStream(Request("POST", "/upload").Add("content-length", "2500"), endStream: false);
        client.Connection.TrySendData(post, new byte[2500], endStream: true, client.Now, out _);
        int withTrailers = client.Connection.OpenStream(Request("POST", "/trailers"), endStream: false);
        client.Connection.TrySendData(withTrailers, "abc"u8, endStream: false, client.Now, out _);
        client.Connection.SendHeaders(withTrailers, new Http2HeaderList().Add("x-checksum", "1"), endStream: true);
        int cancelled = client.Connection.OpenStream(Request("GET", "/slow"), endStream: true);
        client.Connection.ResetStream(cancelled, Http2ErrorCode.Cancel);
        client.Connection.SendPing(7);
        client.Connection.OpenStream(Request("GET", "/again"), endStream: true);
        return client.TakeOutput();
    }

    [Fact]
    public void A_client_transcript_gives_the_same_events_and_answers_at_every_split_point()
    {
        byte[] transcript = ClientTranscript();
        (string Events, string Output) Run(IEnumerable<byte[]> pieces)
        {
            var server = new Endpoint(isServer: true);
            server.TakeOutput();
            foreach (byte[] piece in pieces) server.Feed(piece);
            return (string.Join("\n", server.Events.Select(e => e.ToString())), Convert.ToHexString(server.TakeOutput()));
        }

        (string events, string output) = Run([transcript]);
        Assert.Contains("Headers 5 POST https://example.com/trailers", events, StringComparison.Ordinal);
        Assert.Contains("Trailers 5 end", events, StringComparison.Ordinal);
        Assert.Contains("StreamClosed 7", events, StringComparison.Ordinal);
        Assert.Contains("Ping 0", events, StringComparison.Ordinal);
        foreach (IEnumerable<byte[]> cut in Cuts.All(transcript))
        {
            (string e, string o) = Run(cut);
            Assert.Equal(events, e);
            Assert.Equal(output, o);
        }
    }

    [Fact]
    public void A_field_block_split_between_headers_and_continuation_at_every_point_decodes_the_same()
    {
        // A block from a real encoder (Huffman, table insertions), cut at every octet into
        // HEADERS + CONTINUATION, and into HEADERS + two CONTINUATION around every octet.
        var encoder = new Meerkat.Http2.Hpack.HpackEncoder();
        var block = new System.Buffers.ArrayBufferWriter<byte>();
        (string, string)[] fields = [(":method", "POST"), (":scheme", "https"), (":authority", "example.com"), (":path", "/upload?x=1"), ("content-type", "application/json"), ("x-trace", "abc123def456"), ("cookie", "session=0123456789abcdef0123")];
        foreach ((string name, string value) in fields) encoder.Encode(System.Text.Encoding.ASCII.GetBytes(name), System.Text.Encoding.ASCII.GetBytes(value), false, block);
        byte[] bytes = block.WrittenSpan.ToArray();
        const string expected = "POST https://example.com/upload?x=1 [content-type: application/json, x-trace: abc123def456, cookie: session=0123456789abcdef0123]";
        for (int cut = 0; cut <= bytes.Length; cut++)
        {
            Endpoint server = Handshake.Server();
            List<Recorded> events = server.Feed(Concat(HeadersFrame(1, EndStream, bytes[..cut]), Frame(Continuation, EndHeaders, 1, bytes[cut..])));
            Assert.Equal(expected, events.Single().Head);
            if (cut == bytes.Length) continue;
            server = Handshake.Server();
            events = server.Feed(Concat(HeadersFrame(1, EndStream, bytes[..cut]), Frame(Continuation, 0, 1, bytes[cut..(cut + 1)]), Frame(Continuation, EndHeaders, 1, bytes[(cut + 1)..])));
            Assert.Equal(expected, events.Single().Head);
        }
    }

    [Fact]
    public void Mutated_and_spliced_input_never_throws_and_every_announced_stream_closes_once()
    {
        byte[] transcript = ClientTranscript();
        var random = new Random(9113);
        int connectionErrors = 0;
        for (int round = 0; round < 3000; round++)
        {
            byte[] input = Mutate(transcript, random);
            var server = new Endpoint(isServer: true, new Http2Options { MaxConcurrentStreams = 3, MaxHeaderListSize = 2000 });
            int at = 0;
            while (at < input.Length)
            {
                int piece = Math.Min(input.Length - at, random.Next(1, 200));
                foreach (Recorded e in server.Feed(input[at..(at + piece)])) Respond(server, e, random);
                at += piece;
            }

            server.Connection.ReceiveEndOfStream();
            server.Drain();
            var headers = server.Events.Where(e => e.Kind == Http2EventKind.Headers).Select(e => e.StreamId).Distinct().ToList();
            var closes = server.Events.Where(e => e.Kind == Http2EventKind.StreamClosed).Select(e => e.StreamId).ToList();
            Assert.Equal(headers.Order(), closes.Order());
            Assert.Equal(Http2ConnectionState.Closed, server.Connection.State);
            connectionErrors += server.Events.Count(e => e.Kind == Http2EventKind.ConnectionError);
        }

        Assert.InRange(connectionErrors, 300, 3000); // the mutations do reach the error paths
    }

    /// <summary>The application answers some streams at random, so that sends interleave with receiving.</summary>
    private static void Respond(Endpoint server, Recorded e, Random random)
    {
        if (e.Kind != Http2EventKind.Headers || random.Next(3) == 0) return;
        if (!server.Connection.SendHeaders(e.StreamId, new Http2HeaderList().AddStatus(200), endStream: false)) return;
        server.Connection.TrySendData(e.StreamId, new byte[random.Next(0, 3000)], endStream: random.Next(2) == 0, server.Now, out _);
    }

    private static byte[] Mutate(byte[] input, Random random)
    {
        byte[] bytes = (byte[])input.Clone();
        switch (random.Next(5))
        {
            case 0: // flip bytes
                for (int i = random.Next(1, 4); i > 0; i--) bytes[random.Next(24, bytes.Length)] = (byte)random.Next(256);
                return bytes;
            case 1: // cut short
                return bytes[..random.Next(24, bytes.Length)];
            case 2: // delete a run
            {
                int start = random.Next(24, bytes.Length), length = random.Next(1, Math.Min(40, bytes.Length - start) + 1);
                return [.. bytes[..start], .. bytes[(start + length)..]];
            }
            case 3: // duplicate a run (replayed frames, repeated headers)
            {
                int start = random.Next(24, bytes.Length), length = random.Next(1, Math.Min(200, bytes.Length - start) + 1);
                return [.. bytes[..(start + length)], .. bytes[start..]];
            }
            default: // splice random bytes in
            {
                var noise = new byte[random.Next(1, 30)];
                random.NextBytes(noise);
                int start = random.Next(24, bytes.Length);
                return [.. bytes[..start], .. noise, .. bytes[start..]];
            }
        }
    }
}
