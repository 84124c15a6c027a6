// Writers produce bytes the reader parses back to the same message (round trips), reject what
// would split a message, and allocate nothing.
using System.Buffers;
using System.Text;
using Meerkat.Http;
using Xunit;

namespace Meerkat.Tests.Http;

public sealed class HttpWriterTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 8, 49, 37, TimeSpan.Zero);

    [Fact]
    public void Response_head_round_trips()
    {
        var output = new ArrayBufferWriter<byte>();
        var writer = new ResponseHeadWriter();
        writer.WriteStatusLine(output, 404);
        writer.WriteDate(output, Now);
        writer.WriteHeader(output, "Content-Length"u8, 5);
        writer.WriteHeader(output, "Content-Type"u8, "text/plain"u8);
        writer.WriteEnd(output);
        ChunklessBody(output, "nope!");

        Transcript t = ReaderDriver.Whole(false, output.WrittenSpan.ToArray());
        Assert.Equal("complete", t.Outcome);
        TranscriptMessage m = Assert.Single(t.Messages);
        Assert.Equal(404, m.Status);
        Assert.Equal("Not Found", m.Reason);
        Assert.Equal(["Date: Sun, 22 Nov 2026 08:49:37 GMT", "Content-Length: 5", "Content-Type: text/plain"], m.Headers);
        Assert.Equal("nope!", m.Body);
    }

    [Fact]
    public void Chunked_request_with_trailers_round_trips()
    {
        var output = new ArrayBufferWriter<byte>();
        var writer = new RequestHeadWriter();
        writer.WriteRequestLine(output, "POST"u8, "/upload?x=1"u8);
        writer.WriteHeader(output, "Host"u8, "example.com"u8);
        writer.WriteHeader(output, "Transfer-Encoding"u8, "chunked"u8);
        writer.WriteEnd(output);
        ChunkedEncoder.WriteChunk(output, "hello "u8);
        ChunkedEncoder.WriteChunk(output, ReadOnlySpan<byte>.Empty); // no-op: an empty chunk would end the body
        ChunkedEncoder.WriteChunk(output, Encoding.ASCII.GetBytes(new string('w', 300)));
        ChunkedEncoder.WriteLastChunkStart(output);
        ChunkedEncoder.WriteTrailer(output, "X-Digest"u8, "abc"u8);
        ChunkedEncoder.WriteEnd(output);

        Transcript t = ReaderDriver.Whole(true, output.WrittenSpan.ToArray());
        Assert.Equal("complete", t.Outcome);
        TranscriptMessage m = Assert.Single(t.Messages);
        Assert.Equal("POST", m.Method);
        Assert.Equal("/upload?x=1", m.Url);
        Assert.Equal("hello " + new string('w', 300), m.Body);
        Assert.Equal(["X-Digest: abc"], m.Trailers);
    }

    [Fact]
    public void Last_chunk_without_trailers_round_trips()
    {
        var output = new ArrayBufferWriter<byte>();
        new ResponseHeadWriter().WriteStatusLine(output, 200, "Fine"u8, http11: true);
        HeadersForChunked(output);
        ChunkedEncoder.WriteChunkHeader(output, 3);
        output.Write("abc"u8);
        ChunkedEncoder.WriteChunkEnd(output);
        ChunkedEncoder.WriteLastChunk(output);
        Transcript t = ReaderDriver.Whole(false, output.WrittenSpan.ToArray());
        Assert.Equal("complete", t.Outcome);
        Assert.Equal("Fine", t.Messages[0].Reason);
        Assert.Equal("abc", t.Messages[0].Body);
    }

    [Fact]
    public void Writers_refuse_what_would_split_a_message()
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.Throws<ArgumentException>(() => new ResponseHeadWriter().WriteHeader(output, "X"u8, "a\r\nInjected: 1"u8));
        Assert.Throws<ArgumentException>(() => new ResponseHeadWriter().WriteHeader(output, "X Y"u8, "a"u8));
        Assert.Throws<ArgumentException>(() => new RequestHeadWriter().WriteRequestLine(output, "GET"u8, "/a b"u8));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ResponseHeadWriter().WriteStatusLine(output, 42));
        Assert.Throws<ArgumentOutOfRangeException>(() => ChunkedEncoder.WriteChunkHeader(output, 0));
    }

    [Fact]
    public void Date_is_formatted_once_per_second()
    {
        var cache = new HttpDateCache();
        Assert.Equal("Sun, 22 Nov 2026 08:49:37 GMT", Encoding.ASCII.GetString(cache.GetValue(Now)));
        Assert.Equal("Sun, 22 Nov 2026 08:49:37 GMT", Encoding.ASCII.GetString(cache.GetValue(Now.AddMilliseconds(900))));
        Assert.Equal("Sun, 22 Nov 2026 08:49:38 GMT", Encoding.ASCII.GetString(cache.GetValue(Now.AddSeconds(1))));
    }

    [Fact]
    public void Writing_a_response_allocates_nothing_after_warm_up()
    {
        var output = new ArrayBufferWriter<byte>(4096);
        var writer = new ResponseHeadWriter();
        WriteResponse(writer, output);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) WriteResponse(writer, output);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static void WriteResponse(ResponseHeadWriter writer, ArrayBufferWriter<byte> output)
    {
        output.ResetWrittenCount();
        writer.WriteStatusLine(output, 200);
        writer.WriteDate(output, Now);
        writer.WriteHeader(output, "Content-Length"u8, 13);
        writer.WriteEnd(output);
        ChunkedEncoder.WriteChunk(output, "Hello, World!"u8);
    }

    private static void HeadersForChunked(ArrayBufferWriter<byte> output)
    {
        HeadWriting.WriteField(output, "Transfer-Encoding"u8, "chunked"u8);
        HeadWriting.WriteCrlf(output);
    }

    private static void ChunklessBody(ArrayBufferWriter<byte> output, string body) => output.Write(Encoding.ASCII.GetBytes(body));
}
