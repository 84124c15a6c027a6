using System.IO.Compression;
using System.Text;
using Meerkat.Http.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Meerkat.Tests.Http.Client;

/// <summary>MeerkatHttpClientOptions.AutomaticDecompression against Kestrel (bodies compressed by
/// .NET's encoders) and nginx's own gzip.</summary>
public sealed class DecompressionTests : IAsyncLifetime
{
    private static readonly string Text = string.Concat(Enumerable.Range(0, 20_000).Select(i => $"line {i}\n"));
    private Kestrel server = null!;
    private readonly List<string> acceptEncodings = [];

    private static byte[] Encode(string coding, byte[] data)
    {
        using var output = new MemoryStream();
        using (Stream encoder = coding switch
        {
            "gzip" => new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true),
            "br" => new BrotliStream(output, CompressionLevel.Fastest, leaveOpen: true),
            "zlib" => new ZLibStream(output, CompressionLevel.Fastest, leaveOpen: true),
            _ => new DeflateStream(output, CompressionLevel.Fastest, leaveOpen: true),
        })
            encoder.Write(data);
        return output.ToArray();
    }

    public async ValueTask InitializeAsync() => server = await Kestrel.StartAsync(app =>
    {
        // /text/{coding}: the text, encoded as named (zlib and raw both go out as "deflate").
        app.MapMethods("/text/{coding}", ["GET", "HEAD"], async (HttpContext c, string coding) =>
        {
            lock (acceptEncodings) acceptEncodings.Add(c.Request.Headers.AcceptEncoding.ToString());
            var body = Encode(coding, Encoding.UTF8.GetBytes(Text));
            c.Response.Headers.ContentEncoding = coding is "zlib" or "raw" ? "deflate" : coding;
            c.Response.ContentLength = body.Length;
            if (!HttpMethods.IsHead(c.Request.Method)) await c.Response.Body.WriteAsync(body);
        });
        app.MapGet("/corrupt", async (HttpContext c) =>
        {
            c.Response.Headers.ContentEncoding = "gzip";
            var body = Encode("gzip", Encoding.UTF8.GetBytes(Text));
            body[body.Length / 2] ^= 0xFF;
            body[body.Length / 2 + 1] ^= 0xFF;
            await c.Response.Body.WriteAsync(body);
        });
        app.MapGet("/file", async (HttpContext c) =>
        {
            lock (acceptEncodings) acceptEncodings.Add(c.Request.Headers.AcceptEncoding.ToString());
            bool gzip = c.Request.Headers.AcceptEncoding.ToString().Contains("gzip", StringComparison.Ordinal);
            var body = Encoding.UTF8.GetBytes(Text);
            if (gzip)
            {
                body = Encode("gzip", body);
                c.Response.Headers.ContentEncoding = "gzip";
            }
            await c.Response.Body.WriteAsync(body);
        });
    });

    public async ValueTask DisposeAsync() => await server.DisposeAsync();

    private static MeerkatHttpClient NewClient(bool decompress = true) => MeerkatHttpClientTests.NewClient(o => o.AutomaticDecompression = decompress);

    [Theory]
    [InlineData("gzip", "gzip")]
    [InlineData("br", "br")]
    [InlineData("zlib", "deflate")]
    [InlineData("raw", "deflate")]
    public async Task Each_coding_is_decoded_and_asked_for(string coding, string contentEncoding)
    {
        await using var client = NewClient();
        using var response = await client.GetAsync($"{server.Url}/text/{coding}");
        Assert.Equal(contentEncoding, response.DecodedContentEncoding);
        Assert.Equal(-1, response.ContentLength);
        Assert.Equal(contentEncoding, response.GetHeader("Content-Encoding"));
        Assert.Equal(Text, await response.ReadAsStringAsync());
        lock (acceptEncodings) Assert.Equal(["gzip, deflate, br"], acceptEncodings);
    }

    [Fact]
    public async Task Off_by_default_bodies_arrive_as_sent()
    {
        await using var client = NewClient(decompress: false);
        using var response = await client.GetAsync($"{server.Url}/text/gzip");
        Assert.Null(response.DecodedContentEncoding);
        var raw = await response.ReadAsBytesAsync();
        Assert.Equal(raw.Length, response.ContentLength);
        using var gunzip = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
        Assert.Equal(Text, new StreamReader(gunzip).ReadToEnd());
        lock (acceptEncodings) Assert.Equal([""], acceptEncodings);
    }

    [Fact]
    public async Task A_request_with_its_own_Accept_Encoding_keeps_it()
    {
        await using var client = NewClient();
        using var response = await client.SendAsync(new HttpClientRequest("GET", $"{server.Url}/text/br").AddHeader("Accept-Encoding", "br"));
        Assert.Equal(Text, await response.ReadAsStringAsync());
        lock (acceptEncodings) Assert.Equal(["br"], acceptEncodings);
    }

    [Fact]
    public async Task A_HEAD_answer_has_no_body_to_decode()
    {
        await using var client = NewClient();
        using var response = await client.SendAsync(new HttpClientRequest("HEAD", $"{server.Url}/text/gzip"));
        Assert.Null(response.DecodedContentEncoding);
        Assert.Empty(await response.ReadAsBytesAsync());
    }

    [Fact]
    public async Task Corrupt_data_fails_the_read_naming_the_coding()
    {
        await using var client = NewClient();
        using var response = await client.GetAsync($"{server.Url}/corrupt");
        var ex = await Assert.ThrowsAsync<HttpClientException>(() => response.ReadAsStringAsync());
        Assert.StartsWith("the response body is not valid gzip data", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Downloads_ask_for_the_files_own_bytes()
    {
        await using var client = NewClient();
        string path = Path.Combine(Path.GetTempPath(), $"meerkat-decompress-{Guid.NewGuid():N}.txt");
        try
        {
            await client.DownloadAsync($"{server.Url}/file", path);
            Assert.Equal(Text, File.ReadAllText(path));
            lock (acceptEncodings) Assert.Equal(["identity"], acceptEncodings);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Nginx_gzip_is_decoded()
    {
        string root = Directory.CreateTempSubdirectory("meerkat-nginx-gzip-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(root, "text.txt"), Text);
            using var nginx = await Nginx.StartAsync(root, "gzip on; gzip_types text/plain; gzip_min_length 0;");
            await using var client = NewClient();
            using var response = await client.GetAsync(nginx.Url("/text.txt"));
            Assert.Equal("gzip", response.DecodedContentEncoding);
            Assert.Equal(Text, await response.ReadAsStringAsync());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
