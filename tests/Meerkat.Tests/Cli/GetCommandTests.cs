using System.Security.Cryptography;
using System.Text;
using Meerkat.Cli;
using Meerkat.Tests.Http.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Meerkat.Tests.Cli;

/// <summary><c>meerkat get</c>, run in-process (stdout and stderr captured) against Kestrel and raw peers.</summary>
public sealed class GetCommandTests : IAsyncLifetime
{
    private static readonly byte[] Big = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 5);
    private readonly string directory = Directory.CreateTempSubdirectory("meerkat-get-").FullName;
    private Kestrel server = null!;
    private readonly List<string> ranges = [];
    private int busy;

    public async ValueTask InitializeAsync() => server = await Kestrel.StartAsync(app =>
    {
        app.MapGet("/hello", () => "hello");
        app.MapGet("/gzipped", async (HttpContext c) =>
        {
            if (!c.Request.Headers.AcceptEncoding.ToString().Contains("gzip", StringComparison.Ordinal)) return;
            c.Response.Headers.ContentEncoding = "gzip";
            await using var gzip = new System.IO.Compression.GZipStream(c.Response.Body, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true);
            await gzip.WriteAsync("hello, compressed world"u8.ToArray());
        });
        app.MapGet("/big", (HttpContext c) =>
        {
            lock (ranges) ranges.Add(c.Request.Headers.Range.ToString());
            return Results.Bytes(Big, "application/octet-stream", enableRangeProcessing: true, entityTag: new Microsoft.Net.Http.Headers.EntityTagHeaderValue("\"v1\"")).ExecuteAsync(c);
        });
        app.MapGet("/missing", (HttpContext c) => { c.Response.StatusCode = 404; return c.Response.WriteAsync("no such thing"); });
        app.MapGet("/moved", (HttpContext c) => { c.Response.StatusCode = 302; c.Response.Headers.Location = "/hello"; return c.Response.WriteAsync("see /hello"); });
        app.MapGet("/loop", (HttpContext c) => { c.Response.StatusCode = 302; c.Response.Headers.Location = "/loop"; return Task.CompletedTask; });
        app.MapGet("/slow", async (HttpContext c) => await Task.Delay(Timeout.Infinite, c.RequestAborted));
        app.MapGet("/busy", (HttpContext c) =>
        {
            if (Interlocked.Increment(ref busy) < 3) { c.Response.StatusCode = 503; c.Response.Headers.RetryAfter = "0"; return Task.CompletedTask; }
            return c.Response.WriteAsync("finally");
        });
        app.MapMethods("/echo", ["PUT", "POST"], async (HttpContext c) =>
        {
            c.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>()!.MaxRequestBodySize = null;
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[64 * 1024];
            long length = 0;
            var text = new StringBuilder();
            for (int n; (n = await c.Request.Body.ReadAsync(buffer)) > 0; length += n)
            {
                hash.AppendData(buffer, 0, n);
                if (length < 100) text.Append(Encoding.UTF8.GetString(buffer, 0, Math.Min(n, 100)));
            }
            await c.Response.WriteAsync($"{c.Request.Method} x-test={c.Request.Headers["X-Test"]} length={c.Request.Headers.ContentLength} " +
                $"bytes={length} sha={Convert.ToHexStringLower(hash.GetHashAndReset())} text={(length <= 100 ? text.ToString() : "")}");
        });
    });

    public async ValueTask DisposeAsync()
    {
        await server.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    private static (int Status, string Stdout, string Stderr) Get(params string[] args)
    {
        using var stdout = new MemoryStream();
        var stderr = new StringWriter();
        int status = GetCommand.Run(args, stdout, stderr);
        return (status, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
    }

    private string Url(string path) => server.Url + path;

    [Fact]
    public void The_body_goes_to_stdout_with_nothing_on_stderr()
    {
        Assert.Equal((ExitCodes.Ok, "hello", ""), Get(Url("/hello")));
    }

    [Fact]
    public void Include_prints_the_response_head_first()
    {
        var (status, stdout, _) = Get(Url("/hello"), "-i");
        Assert.Equal(ExitCodes.Ok, status);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", stdout, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nhello", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Output_writes_the_file_and_leaves_no_part_behind()
    {
        string file = Path.Combine(directory, "big.bin");
        Assert.Equal((ExitCodes.Ok, "", ""), Get(Url("/big"), "-o", file));
        Assert.Equal(Big, File.ReadAllBytes(file));
        Assert.False(File.Exists(file + ".part"));
    }

    [Fact]
    public void Continue_resumes_a_part_with_a_range_and_finishes_the_file()
    {
        string file = Path.Combine(directory, "resumed.bin");
        File.WriteAllBytes(file + ".part", Big.AsSpan(0, 1_000_000).ToArray());
        File.WriteAllText(file + ".part.validator", "\"v1\"");
        Assert.Equal((ExitCodes.Ok, "", ""), Get(Url("/big"), "-o", file, "-C"));
        Assert.Equal(Big, File.ReadAllBytes(file));
        lock (ranges) Assert.Equal(["bytes=1000000-"], ranges);
    }

    [Fact]
    public void Method_headers_and_data_are_sent()
    {
        var (status, stdout, stderr) = Get(Url("/echo"), "-X", "PUT", "-H", "X-Test: yes", "-d", "hello there");
        Assert.Equal((ExitCodes.Ok, ""), (status, stderr));
        Assert.StartsWith("PUT x-test=yes length=11 bytes=11 ", stdout, StringComparison.Ordinal);
        Assert.EndsWith("text=hello there", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Data_from_a_file_is_streamed_with_its_length_and_posts_by_default()
    {
        string file = Path.Combine(directory, "upload.bin");
        File.WriteAllBytes(file, Big);
        var (status, stdout, _) = Get(Url("/echo"), "-d", "@" + file);
        Assert.Equal(ExitCodes.Ok, status);
        Assert.StartsWith($"POST x-test= length={Big.Length} bytes={Big.Length} sha={Convert.ToHexStringLower(SHA256.HashData(Big))} ", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void An_HTTP_error_exits_4_with_one_line_naming_the_status()
    {
        var (status, stdout, stderr) = Get(Url("/missing"));
        Assert.Equal(ExitCodes.HttpError, status);
        Assert.Equal("no such thing", stdout);
        Assert.Contains("404", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd().Split('\n'));
    }

    [Fact]
    public void A_refused_connection_exits_3_with_one_line_naming_the_url()
    {
        using var unused = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        unused.Start();
        string url = $"http://127.0.0.1:{((System.Net.IPEndPoint)unused.LocalEndpoint).Port}/x";
        unused.Stop();
        var (status, stdout, stderr) = Get(url);
        Assert.Equal(ExitCodes.NetworkError, status);
        Assert.Equal("", stdout);
        Assert.Contains(url, stderr, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd().Split('\n'));
    }

    [Fact]
    public void Redirects_are_followed_up_to_the_limit()
    {
        Assert.Equal((ExitCodes.Ok, "hello", ""), Get(Url("/moved")));
        Assert.Equal((ExitCodes.Ok, "see /hello", ""), Get(Url("/moved"), "--max-redirects", "0"));
        var (status, _, stderr) = Get(Url("/loop"), "--max-redirects", "3");
        Assert.Equal(ExitCodes.NetworkError, status);
        Assert.Contains("too many redirects", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Timeout_gives_up_with_exit_3()
    {
        var (status, _, stderr) = Get(Url("/slow"), "--timeout", "0.5");
        Assert.Equal(ExitCodes.NetworkError, status);
        Assert.Contains("total timeout of 0.5 s", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Split(Url("/slow"))[1..]); // the request is named once
    }

    [Fact]
    public void Compressed_writes_the_decoded_body()
    {
        string file = Path.Combine(directory, "decoded.txt");
        var got = Get(Url("/gzipped"), "--compressed", "-o", file);
        Assert.True(got.Status == ExitCodes.Ok, got.Stderr);
        Assert.Equal("hello, compressed world", File.ReadAllText(file));
        var (_, raw, _) = Get(Url("/gzipped"));
        Assert.Equal("", raw); // without --compressed nothing is asked for, and this server sends nothing unasked
    }

    [Fact]
    public void Retries_wait_out_503s()
    {
        Assert.Equal((ExitCodes.Ok, "finally", ""), Get(Url("/busy"), "--retries", "3"));
    }

    [Theory]
    [InlineData(new string[0], "a URL is needed")]
    [InlineData(new[] { "http://x/", "--bogus" }, "unknown option '--bogus'")]
    [InlineData(new[] { "ftp://x/" }, "not an http:// or https:// URL")]
    [InlineData(new[] { "http://x/", "-H", "no colon" }, "-H takes 'Name: value'")]
    [InlineData(new[] { "http://x/", "-C" }, "-C resumes a plain GET into a file")]
    [InlineData(new[] { "http://x/", "-C", "-o", "f", "--compressed" }, "no -X, -d, -i or --compressed")]
    [InlineData(new[] { "http://x/", "-d", "@/nonexistent/file" }, "cannot read -d @/nonexistent/file")]
    [InlineData(new[] { "http://x/", "--timeout", "-1" }, "--timeout needs a positive number")]
    public void Bad_arguments_are_usage_errors_that_say_what_is_wrong(string[] args, string message)
    {
        var ex = Assert.Throws<UsageException>(() => Get(args));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Https_to_a_plain_http_port_says_the_server_did_not_answer_TLS()
    {
        var (status, _, stderr) = Get("https" + Url("/hello")["http".Length..]);
        Assert.Equal(ExitCodes.NetworkError, status);
        Assert.Contains("the server did not answer TLS", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void The_summary_says_what_was_saved_where_and_how_fast()
    {
        Assert.Equal("saved 3.0 MiB to out.bin in 1.50 s (2.0 MiB/s)", GetCommand.Summary(3L << 20, TimeSpan.FromSeconds(1.5), "out.bin"));
    }
}
