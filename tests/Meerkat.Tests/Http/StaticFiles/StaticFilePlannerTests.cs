using System.Text;
using Meerkat.Http.StaticFiles;
using Xunit;

namespace Meerkat.Tests.Http.StaticFiles;

public sealed class StaticFilePlannerTests : IDisposable
{
    private static readonly DateTime Stamp = new(2024, 5, 6, 7, 8, 9, 123, DateTimeKind.Utc);
    private readonly TempTree _tree = new();
    private readonly StaticFileOptions _options;

    public StaticFilePlannerTests()
    {
        _tree.File("five.txt", "12345", Stamp);
        _tree.File("app.js", "console.log('hello, world');", Stamp);
        _tree.File("app.js.br", "BR", Stamp);
        _tree.File("app.js.gz", "GZIP!", Stamp);
        _tree.File("data.bin", "xyz", Stamp);
        _tree.File("docs/index.html", "<p>docs</p>", Stamp);
        _options = new StaticFileOptions { Root = _tree.Root };
    }

    public void Dispose() => _tree.Dispose();

    [Fact]
    public void Get_streams_the_whole_file_with_validators()
    {
        StaticFileResponse r = Plan("GET", "/five.txt");
        Assert.Equal(200, r.StatusCode);
        Assert.Equal("OK", r.ReasonPhrase);
        Assert.Equal("text/plain; charset=utf-8", r.GetHeader("Content-Type"));
        Assert.Equal("5", r.GetHeader("Content-Length"));
        Assert.Equal("Mon, 06 May 2024 07:08:09 GMT", r.GetHeader("Last-Modified"));
        Assert.Equal(EntityTag.Create(5, Stamp), r.GetHeader("ETag"));
        Assert.Equal("bytes", r.GetHeader("Accept-Ranges"));
        Assert.Null(r.GetHeader("Vary"));
        Assert.Null(r.GetHeader("Cache-Control"));
        Assert.Equal("12345", Slice(r));
    }

    [Fact]
    public void Head_has_the_get_headers_and_no_body()
    {
        StaticFileResponse get = Plan("GET", "/five.txt");
        StaticFileResponse head = Plan("HEAD", "/five.txt");
        Assert.Equal(200, head.StatusCode);
        Assert.Equal(get.Headers, head.Headers);
        Assert.Null(head.FilePath);
        Assert.True(head.Body.IsEmpty);
    }

