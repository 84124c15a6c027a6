// Unit tests of HttpMessageReader: limits, smuggling rejections, chunked details, pipelining and
// the response framings (HEAD, 1xx, 204, 304, until close). Each runs through ReaderDriver.
using System.Text;
using Meerkat.Http;
using Xunit;

namespace Meerkat.Tests.Http;

public sealed class HttpMessageReaderTests
{
    private static Transcript Request(string raw, HttpLimits? limits = null) => ReaderDriver.Whole(true, raw, limits: limits);

    private static void AssertError(Transcript t, HttpError error, int status)
    {
        Assert.Equal("error", t.Outcome);
        Assert.Equal(error, t.Error);
        Assert.Equal(status, t.Error.StatusCode());
    }

    // ---- limits ----

    [Fact]
    public void Request_line_over_limit_is_414_even_without_its_end()
    {
        var limits = new HttpLimits { MaxRequestLineLength = 64 };
        AssertError(Request("GET /" + new string('a', 100), limits), HttpError.RequestLineTooLong, 414);
        AssertError(Request("GET /" + new string('a', 100) + " HTTP/1.1\r\n\r\n", limits), HttpError.RequestLineTooLong, 414);
    }

    [Fact]
    public void Head_over_size_limit_is_431_even_without_its_end()
    {
        var limits = new HttpLimits { MaxHeaderBytes = 256 };
        AssertError(Request("GET / HTTP/1.1\r\nX: " + new string('a', 300), limits), HttpError.HeadersTooLarge, 431);
        AssertError(Request("GET / HTTP/1.1\r\nX: " + new string('a', 300) + "\r\n\r\n", limits), HttpError.HeadersTooLarge, 431);
    }

