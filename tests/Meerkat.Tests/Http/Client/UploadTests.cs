using System.Net.Sockets;
using System.Security.Cryptography;
using Meerkat.Http.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Meerkat.Tests.Http.Client;

/// <summary>Request bodies streamed from <see cref="HttpClientRequest.ContentStream"/>.</summary>
public sealed class UploadTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    /// <summary>Generates <see cref="Responses.Pattern"/> bytes on the fly (no memory held), records how far
    /// it was read, and can fail or stop early. Seekable only when asked.</summary>
    private sealed class PatternStream(long length, bool seekable = false, long failAt = -1) : Stream
    {
        private long position;

        public long FurthestRead { get; private set; }
        public int Reads { get; private set; }
        public Func<long>? Consumed { get; init; }
        public long MostAhead { get; private set; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (failAt >= 0 && position >= failAt) throw new IOException("the disk went away");
            int n = (int)Math.Min(count, length - position);
            Responses.Pattern(position, n).CopyTo(buffer, offset);
            position += n;
            Reads++;
            FurthestRead = Math.Max(FurthestRead, position);
            if (Consumed is not null) MostAhead = Math.Max(MostAhead, position - Consumed());
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => seekable;
        public override bool CanWrite => false;
        public override long Length => seekable ? length : throw new NotSupportedException();
        public override long Position
        {
            get => seekable ? position : throw new NotSupportedException();
            set => position = seekable ? value : throw new NotSupportedException();
        }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static string Sha(long length) => Convert.ToHexStringLower(SHA256.HashData(Responses.Pattern(0, (int)length)));

    private static Task<Kestrel> StartKestrel(Action<long>? onBytes = null) => Kestrel.StartAsync(app =>
    {
        app.MapMethods("/hash", ["POST", "PUT"], async (HttpContext c) =>
        {
            c.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>()!.MaxRequestBodySize = null;
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[16 * 1024];
            long total = 0;
            for (int n; (n = await c.Request.Body.ReadAsync(buffer)) > 0;)
            {
                hash.AppendData(buffer, 0, n);
                total += n;
                onBytes?.Invoke(n);
                // A slow reader at first: the client must wait for room rather than buffer ahead.
                if (onBytes is not null && total % (1024 * 1024) < n) await Task.Delay(2);
            }
            await c.Response.WriteAsync($"{total} {Convert.ToHexStringLower(hash.GetHashAndReset())} {c.Request.Headers.ContentLength?.ToString() ?? "chunked"}");
        });
        app.MapPost("/redirect", (HttpContext c) => { c.Response.StatusCode = 307; c.Response.Headers.Location = "/hash"; return Task.CompletedTask; });
    });

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_stream_is_sent_whole_with_Content_Length_or_chunked(bool withLength)
    {
        const long Size = 3 * 1024 * 1024 + 17;
        await using var server = await StartKestrel();
        await using var client = MeerkatHttpClientTests.NewClient();
        var stream = new PatternStream(Size);
        var request = new HttpClientRequest("POST", server.Url + "/hash") { ContentStream = stream, ContentStreamLength = withLength ? Size : null };
        using var response = await client.SendAsync(request).WaitAsync(Deadline);
        Assert.Equal($"{Size} {Sha(Size)} {(withLength ? Size.ToString() : "chunked")}", await response.ReadAsStringAsync());
        Assert.True(stream.Reads >= Size / RequestUpload.ChunkSize, "read in chunks");
    }

    [Fact]
    public async Task A_large_upload_to_a_slow_server_reads_the_stream_only_as_fast_as_it_is_sent()
    {
        const long Size = 128L * 1024 * 1024;
        long received = 0;
        await using var server = await StartKestrel(n => Interlocked.Add(ref received, n));
        await using var client = MeerkatHttpClientTests.NewClient();
        var stream = new PatternStream(Size) { Consumed = () => Interlocked.Read(ref received) };
        var request = new HttpClientRequest("POST", server.Url + "/hash") { ContentStream = stream, ContentStreamLength = Size };
        using var response = await client.SendAsync(request).WaitAsync(Deadline);
        Assert.StartsWith($"{Size} ", await response.ReadAsStringAsync());
        // Ahead of the server by at most the send buffer's high-water mark (1 MiB), a chunk and
        // what the kernel buffers on loopback: far less than the 64 MiB the send buffer could hold.
        Assert.True(stream.MostAhead < 24 * 1024 * 1024, $"the stream was read {stream.MostAhead} bytes ahead of the server");
    }

    [Theory]
    [InlineData(1000, "ended before")]
    [InlineData(3000, "longer than")]
    public async Task A_stream_whose_length_differs_from_ContentStreamLength_fails_the_request(long actual, string message)
    {
        await using var server = await StartKestrel();
        await using var client = MeerkatHttpClientTests.NewClient(o => o.MaxRetries = 3);
        var request = new HttpClientRequest("POST", server.Url + "/hash") { ContentStream = new PatternStream(actual), ContentStreamLength = 2000 };
        var ex = await Assert.ThrowsAsync<HttpClientException>(() => client.SendAsync(request).WaitAsync(Deadline));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
        Assert.Contains("ContentStreamLength", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stream_that_fails_fails_the_request_once_without_retries()
    {
        await using var server = await StartKestrel();
        await using var client = MeerkatHttpClientTests.NewClient(o => o.MaxRetries = 3);
        var stream = new PatternStream(1024 * 1024, seekable: true, failAt: 200_000);
        var request = new HttpClientRequest("PUT", server.Url + "/hash") { ContentStream = stream, ContentStreamLength = 1024 * 1024 };
        var ex = await Assert.ThrowsAsync<HttpClientException>(async () =>
        {
            using var response = await client.SendAsync(request).WaitAsync(Deadline);
            Assert.Fail($"answered {response.StatusCode}: {await response.ReadAsStringAsync()}");
        });
        Assert.Contains("reading the request body stream failed: the disk went away", ex.Message, StringComparison.Ordinal);
        Assert.IsType<IOException>(ex.InnerException);
        Assert.Equal(1, client.ConnectionsOpened);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_307_resends_a_seekable_stream_from_its_start_and_returns_the_redirect_otherwise(bool seekable)
    {
        const long Size = 300_000;
        await using var server = await StartKestrel();
        await using var client = MeerkatHttpClientTests.NewClient();
        var request = new HttpClientRequest("POST", server.Url + "/redirect") { ContentStream = new PatternStream(Size, seekable), ContentStreamLength = Size };
        using var response = await client.SendAsync(request).WaitAsync(Deadline);
        if (seekable) Assert.Equal($"{Size} {Sha(Size)} {Size}", await response.ReadAsStringAsync());
        else Assert.Equal(307, response.StatusCode);
    }

    [Fact]
    public async Task A_kept_alive_connection_found_closed_resends_a_seekable_stream_on_a_fresh_one()
    {
        const int Size = 200_000;
        var bodies = new List<byte[]>();
        using var server = new RawServer(async (socket, index) =>
        {
            await RawServer.ReadHeadAsync(socket);
            if (index == 0)
            {
                await RawServer.SendAsync(socket, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                await RawServer.ReadHeadAsync(socket); // the upload's head: closed without an answer
                return;
            }
            var body = new byte[Size];
            for (int got = 0; got < Size;) got += await socket.ReceiveAsync(body.AsMemory(got));
            lock (bodies) bodies.Add(body);
            await RawServer.SendAsync(socket, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngot!");
        });
        await using var client = MeerkatHttpClientTests.NewClient();
        Assert.Equal("ok", await client.GetStringAsync(server.Url + "/a"));
        var request = new HttpClientRequest("PUT", server.Url + "/b") { ContentStream = new PatternStream(Size, seekable: true), ContentStreamLength = Size };
        using var response = await client.SendAsync(request).WaitAsync(Deadline);
        Assert.Equal("got!", await response.ReadAsStringAsync());
        lock (bodies) Assert.Equal(Responses.Pattern(0, Size), Assert.Single(bodies));
    }

    [Fact]
    public async Task An_answer_before_the_body_is_sent_stops_the_upload_and_retires_the_connection()
    {
        using var server = new RawServer(async (socket, _) =>
        {
            await RawServer.ReadHeadAsync(socket);
            await RawServer.SendAsync(socket, "HTTP/1.1 413 Content Too Large\r\nContent-Length: 8\r\n\r\ntoo much");
            var sink = new byte[64 * 1024];
            while (await socket.ReceiveAsync(sink) > 0) { } // reads on (without acting on it) until the client closes
        });
        await using var client = MeerkatHttpClientTests.NewClient();
        const long Size = 1L << 40; // a terabyte: only stopping makes this test end
        var stream = new PatternStream(Size);
        var request = new HttpClientRequest("POST", server.Url + "/up") { ContentStream = stream, ContentStreamLength = Size };
        using (var response = await client.SendAsync(request).WaitAsync(Deadline))
        {
            Assert.Equal(413, response.StatusCode);
            Assert.Equal("too much", await response.ReadAsStringAsync());
        }
        Assert.True(stream.FurthestRead < Size);
        using var next = await client.SendAsync(new HttpClientRequest("POST", server.Url + "/up") { Content = "x"u8.ToArray() }).WaitAsync(Deadline);
        Assert.Equal(413, next.StatusCode);
        Assert.Equal(2, client.ConnectionsOpened);
    }

    [Fact]
    public void Content_and_ContentStream_together_are_refused()
    {
        using var client = MeerkatHttpClientTests.NewClient();
        var request = new HttpClientRequest("POST", "http://127.0.0.1:1/") { Content = "x"u8.ToArray(), ContentStream = new MemoryStream() };
        var ex = Assert.Throws<ArgumentException>(() => { _ = client.SendAsync(request); });
        Assert.Contains("not both", ex.Message, StringComparison.Ordinal);
    }
}
