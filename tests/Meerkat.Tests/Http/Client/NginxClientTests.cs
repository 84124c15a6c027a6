using System.IO.Compression;
using System.Security.Cryptography;
using Meerkat.Http;
using Meerkat.Http.Client;

namespace Meerkat.Tests.Http.Client;

/// <summary>Meerkat's client against nginx, a server nobody here wrote.</summary>
public sealed class NginxClientTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("meerkat-nginx-root-").FullName;
    private readonly byte[] big = RandomNumberGenerator.GetBytes(20 * 1024 * 1024);

    public NginxClientTests()
    {
        File.WriteAllText(Path.Combine(root, "hello.txt"), string.Concat(Enumerable.Repeat("hello nginx\n", 1000)));
        File.WriteAllBytes(Path.Combine(root, "big.bin"), big);
    }

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public async Task Content_length_bodies_and_keep_alive_reuse()
    {
        using var nginx = await Nginx.StartAsync(root);
        await using var client = new MeerkatHttpClient();
        for (int i = 0; i < 100; i++)
            Assert.Equal(12_000, (await client.GetBytesAsync(nginx.Url("/hello.txt"))).Length);
        Assert.Equal(1, client.ConnectionsOpened);
        var missing = await client.GetAsync(nginx.Url("/missing"));
        Assert.Equal(404, missing.StatusCode);
    }

    [Fact]
    public async Task Pipelined_requests_from_16_tasks_over_one_connection_get_their_own_bodies()
    {
        for (int i = 0; i < 16; i++) File.WriteAllText(Path.Combine(root, $"file{i}.txt"), $"file {i} " + new string('x', i * 1000));
        using var nginx = await Nginx.StartAsync(root);
        await using var client = new MeerkatHttpClient(new MeerkatHttpClientOptions { MaxConnectionsPerOrigin = 1, MaxPipelineDepth = 8 });
        await client.GetStringAsync(nginx.Url("/file0.txt"));
        var bodies = await Task.WhenAll(Enumerable.Range(0, 160).Select(i => client.GetStringAsync(nginx.Url($"/file{i % 16}.txt"))));
        for (int i = 0; i < bodies.Length; i++) Assert.Equal($"file {i % 16} " + new string('x', i % 16 * 1000), bodies[i]);
        Assert.Equal(1, client.ConnectionsOpened);
        Assert.True(client.RequestsPipelined > 0, "some requests went behind others");
    }

    [Fact]
    public async Task Chunked_gzip_bodies_arrive_whole()
    {
        using var nginx = await Nginx.StartAsync(root, "gzip on; gzip_types text/plain; gzip_min_length 0;");
        await using var client = new MeerkatHttpClient();
        var request = new HttpClientRequest("GET", nginx.Url("/hello.txt")).AddHeader("Accept-Encoding", "gzip");
        using var response = await client.SendAsync(request);
        Assert.Contains(response.Headers, h => h.Key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) && h.Value == "chunked");
        using var unzip = new GZipStream(response.Content, CompressionMode.Decompress);
        using var text = new StreamReader(unzip);
        Assert.Equal(string.Concat(Enumerable.Repeat("hello nginx\n", 1000)), await text.ReadToEndAsync());
    }

    [Fact]
    public async Task A_partial_download_resumes_with_a_range_and_checks_out()
    {
        using var nginx = await Nginx.StartAsync(root);
        await using var client = new MeerkatHttpClient();
        string target = Path.Combine(root, "download.bin");
        // What an interrupted download leaves behind: the first 5 MiB in the part file.
        const int Partial = 5 * 1024 * 1024;
        File.WriteAllBytes(target + ".part", big.AsSpan(0, Partial).ToArray());
        long partial = Partial;
        DownloadProgress? last = null;
        await client.DownloadAsync(nginx.Url("/big.bin"), target,
            new DownloadOptions { ExpectedSha256 = Convert.ToHexStringLower(SHA256.HashData(big)) }, new SynchronousProgress(p => last = p));
        Assert.Equal(big, File.ReadAllBytes(target));
        Assert.Equal(partial, last!.Value.ResumedFrom);
        Assert.False(File.Exists(target + ".part"));
    }

    private sealed class SynchronousProgress(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }
}