    [Fact]
    public void Too_many_headers_is_431()
    {
        var limits = new HttpLimits { MaxHeaderCount = 3 };
        Assert.Equal("complete", Request("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits).Outcome);
        AssertError(Request("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", limits), HttpError.TooManyHeaders, 431);
    }

    [Fact]
    public void Body_over_limit_is_413_for_content_length_and_chunked()
    {
        var limits = new HttpLimits { MaxBodySize = 10 };
        AssertError(Request("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", limits), HttpError.BodyTooLarge, 413);
        Assert.Equal("complete", Request("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", limits).Outcome);
        AssertError(Request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n5\r\nabcde\r\n0\r\n\r\n", limits),
            HttpError.BodyTooLarge, 413);
    }

    [Fact]
    public void Chunk_extension_and_trailer_limits_apply()
    {
        var limits = new HttpLimits { MaxChunkExtensionLength = 8, MaxTrailerBytes = 16 };
        AssertError(Request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;aaaaaaaaaa\r\n", limits), HttpError.ChunkExtensionTooLong, 400);
        AssertError(Request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Trailer: aaaaaaaaaa\r\n", limits), HttpError.TrailersTooLarge, 431);
    }

    // ---- smuggling and malformed framing ----

    [Theory]
    [InlineData("Content-Length: 5\r\nTransfer-Encoding: chunked", HttpError.ContentLengthWithTransferEncoding, 400)]
    [InlineData("Transfer-Encoding: chunked\r\nContent-Length: 5", HttpError.ContentLengthWithTransferEncoding, 400)]
    [InlineData("Content-Length: 5\r\nContent-Length: 6", HttpError.DuplicateContentLength, 400)]
    [InlineData("Content-Length: +5", HttpError.InvalidContentLength, 400)]
    [InlineData("Content-Length: -1", HttpError.InvalidContentLength, 400)]
    [InlineData("Content-Length: 1,2", HttpError.InvalidContentLength, 400)]
    [InlineData("Content-Length: 5, 5", HttpError.InvalidContentLength, 400)]
    [InlineData("Content-Length: 0x10", HttpError.InvalidContentLength, 400)]
    [InlineData("Content-Length: 99999999999999999999", HttpError.InvalidContentLength, 400)]
    [InlineData("Transfer-Encoding: chunked, gzip", HttpError.TransferEncodingNotChunkedLast, 400)]
    [InlineData("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked", HttpError.TransferEncodingNotChunkedLast, 400)]
    [InlineData("Transfer-Encoding: gzip", HttpError.TransferEncodingNotChunkedLast, 400)]
    [InlineData("Transfer-Encoding: pigeons, chunked", HttpError.UnknownTransferCoding, 501)]
    [InlineData("X: 1\r\n folded", HttpError.HeaderLineFolding, 400)]
    [InlineData("Host : example.com", HttpError.InvalidHeaderName, 400)]
    [InlineData("X: a\rb", HttpError.InvalidLineEnding, 400)]
    public void Smuggling_prone_heads_are_rejected(string fields, HttpError error, int status) =>
        AssertError(Request($"POST / HTTP/1.1\r\n{fields}\r\n\r\n"), error, status);

    [Fact]
    public void Identical_repeated_content_length_is_accepted()
    {
        Transcript t = Request("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc");
        Assert.Equal("complete", t.Outcome);
        Assert.Equal("abc", t.Messages[0].Body);
    }

    [Theory]
    [InlineData("GET  / HTTP/1.1", HttpError.InvalidRequestLine)]
    [InlineData("GET /  HTTP/1.1", HttpError.InvalidVersion)]
    [InlineData("GET / HTTP/1.1 ", HttpError.InvalidVersion)]
    [InlineData("GET / HTTP/2.0", HttpError.UnsupportedVersion)]
    [InlineData("GET foo HTTP/1.1", HttpError.InvalidTarget)]
    [InlineData("GET * HTTP/1.1", HttpError.InvalidTarget)]
    [InlineData("CONNECT /x HTTP/1.1", HttpError.InvalidTarget)]
    [InlineData("G\u00c9T / HTTP/1.1", HttpError.InvalidMethod)]
    public void Malformed_request_lines_are_rejected(string line, HttpError error) =>
        Assert.Equal(error, Request(line + "\r\n\r\n").Error);

    [Fact]
    public void Bare_lf_is_rejected() => AssertError(Request("GET / HTTP/1.1\nHost: a\n\n"), HttpError.InvalidLineEnding, 400);

    [Fact]
    public void Unsupported_version_maps_to_505() => Assert.Equal(505, Request("GET / HTTP/2.0\r\n\r\n").Error.StatusCode());

    [Fact]
    public void Accepted_request_forms_parse()
    {
        Assert.Equal("complete", Request("OPTIONS * HTTP/1.1\r\n\r\n").Outcome);
        Assert.Equal("complete", Request("GET http://example.com/x?y HTTP/1.1\r\n\r\n").Outcome);
        Transcript connect = Request("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\ntunnel");
        Assert.Equal("upgrade", connect.Outcome);
        Assert.Equal("tunnel", connect.UpgradeData);
    }

    // ---- chunked ----

    [Fact]
    public void Chunked_with_extensions_and_trailers()
    {
        Transcript t = Request("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" +
                               "5;name=value;flag ; q=\"a \\\"b\\\"\"\r\nhello\r\n6\r\n world\r\n0;last\r\nX-Checksum: abc\r\nX-Two: 2\r\n\r\n");
        Assert.Equal("complete", t.Outcome);
        Assert.Equal("hello world", t.Messages[0].Body);
        Assert.Equal(["X-Checksum: abc", "X-Two: 2"], t.Messages[0].Trailers);
    }

    [Theory]
    [InlineData("5\r\nhelloX\r\n0\r\n\r\n", HttpError.InvalidChunk)]
    [InlineData("x\r\n", HttpError.InvalidChunkSize)]
    [InlineData("5 \r\nhello\r\n", HttpError.InvalidChunkSize)]
    [InlineData("5;\r\nhello\r\n", HttpError.InvalidChunkSize)]
    [InlineData("5;a=\"open\r\nhello\r\n", HttpError.InvalidChunkSize)]
    [InlineData("5\nhello\r\n", HttpError.InvalidChunkSize)]
    [InlineData("1000000000000000\r\n", HttpError.ChunkTooLarge)]
    public void Malformed_chunks_are_rejected(string body, HttpError error) =>
        Assert.Equal(error, Request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + body).Error);

    [Fact]
    public void Body_pieces_arrive_without_the_whole_body()
    {
        var reader = new HttpMessageReader(isRequest: true);
        byte[] head = "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"u8.ToArray();
        Assert.Equal(HttpReadResult.Head, reader.Read(head, false, out int consumed));
        Assert.Equal(HttpReadResult.Body, reader.Read(head.AsMemory(consumed), false, out int used));
        Assert.Equal("abc", Encoding.ASCII.GetString(reader.Body.Span));
        Assert.Equal(3, used);
        Assert.Equal(HttpReadResult.NeedMoreData, reader.Read(ReadOnlyMemory<byte>.Empty, false, out _));
        Assert.Equal(HttpReadResult.Error, reader.Read(ReadOnlyMemory<byte>.Empty, true, out _));
        Assert.Equal(HttpError.IncompleteMessage, reader.Error);
    }

    // ---- pipelining and keep-alive ----

    [Fact]
    public void Pipelined_requests_are_read_one_after_another()
    {
        Transcript t = Request("GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi" +
                               "PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\nGET /d HTTP/1.0\r\n\r\n");
        Assert.Equal("complete", t.Outcome);
        Assert.Equal(["/a", "/b", "/c", "/d"], t.Messages.Select(m => m.Url));
        Assert.Equal(["", "hi", "x", ""], t.Messages.Select(m => m.Body));
        Assert.Equal([true, true, true, false], t.Messages.Select(m => m.KeepAlive));
    }

    [Theory]
    [InlineData("HTTP/1.1", "", true)]
    [InlineData("HTTP/1.1", "Connection: close\r\n", false)]
    [InlineData("HTTP/1.1", "Connection: keep-alive, Close\r\n", false)]
    [InlineData("HTTP/1.0", "", false)]
    [InlineData("HTTP/1.0", "Connection: Keep-Alive\r\n", true)]
    public void Keep_alive_follows_version_and_connection(string version, string fields, bool keepAlive) =>
        Assert.Equal(keepAlive, Request($"GET / {version}\r\n{fields}\r\n").Messages[0].KeepAlive);

    [Fact]
    public void Head_exposes_path_query_expect_and_upgrade()
    {
        var reader = new HttpMessageReader(isRequest: true);
        byte[] raw = "GET /chat?room=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nExpect: 100-continue\r\n\r\n"u8.ToArray();
        Assert.Equal(HttpReadResult.Head, reader.Read(raw, false, out _));
        HttpHead head = reader.Head;
        Assert.Equal("/chat", Encoding.ASCII.GetString(head.Path));
        Assert.Equal("room=1", Encoding.ASCII.GetString(head.Query));
        Assert.True(head.ExpectContinue);
        Assert.True(head.IsUpgrade);
        Assert.Equal("websocket", Encoding.ASCII.GetString(head.UpgradeProtocol));
        Assert.True(head.TryGetHeader("host"u8, out ReadOnlySpan<byte> host));
        Assert.Equal("x", Encoding.ASCII.GetString(host));
        Assert.Equal("Upgrade", head.Headers.GetString("CONNECTION"));
    }

    // ---- responses ----

    [Fact]
    public void Head_response_has_no_body_even_with_content_length()
    {
        var reader = new HttpMessageReader(isRequest: false);
        reader.SetRequestMethod("HEAD"u8);
        byte[] raw = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"u8.ToArray();
        Assert.Equal(HttpReadResult.Head, reader.Read(raw, false, out int consumed));
        Assert.Equal(HttpFraming.None, reader.Head.Framing);
        Assert.Equal(100, reader.Head.ContentLength);
        Assert.Equal(HttpReadResult.MessageEnd, reader.Read(raw.AsMemory(consumed), false, out _));
    }

    [Theory]
    [InlineData(204)]
    [InlineData(304)]
    public void Status_204_and_304_have_no_body(int status)
    {
        Transcript t = ReaderDriver.Whole(false, $"HTTP/1.1 {status} X\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na");
        Assert.Equal("complete", t.Outcome);
        Assert.Equal([status, 200], t.Messages.Select(m => m.Status));
    }

    [Fact]
    public void Interim_responses_precede_the_final_one()
    {
        var reader = new HttpMessageReader(isRequest: false);
        byte[] raw = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"u8.ToArray();
        int offset = 0;
        var events = new List<string>();
        while (true)
        {
            HttpReadResult r = reader.Read(raw.AsMemory(offset), false, out int consumed);
            if (r == HttpReadResult.NeedMoreData) break;
            events.Add(r == HttpReadResult.Body ? "Body" : r + (r is HttpReadResult.Head or HttpReadResult.Interim ? reader.Head.StatusCode.ToString() : ""));
            offset += consumed;
        }
        Assert.Equal(["Interim100", "Interim103", "Head200", "Body", "MessageEnd"], events);
    }

    [Fact]
    public void Until_close_response_ends_at_end_of_stream()
    {
        Transcript open = ReaderDriver.Whole(false, "HTTP/1.1 200 OK\r\n\r\nsome body");
        Assert.Equal("incomplete", open.Outcome);
        Transcript closed = ReaderDriver.Whole(false, "HTTP/1.1 200 OK\r\n\r\nsome body", endOfStream: true);
        Assert.Equal("complete", closed.Outcome);
        Assert.Equal("some body", closed.Messages[0].Body);
        Assert.False(closed.Messages[0].KeepAlive);
    }

    [Fact]
    public void Response_with_unknown_coding_is_read_until_close()
    {
        Transcript t = ReaderDriver.Whole(false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz", endOfStream: true);
        Assert.Equal("complete", t.Outcome);
        Assert.Equal("zz", t.Messages[0].Body);
    }

    [Fact]
    public void Switching_protocols_response_stops_parsing()
    {
        Transcript t = ReaderDriver.Whole(false, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x00");
        Assert.Equal("upgrade", t.Outcome);
        Assert.Equal("\x81\x00", t.UpgradeData);
    }

    [Fact]
    public void Connect_response_opens_a_tunnel()
    {
        var reader = new HttpMessageReader(isRequest: false);
        reader.SetRequestMethod("CONNECT"u8);
        byte[] raw = "HTTP/1.1 200 Connection established\r\n\r\nTLS"u8.ToArray();
        Assert.Equal(HttpReadResult.Head, reader.Read(raw, false, out int consumed));
        Assert.Equal(HttpReadResult.MessageEnd, reader.Read(raw.AsMemory(consumed), false, out _));
        Assert.Equal(HttpReadResult.Upgrade, reader.Read(raw.AsMemory(consumed), false, out int none));
        Assert.Equal(0, none);
    }

    [Fact]
    public void Declined_upgrade_continues_with_the_next_request()
    {
        var reader = new HttpMessageReader(isRequest: true);
        byte[] raw = "GET /ws HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nGET /next HTTP/1.1\r\n\r\n"u8.ToArray();
        Assert.Equal(HttpReadResult.Head, reader.Read(raw, false, out int consumed));
        Assert.Equal(HttpReadResult.MessageEnd, reader.Read(raw.AsMemory(consumed), false, out _));
        Assert.Equal(HttpReadResult.Upgrade, reader.Read(raw.AsMemory(consumed), false, out _));
        reader.ContinueAfterDeclinedUpgrade();
        Assert.Equal(HttpReadResult.Head, reader.Read(raw.AsMemory(consumed), false, out _));
        Assert.Equal("/next", reader.Head.TargetString);
        Assert.Throws<InvalidOperationException>(reader.ContinueAfterDeclinedUpgrade);
    }

    [Fact]
    public void Set_request_method_on_a_request_reader_throws() =>
        Assert.Throws<InvalidOperationException>(() => new HttpMessageReader(isRequest: true).SetRequestMethod("GET"u8));
}
