using System.Security.Cryptography;
using Meerkat.Http.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Meerkat.Tests.Http.Client;

/// <summary>DownloadAsync: .part files, resume with Range/If-Range, checksums, progress.</summary>
public sealed class DownloadTests : IDisposable
{
    private const int Size = 3 * 1024 * 1024 + 17;
    private static readonly byte[] Content = Responses.Pattern(0, Size);
    private readonly string directory = Directory.CreateTempSubdirectory("meerkat-download-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    /// <summary>The first full GET of each path dies after a third of the body; later ones succeed.</summary>
    private static Task<Kestrel> StartKestrel() => Kestrel.StartAsync(app =>
    {
        var served = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        async Task Flaky(HttpContext c, bool ranges)
        {
            bool first = served.AddOrUpdate(c.Request.Path, 1, (_, n) => n + 1) == 1;
            if (first)
            {
                c.Response.ContentLength = Size;
                c.Response.Headers.ETag = "\"v1\"";
                await c.Response.Body.WriteAsync(Content.AsMemory(0, Size / 3));
                await c.Response.Body.FlushAsync();
                c.Abort();
                return;
            }
            if (ranges) await Results.Bytes(Content, "application/octet-stream", enableRangeProcessing: true, entityTag: new EntityTagHeaderValue("\"v1\"")).ExecuteAsync(c);
            else { c.Response.ContentLength = Size; await c.Response.Body.WriteAsync(Content); }
        }
        app.MapGet("/ranges", (HttpContext c) => Flaky(c, ranges: true));
        app.MapGet("/no-ranges", (HttpContext c) => Flaky(c, ranges: false));
        app.MapGet("/whole", (HttpContext c) => Results.Bytes(Content, "application/octet-stream", enableRangeProcessing: true).ExecuteAsync(c));
        app.MapGet("/missing", (HttpContext c) => { c.Response.StatusCode = 404; return Task.CompletedTask; });
    });

    private sealed class Recorder : IProgress<DownloadProgress>
    {
        public readonly List<DownloadProgress> Reports = [];
        public void Report(DownloadProgress value) { lock (Reports) Reports.Add(value); }
    }

    [Theory]
    [InlineData("/ranges", true)]
    [InlineData("/no-ranges", false)]
    public async Task InterruptedDownloadResumes(string path, bool resumes)
    {
        await using var server = await StartKestrel();
        await using var client = MeerkatHttpClientTests.NewClient();
        string file = Path.Combine(directory, "file.bin");
        await Assert.ThrowsAsync<HttpClientException>(() => client.DownloadAsync(server.Url + path, file));
        Assert.False(File.Exists(file));
        long partial = new FileInfo(file + ".part").Length;
        Assert.InRange(partial, 1, Size - 1);
        var progress = new Recorder();
        var result = await client.DownloadAsync(server.Url + path, file, progress: progress);
        Assert.Equal(Content, File.ReadAllBytes(file));
        Assert.False(File.Exists(file + ".part"));
        Assert.Equal(resumes ? partial : 0, result.ResumedFrom);
        Assert.Equal(Size, progress.Reports[^1].BytesReceived);
        Assert.Equal(Size, progress.Reports[^1].TotalBytes);
        Assert.True(progress.Reports.Zip(progress.Reports.Skip(1)).All(p => p.First.BytesReceived <= p.Second.BytesReceived));
    }

    [Fact]
    public async Task ChecksumIsVerified()
    {
        await using var server = await StartKestrel();
        await using var client = MeerkatHttpClientTests.NewClient();
        string file = Path.Combine(directory, "sum.bin");
        string sha = Convert.ToHexStringLower(SHA256.HashData(Content));
        var ok = await client.DownloadAsync(server.Url + "/whole", file, new DownloadOptions { ExpectedSha256 = sha });
        Assert.Equal(sha, ok.Sha256);
        File.Delete(file);
        var error = await Assert.ThrowsAsync<HttpClientException>(() => client.DownloadAsync(server.Url + "/whole", file, new DownloadOptions { ExpectedSha256 = new string('0', 64) }));
        Assert.Contains("SHA-256", error.Message);
        Assert.False(File.Exists(file) || File.Exists(file + ".part"));
    }

    [Fact]
    public async Task CompletePartIsFinishedFromA416AndErrorsCarryTheStatus()
    {
        await using var server = await StartKestrel();
        await using var client = MeerkatHttpClientTests.NewClient();
        string file = Path.Combine(directory, "done.bin");
        File.WriteAllBytes(file + ".part", Content);
        var result = await client.DownloadAsync(server.Url + "/whole", file);
        Assert.Equal(Size, result.Length);
        Assert.Equal(Content, File.ReadAllBytes(file));
        var error = await Assert.ThrowsAsync<HttpClientException>(() => client.DownloadAsync(server.Url + "/missing", file + ".2"));
        Assert.Equal(404, error.StatusCode);
    }
}