    [Fact]
    public void Head_ignores_range()
    {
        StaticFileResponse r = Plan("HEAD", "/five.txt", ("Range", "bytes=0-0"));
        Assert.Equal(200, r.StatusCode);
        Assert.Equal("5", r.GetHeader("Content-Length"));
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("get")]
    [InlineData("OPTIONS")]
    public void Other_methods_are_405_with_allow(string method)
    {
        StaticFileResponse r = Plan(method, "/five.txt");
        Assert.Equal(405, r.StatusCode);
        Assert.Equal("GET, HEAD", r.GetHeader("Allow"));
        Assert.Equal("405 Method Not Allowed\n", Encoding.ASCII.GetString(r.Body.Span));
        Assert.Equal(r.Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), r.GetHeader("Content-Length"));
    }

    [Theory]
    [InlineData("/../etc/passwd", 400)]
    [InlineData("/missing", 404)]
    [InlineData("/docs", 301)]
    [InlineData("/docs/", 200)]
    public void Path_outcomes_map_to_statuses(string target, int status)
    {
        Assert.Equal(status, Plan("GET", target).StatusCode);
    }

    [Fact]
    public void Redirect_carries_location_and_small_body()
    {
        StaticFileResponse r = Plan("GET", "/docs?q=1");
        Assert.Equal("/docs/?q=1", r.GetHeader("Location"));
        Assert.False(r.Body.IsEmpty);
    }

    [Fact]
    public void Listing_is_an_in_memory_body()
    {
        _options.EnableDirectoryListing = true;
        _tree.Dir("empty");
        StaticFileResponse r = Plan("GET", "/empty/");
        Assert.Equal(200, r.StatusCode);
        Assert.Null(r.FilePath);
        Assert.Equal("text/html; charset=utf-8", r.GetHeader("Content-Type"));
        Assert.Equal(r.Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), r.GetHeader("Content-Length"));
        Assert.True(Plan("HEAD", "/empty/").Body.IsEmpty);
    }

    [Theory]
    [InlineData("bytes=0-0", 206, "1", "bytes 0-0/5")]
    [InlineData("bytes=-1", 206, "5", "bytes 4-4/5")]
    [InlineData("bytes=1-", 206, "2345", "bytes 1-4/5")]
    [InlineData("bytes=1-100", 206, "2345", "bytes 1-4/5")]
    [InlineData("bytes=5-", 416, null, "bytes */5")]
    [InlineData("bytes=-0", 416, null, "bytes */5")]
    [InlineData("bytes=10-5", 200, "12345", null)]
    [InlineData("bytes=0-0,2-2", 200, "12345", null)]
    [InlineData("lines=0-1", 200, "12345", null)]
    [InlineData("bytes=99999999999999999999999-", 416, null, "bytes */5")]
    public void Range_matrix(string range, int status, string? body, string? contentRange)
    {
        StaticFileResponse r = Plan("GET", "/five.txt", ("Range", range));
        Assert.Equal(status, r.StatusCode);
        Assert.Equal(contentRange, r.GetHeader("Content-Range"));
        if (body is not null)
        {
            Assert.Equal(body, Slice(r));
            Assert.Equal(body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), r.GetHeader("Content-Length"));
        }
        else
        {
            Assert.Null(r.FilePath);
        }
    }

    [Fact]
    public void If_range_mismatch_sends_the_whole_file()
    {
        StaticFileResponse r = Plan("GET", "/five.txt", ("Range", "bytes=0-0"), ("If-Range", "\"stale\""));
        Assert.Equal(200, r.StatusCode);
        Assert.Equal("12345", Slice(r));
    }

    [Fact]
    public void If_range_match_by_tag_or_date_honours_range()
    {
        string tag = Plan("GET", "/five.txt").GetHeader("ETag")!;
        Assert.Equal(206, Plan("GET", "/five.txt", ("Range", "bytes=0-0"), ("If-Range", tag)).StatusCode);
        Assert.Equal(206, Plan("GET", "/five.txt", ("Range", "bytes=0-0"), ("If-Range", "Mon, 06 May 2024 07:08:09 GMT")).StatusCode);
    }

    [Fact]
    public void Not_modified_repeats_cache_headers_without_body()
    {
        _options.CacheControl = "public, max-age=60";
        string tag = Plan("GET", "/five.txt").GetHeader("ETag")!;
        StaticFileResponse r = Plan("GET", "/five.txt", ("If-None-Match", "W/" + tag));
        Assert.Equal(304, r.StatusCode);
        Assert.Equal(tag, r.GetHeader("ETag"));
        Assert.Equal("public, max-age=60", r.GetHeader("Cache-Control"));
        Assert.Null(r.GetHeader("Content-Length"));
        Assert.Null(r.FilePath);
        Assert.True(r.Body.IsEmpty);
    }

    [Fact]
    public void Conditionals_come_before_range()
    {
        Assert.Equal(304, Plan("GET", "/five.txt", ("If-Modified-Since", "Mon, 06 May 2024 07:08:09 GMT"), ("Range", "bytes=0-0")).StatusCode);
        Assert.Equal(412, Plan("GET", "/five.txt", ("If-Match", "\"x\""), ("Range", "bytes=9-")).StatusCode);
    }

    [Theory]
    [InlineData("br, gzip", "br", "BR")]
    [InlineData("gzip", "gzip", "GZIP!")]
    [InlineData("gzip;q=1, br;q=0.5", "gzip", "GZIP!")]
    [InlineData("br;q=0, gzip;q=0", null, "console.log('hello, world');")]
    [InlineData(null, null, "console.log('hello, world');")]
    [InlineData("identity", null, "console.log('hello, world');")]
    public void Precompressed_variants_follow_accept_encoding(string? acceptEncoding, string? coding, string body)
    {
        StaticFileResponse r = acceptEncoding is null ? Plan("GET", "/app.js") : Plan("GET", "/app.js", ("Accept-Encoding", acceptEncoding));
        Assert.Equal(200, r.StatusCode);
        Assert.Equal(coding, r.GetHeader("Content-Encoding"));
        Assert.Equal("Accept-Encoding", r.GetHeader("Vary"));
        Assert.Equal("text/javascript; charset=utf-8", r.GetHeader("Content-Type"));
        Assert.Equal(body, Slice(r));
        Assert.Equal(body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), r.GetHeader("Content-Length"));
    }

    [Fact]
    public void Variants_have_their_own_etags_and_ranges_apply_to_variant_bytes()
    {
        StaticFileResponse identity = Plan("GET", "/app.js");
        StaticFileResponse br = Plan("GET", "/app.js", ("Accept-Encoding", "br"));
        StaticFileResponse gz = Plan("GET", "/app.js", ("Accept-Encoding", "gzip"));
        Assert.Equal(3, new[] { identity.GetHeader("ETag"), br.GetHeader("ETag"), gz.GetHeader("ETag") }.Distinct().Count());

        StaticFileResponse partial = Plan("GET", "/app.js", ("Accept-Encoding", "gzip"), ("Range", "bytes=1-2"));
        Assert.Equal(206, partial.StatusCode);
        Assert.Equal("bytes 1-2/5", partial.GetHeader("Content-Range"));
        Assert.Equal("ZI", Slice(partial));

        Assert.Equal(304, Plan("GET", "/app.js", ("Accept-Encoding", "br"), ("If-None-Match", br.GetHeader("ETag")!)).StatusCode);
        Assert.Equal(200, Plan("GET", "/app.js", ("Accept-Encoding", "gzip"), ("If-None-Match", br.GetHeader("ETag")!)).StatusCode);
    }

    [Fact]
    public void Precompressed_can_be_disabled_and_outside_variants_are_ignored()
    {
        _options.ServePrecompressed = false;
        StaticFileResponse r = Plan("GET", "/app.js", ("Accept-Encoding", "br"));
        Assert.Null(r.GetHeader("Content-Encoding"));
        Assert.Null(r.GetHeader("Vary"));

        _options.ServePrecompressed = true;
        File.WriteAllText(Path.Combine(_tree.Outside, "secret.br"), "secret");
        File.CreateSymbolicLink(Path.Combine(_tree.Root, "data.bin.br"), Path.Combine(_tree.Outside, "secret.br"));
        StaticFileResponse data = Plan("GET", "/data.bin", ("Accept-Encoding", "br"));
        Assert.Null(data.GetHeader("Content-Encoding"));
        Assert.Equal("application/octet-stream", data.GetHeader("Content-Type"));
    }

    [Fact]
    public void Mime_table_is_extensible()
    {
        var map = new MimeTypeMap();
        Assert.Equal("text/html; charset=utf-8", map.GetContentType("INDEX.HTML"));
        Assert.Equal("image/avif", map.GetContentType("a.b.avif"));
        Assert.Equal("application/wasm", map.GetContentType("m.wasm"));
        Assert.Equal(MimeTypeMap.DefaultContentType, map.GetContentType("noext"));
        map.Set(".yaml", "application/yaml");
        map.Set("bin", "application/x-custom");
        Assert.Equal("application/yaml", map.GetContentType("c.yaml"));
        _options.MimeTypes = map;
        Assert.Equal("application/x-custom", Plan("GET", "/data.bin").GetHeader("Content-Type"));
        Assert.Throws<ArgumentException>(() => map.Set(".", "x/y"));
    }

    private StaticFileResponse Plan(string method, string target, params (string Name, string Value)[] headers) =>
        StaticFilePlanner.Plan(_options, method, target, name =>
            headers.Where(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault());

    private static string Slice(StaticFileResponse r)
    {
        Assert.NotNull(r.FilePath);
        byte[] all = File.ReadAllBytes(r.FilePath);
        return Encoding.UTF8.GetString(all, checked((int)r.FileOffset), checked((int)r.FileLength));
    }
}
