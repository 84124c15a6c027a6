using System.Net.Http.Headers;
using System.Text;
using Meerkat.Http.Multipart;
using Xunit;

namespace Meerkat.Tests.Http.Multipart;

public sealed class MultipartReaderTests
{
    private const string Boundary = "XyZ";

    // A body produced by .NET's MultipartFormDataContent, a producer nobody here wrote.
    private static (string ContentType, byte[] Body, byte[] FileBytes) DotNetBody()
    {
        byte[] fileBytes = new byte[3000];
        for (int i = 0; i < fileBytes.Length; i++)
        {
            fileBytes[i] = (byte)(i * 7);
        }
        // Bytes that look like the start of a delimiter, inside the file.
        Encoding.ASCII.GetBytes("\r\n--\r\n-\r\r\n--").CopyTo(fileBytes, 100);
        using var content = new MultipartFormDataContent();
        content.Add(new StringContent("plain value"), "field");
        content.Add(new StringContent("\u00e9t\u00e9 \u2603"), "caf\u00e9");
        content.Add(new StringContent(""), "empty");
        var file = new ByteArrayContent(fileBytes);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Add(file, "upload", "r\u00e9sum\u00e9 (1).bin");
        content.Add(new ByteArrayContent("abc"u8.ToArray()), "ascii", "notes.txt");
        byte[] body = content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken).GetAwaiter().GetResult();
        return (content.Headers.ContentType!.ToString(), body, fileBytes);
    }

    private static void AssertDotNetParts(MultipartCollector result, byte[] fileBytes)
    {
        Assert.Equal(MultipartError.None, result.Error);
        Assert.True(result.Ended);
        Assert.Equal(5, result.Parts.Count);
        Assert.Equal(("field", (string?)null, "plain value"), (result.Parts[0].Name, result.Parts[0].FileName, Encoding.UTF8.GetString(result.Parts[0].Data)));
        Assert.StartsWith("text/plain", result.Parts[0].ContentType, StringComparison.Ordinal);
        Assert.Equal("caf\u00e9", result.Parts[1].Name);
        Assert.Equal("\u00e9t\u00e9 \u2603", Encoding.UTF8.GetString(result.Parts[1].Data));
        Assert.Empty(result.Parts[2].Data);
        Assert.Equal("upload", result.Parts[3].Name);
        Assert.Equal("r\u00e9sum\u00e9 (1).bin", result.Parts[3].FileName);
        Assert.Equal("application/octet-stream", result.Parts[3].ContentType);
        Assert.Equal(fileBytes, result.Parts[3].Data);
        Assert.Equal(("ascii", "notes.txt"), (result.Parts[4].Name, result.Parts[4].FileName));
        Assert.Equal("abc"u8.ToArray(), result.Parts[4].Data);
    }

    private static MultipartReader ReaderFor(string contentType, MultipartReaderOptions? options = null)
    {
        Assert.Equal(MultipartError.None, MultipartReader.TryCreate(contentType, out MultipartReader? reader, options));
        return reader!;
    }

    [Fact]
    public void DotNet_body_fed_whole()
    {
        (string contentType, byte[] body, byte[] fileBytes) = DotNetBody();
        AssertDotNetParts(MultipartCollector.Run(ReaderFor(contentType), MultipartCollector.Whole(body)), fileBytes);
    }

    [Fact]
    public void DotNet_body_fed_byte_by_byte()
    {
        (string contentType, byte[] body, byte[] fileBytes) = DotNetBody();
        AssertDotNetParts(MultipartCollector.Run(ReaderFor(contentType), MultipartCollector.ByteByByte(body)), fileBytes);
    }

    [Fact]
    public void DotNet_body_split_at_every_position()
    {
        (string contentType, byte[] body, byte[] fileBytes) = DotNetBody();
        for (int split = 0; split <= body.Length; split++)
        {
            AssertDotNetParts(MultipartCollector.Run(ReaderFor(contentType), MultipartCollector.SplitAt(body, split)), fileBytes);
        }
    }

    [Fact]
    public void DotNet_body_with_trailing_bytes_ignores_the_epilogue()
    {
        (string contentType, byte[] body, byte[] fileBytes) = DotNetBody();
        byte[] withEpilogue = [.. body, .. "epilogue --garbage\r\n--\r\n"u8];
        AssertDotNetParts(MultipartCollector.Run(ReaderFor(contentType), MultipartCollector.Whole(withEpilogue)), fileBytes);
    }

    [Fact]
    public void Fifty_mebibyte_part_in_64_KiB_pieces_uses_bounded_memory()
    {
        const int PieceSize = 64 * 1024;
        const int Pieces = 50 * 16;
        var reader = new MultipartReader(Boundary);
        byte[] piece = new byte[PieceSize];
        for (int i = 0; i < piece.Length; i++)
        {
            piece[i] = (byte)(i % 251 == 0 ? '\r' : i % 253 == 0 ? '-' : 'a' + (i % 26));
        }
        byte[] head = Encoding.ASCII.GetBytes($"--{Boundary}\r\nContent-Disposition: form-data; name=\"big\"; filename=\"big.bin\"\r\n\r\n");
        byte[] tail = Encoding.ASCII.GetBytes($"\r\n--{Boundary}--\r\n");
        long dataBytes = 0;
        long checksum = 0;
        bool ended = false;
        bool failed = false;

        Feed(head);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Pieces; i++)
        {
            Feed(piece);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Feed(tail);

        Assert.False(failed);
        Assert.True(ended);
        Assert.Equal(MultipartError.None, reader.Complete());
        Assert.Equal((long)PieceSize * Pieces, dataBytes);
        Assert.Equal(Checksum(piece) * Pieces, checksum);
        Assert.True(allocated < 64 * 1024, $"reading 50 MiB allocated {allocated} bytes");

        void Feed(ReadOnlySpan<byte> input)
        {
            while (!input.IsEmpty)
            {
                MultipartEvent e = reader.Read(input, out int consumed);
                input = input[consumed..];
                if (e.Kind == MultipartEventKind.PartData)
                {
                    dataBytes += e.Data.Length;
                    checksum += Checksum(e.Data);
                }
                ended |= e.Kind == MultipartEventKind.End;
                failed |= e.Kind == MultipartEventKind.Error;
            }
        }
    }

    [Fact]
    public void Part_data_is_a_slice_of_the_input()
    {
        var reader = new MultipartReader(Boundary);
        byte[] body = Encoding.ASCII.GetBytes($"--{Boundary}\r\n\r\nhello world\r\n--{Boundary}--");
        ReadOnlySpan<byte> input = body;
        MultipartEvent begin = reader.Read(input, out int consumed);
        Assert.Equal(MultipartEventKind.PartBegin, begin.Kind);
        Assert.Null(begin.Part!.Name);
        Assert.Equal("text/plain", begin.Part.ContentType);
        input = input[consumed..];
        MultipartEvent data = reader.Read(input, out _);
        Assert.Equal(MultipartEventKind.PartData, data.Kind);
        Assert.True(data.Data.Overlaps(body));
        Assert.Equal("hello world"u8.ToArray(), data.Data.ToArray());
    }

    [Theory]
    [InlineData("multipart/form-data; boundary=XyZ", "XyZ")]
    [InlineData("multipart/form-data; boundary=\"XyZ\"", "XyZ")]
    [InlineData("Multipart/Form-Data;BOUNDARY=XyZ;charset=utf-8", "XyZ")]
    [InlineData("multipart/mixed; charset=\"a;boundary=no\"; boundary=\"with space\"", "with space")]
    [InlineData("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW", "----WebKitFormBoundary7MA4YWxkTrZu0gW")]
    public void Boundary_from_content_type(string contentType, string boundary)
    {
        Assert.Equal(MultipartError.None, MultipartBoundary.TryParse(contentType, out string parsed));
        Assert.Equal(boundary, parsed);
    }

    [Theory]
    [InlineData(null, MultipartError.NotMultipart)]
    [InlineData("text/plain; boundary=x", MultipartError.NotMultipart)]
    [InlineData("multipart/form-data", MultipartError.MissingBoundary)]
    [InlineData("multipart/form-data; boundary=", MultipartError.MissingBoundary)]
    [InlineData("multipart/form-data; boundary=\"\"", MultipartError.MissingBoundary)]
    [InlineData("multipart/form-data; boundary=\"ends with space \"", MultipartError.InvalidBoundary)]
    [InlineData("multipart/form-data; boundary=a\u00e9", MultipartError.InvalidBoundary)]
    [InlineData("multipart/form-data; boundary=\"a\rb\"", MultipartError.InvalidBoundary)]
    [InlineData("multipart/form-data; boundary=a*b", MultipartError.InvalidBoundary)]
    [InlineData("multipart/form-data; boundary=12345678901234567890123456789012345678901234567890123456789012345678901", MultipartError.InvalidBoundary)]
    public void Bad_content_types(string? contentType, MultipartError expected)
    {
        Assert.Equal(expected, MultipartReader.TryCreate(contentType, out MultipartReader? reader));
        Assert.Null(reader);
    }

    [Fact]
    public void Invalid_boundary_in_constructor_is_a_caller_error()
    {
        Assert.Throws<ArgumentException>(() => new MultipartReader("bad\r\nboundary"));
    }

    [Theory]
    [InlineData("preamble text\r\n--XyZ\r\n\r\nA\r\n--XyZ--", "A")]
    [InlineData("--XyZ  \t\r\n\r\nA\r\n--XyZ--", "A")]
    [InlineData("--XyZ\r\n\r\n\r\n--XyZ--", "")]
    [InlineData("--XyZ\r\n\r\n--XyZ\r\n\r\n--XyZ--", "")]
    [InlineData("--XyZ\r\n\r\nline\r\n--XyZ not\r\n--XyZ--", null)]
    [InlineData("--XyZ\r\n\r\n\r\n--Xy\r\n-\r\n--XyZ--", "\r\n--Xy\r\n-")]
    [InlineData("--XyZ\r\n\r\n--XyZ--\r\n--XyZ\r\n\r\nignored\r\n--XyZ--", "")]
    public void Framing_edge_cases(string body, string? firstPart)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(body);
        for (int split = 0; split <= bytes.Length; split++)
        {
            MultipartCollector result = MultipartCollector.Run(new MultipartReader(Boundary), MultipartCollector.SplitAt(bytes, split));
            if (firstPart is null)
            {
                Assert.Equal(MultipartError.MalformedDelimiter, result.Error);
                continue;
            }
            Assert.Equal(MultipartError.None, result.Error);
            Assert.True(result.Ended);
            Assert.Equal(firstPart, Encoding.ASCII.GetString(result.Parts[0].Data));
        }
    }

    [Theory]
    [InlineData("", MultipartError.Truncated)]
    [InlineData("--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nda", MultipartError.Truncated)]
    [InlineData("--XyZ\r\nContent-Disposition: form-da", MultipartError.Truncated)]
    [InlineData("--XyZ\r\n\r\nA\r\n--XyZ", MultipartError.Truncated)]
    [InlineData("--XyZ\r\n\r\nA\r\n--XyZ-", MultipartError.Truncated)]
    [InlineData("--XyZ\r\n\r\nA\r\n--XyZ-x", MultipartError.MalformedDelimiter)]
    [InlineData("--XyZ\rx", MultipartError.MalformedDelimiter)]
    [InlineData("--XyZ\r\nno colon here\r\n\r\nA\r\n--XyZ--", MultipartError.MalformedHeader)]
    [InlineData("--XyZ\r\n: empty name\r\n\r\nA\r\n--XyZ--", MultipartError.MalformedHeader)]
    [InlineData("--XyZ\r\nBad Name: x\r\n\r\nA\r\n--XyZ--", MultipartError.MalformedHeader)]
    [InlineData("--XyZ\r\n folded first\r\n\r\nA\r\n--XyZ--", MultipartError.MalformedHeader)]
    public void Malformed_bodies(string body, MultipartError expected)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(body);
        Assert.Equal(expected, MultipartCollector.Run(new MultipartReader(Boundary), MultipartCollector.Whole(bytes)).Error);
        Assert.Equal(expected, MultipartCollector.Run(new MultipartReader(Boundary), MultipartCollector.ByteByByte(bytes)).Error);
    }

    [Fact]
    public void Header_block_over_the_limit_fails()
    {
        var options = new MultipartReaderOptions { MaxPartHeaderBytes = 64 };
        string small = $"--{Boundary}\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nA\r\n--{Boundary}--";
        string large = $"--{Boundary}\r\nContent-Disposition: form-data; name=\"{new string('a', 100)}\"\r\n\r\nA\r\n--{Boundary}--";
        Assert.Equal(MultipartError.None, MultipartCollector.Run(new MultipartReader(Boundary, options), MultipartCollector.Whole(Encoding.ASCII.GetBytes(small))).Error);
        Assert.Equal(MultipartError.HeadersTooLarge, MultipartCollector.Run(new MultipartReader(Boundary, options), MultipartCollector.Whole(Encoding.ASCII.GetBytes(large))).Error);
        Assert.Equal(MultipartError.HeadersTooLarge, MultipartCollector.Run(new MultipartReader(Boundary, options), MultipartCollector.ByteByByte(Encoding.ASCII.GetBytes(large))).Error);
    }

    [Fact]
    public void More_parts_than_the_limit_fail()
    {
        var options = new MultipartReaderOptions { MaxParts = 2 };
        string two = $"--{Boundary}\r\n\r\n1\r\n--{Boundary}\r\n\r\n2\r\n--{Boundary}--";
        string three = $"--{Boundary}\r\n\r\n1\r\n--{Boundary}\r\n\r\n2\r\n--{Boundary}\r\n\r\n3\r\n--{Boundary}--";
        Assert.Equal(MultipartError.None, MultipartCollector.Run(new MultipartReader(Boundary, options), MultipartCollector.Whole(Encoding.ASCII.GetBytes(two))).Error);
        MultipartCollector result = MultipartCollector.Run(new MultipartReader(Boundary, options), MultipartCollector.Whole(Encoding.ASCII.GetBytes(three)));
        Assert.Equal(MultipartError.TooManyParts, result.Error);
        Assert.Equal(2, result.Parts.Count);
    }

    [Fact]
    public void Reader_stays_failed_after_an_error()
    {
        var reader = new MultipartReader(Boundary);
        Assert.Equal(MultipartEventKind.Error, reader.Read("--XyZ!"u8, out _).Kind);
        Assert.Equal(MultipartEventKind.Error, reader.Read("more"u8, out int consumed).Kind);
        Assert.Equal(0, consumed);
        Assert.Equal(MultipartError.MalformedDelimiter, reader.Complete());
    }

    [Theory]
    [InlineData("form-data; name=\"f\"; filename=\"a.txt\"", "f", "a.txt")]
    [InlineData("form-data; name=f; filename=a.txt", "f", "a.txt")]
    [InlineData("form-data; name=\"f\"; filename=\"C:\\dir\\a.txt\"", "f", "C:\\dir\\a.txt")]
    [InlineData("form-data; name=\"f\"; filename=\"q\\\"uote\"", "f", "q\"uote")]
    [InlineData("form-data; name=\"a;b\"; filename=\"x;y\"", "a;b", "x;y")]
    [InlineData("form-data; name=\"f\"; filename=\"fallback\"; filename*=UTF-8''%E2%82%AC%20rates.txt", "f", "\u20ac rates.txt")]
    [InlineData("form-data; filename*=iso-8859-1'en'%A3.txt; name=\"f\"", "f", "\u00a3.txt")]
    [InlineData("form-data; name=\"f\"; filename=\"fallback\"; filename*=UTF-8''%FF", "f", "fallback")]
    [InlineData("form-data; name=\"f\"", "f", null)]
    [InlineData("form-data; name=\"=?utf-8?B?w6k=?=\"", "\u00e9", null)]
    public void Content_disposition_parameters(string disposition, string name, string? fileName)
    {
        byte[] body = Encoding.UTF8.GetBytes($"--{Boundary}\r\nContent-Disposition: {disposition}\r\nContent-Type: image/png\r\n\r\nA\r\n--{Boundary}--");
        MultipartCollector result = MultipartCollector.Run(new MultipartReader(Boundary), MultipartCollector.Whole(body));
        Assert.Equal(MultipartError.None, result.Error);
        Assert.Equal(name, result.Parts[0].Name);
        Assert.Equal(fileName, result.Parts[0].FileName);
        Assert.Equal("image/png", result.Parts[0].ContentType);
    }

    [Fact]
    public void Raw_utf8_file_names_and_folded_headers_are_read()
    {
        byte[] body = Encoding.UTF8.GetBytes(
            $"--{Boundary}\r\nContent-Disposition: form-data;\r\n name=\"f\"; filename=\"\u65e5\u672c.txt\"\r\nX-Extra: 1\r\n\r\nA\r\n--{Boundary}--");
        var reader = new MultipartReader(Boundary);
        MultipartEvent e = reader.Read(body, out _);
        Assert.Equal(MultipartEventKind.PartBegin, e.Kind);
        Assert.Equal("f", e.Part!.Name);
        Assert.Equal("\u65e5\u672c.txt", e.Part.FileName);
        Assert.Equal("form-data", e.Part.DispositionType);
        Assert.Equal("1", e.Part.GetHeader("x-extra"));
        Assert.Equal(0, e.Part.Index);
    }

    private static long Checksum(ReadOnlySpan<byte> data)
    {
        long sum = 0;
        foreach (byte b in data)
        {
            sum += b;
        }
        return sum;
    }
}
