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
    public void Date_line_and_value_agree()
    {
        var cache = new HttpDateCache();
        Assert.Equal("Date: Sun, 22 Nov 2026 08:49:37 GMT\r\n", Encoding.ASCII.GetString(cache.GetLine(Now)));
        Assert.Equal("Sun, 22 Nov 2026 08:49:38 GMT", Encoding.ASCII.GetString(cache.GetValue(Now.AddSeconds(1))));
        Assert.Equal("Date: Sun, 22 Nov 2026 08:49:38 GMT\r\n", Encoding.ASCII.GetString(cache.GetLine(Now.AddSeconds(1))));
    }

    /// <summary>The loop's monotonic reading spares the system wall clock a read within a second, never
    /// another clock: a test's own clock is asked every time, whatever the reading says.</summary>
    [Fact]
    public void Date_from_a_clock_of_ones_own_is_read_every_time_despite_a_monotonic_reading()
    {
        var cache = new HttpDateCache();
        var clock = new SteppingClock(Now);
        long monotonic = System.Diagnostics.Stopwatch.GetTimestamp();
        Assert.Equal("Date: Sun, 22 Nov 2026 08:49:37 GMT\r\n", Encoding.ASCII.GetString(cache.GetLine(clock, monotonic)));
        clock.Current = Now.AddHours(1);
        Assert.Equal("Date: Sun, 22 Nov 2026 09:49:37 GMT\r\n", Encoding.ASCII.GetString(cache.GetLine(clock, monotonic)));
        // And the system clock through the same cache: today's date, not the test clock's.
        var system = Encoding.ASCII.GetString(cache.GetLine(TimeProvider.System, monotonic));
        var expected = DateTimeOffset.UtcNow;
        Assert.True(system == $"Date: {expected:R}\r\n" || system == $"Date: {expected.AddSeconds(-1):R}\r\n", system);
        Assert.Equal(system, Encoding.ASCII.GetString(cache.GetLine(TimeProvider.System, monotonic)));
    }

    private sealed class SteppingClock(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Current { get; set; } = start;

        public override DateTimeOffset GetUtcNow() => Current;
    }

    [Fact]
    public void Standard_status_lines_carry_their_version_and_phrase()
    {
        var output = new ArrayBufferWriter<byte>();
        var writer = new ResponseHeadWriter();
        foreach (var (status, http11) in new[] { (200, true), (200, false), (404, true), (200, true), (299, true), (404, false) })
            writer.WriteStatusLine(output, status, http11: http11);
        writer.WriteStatusLine(output, 200, "Fine"u8);
        Assert.Equal("HTTP/1.1 200 OK\r\nHTTP/1.0 200 OK\r\nHTTP/1.1 404 Not Found\r\nHTTP/1.1 200 OK\r\nHTTP/1.1 299 \r\n" +
            "HTTP/1.0 404 Not Found\r\nHTTP/1.1 200 Fine\r\n", Encoding.ASCII.GetString(output.WrittenSpan));
    }

    [Fact]
    public void Field_lines_from_strings_are_right_whichever_strings_come_and_go()
    {
        // More distinct values than the line cache has slots, each one new, repeated and revisited:
        // every line must be the one for its own strings, and a bad value must still throw.
        var output = new ArrayBufferWriter<byte>();
        var expected = new StringBuilder();
        for (int round = 0; round < 3; round++)
        {
            for (int i = 0; i < 7; i++)
            {
                string value = i % 2 == 0 ? $"text/t{i}" : "text/plain"; // new instances and one literal
                HeadWriting.WriteField(output, "Content-Type", value);
                HeadWriting.WriteField(output, "Content-Type", value);
                expected.Append($"Content-Type: {value}\r\nContent-Type: {value}\r\n");
            }
        }
        HeadWriting.WriteField(output, "Server", new string('s', 200)); // longer than a cached line
        expected.Append($"Server: {new string('s', 200)}\r\n");
        Assert.Equal(expected.ToString(), Encoding.Latin1.GetString(output.WrittenSpan));
        Assert.Throws<ArgumentException>(() => HeadWriting.WriteField(output, "X-Bad", "a\r\nInjected: 1"));
        Assert.Throws<ArgumentException>(() => HeadWriting.WriteField(output, "X-Bad", "a\r\nInjected: 1"));
        Assert.Throws<ArgumentException>(() => HeadWriting.WriteField(output, "Bad Name", "text/plain"));
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
