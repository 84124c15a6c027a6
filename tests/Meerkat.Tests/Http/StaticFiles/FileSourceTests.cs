// One test site (Site/, embedded in this assembly) served from three sources: a directory, a
// zip archive and the embedded resources themselves. Every behaviour of the planner must be the
// same whichever source the bytes come from: ranges, validators, precompressed variants,
// redirects, listings, dotfiles, the not-found page and the single-page-application fallback.
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using Meerkat.Http;
using Meerkat.Http.Routing;
using Meerkat.Http.StaticFiles;
using Meerkat.Tests.Core;
using Meerkat.Tests.Http.Routing;

namespace Meerkat.Tests.Http.StaticFiles;

public sealed class SiteFixture : IDisposable
{
    public SiteFixture()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("meerkat-site-").FullName;
        var assembly = typeof(SiteFixture).Assembly;
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("site/", StringComparison.Ordinal)))
        {
            string path = Path.Combine(Directory, name["site/".Length..].Replace('\\', '/'));
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using var resource = assembly.GetManifestResourceStream(name)!;
            using var file = File.Create(path);
            resource.CopyTo(file);
        }
        ZipPath = Path.Combine(Path.GetTempPath(), $"meerkat-site-{Guid.NewGuid():N}.zip");
        using var zip = ZipFile.Open(ZipPath, ZipArchiveMode.Create);
        foreach (var file in System.IO.Directory.GetFiles(Directory, "*", SearchOption.AllDirectories))
        {
            string name = Path.GetRelativePath(Directory, file).Replace('\\', '/');
            zip.CreateEntryFromFile(file, name, name.EndsWith(".txt", StringComparison.Ordinal) ? CompressionLevel.NoCompression : CompressionLevel.Optimal);
        }
        zip.CreateEntry("docs/");
        using (var evil = new StreamWriter(zip.CreateEntry("../evil.txt").Open())) evil.Write("outside");
        using (var absolute = new StreamWriter(zip.CreateEntry("/etc/absolute.txt").Open())) absolute.Write("absolute");
    }

    public string Directory { get; }

    public string ZipPath { get; }

    public byte[] Bytes(string path) => File.ReadAllBytes(Path.Combine(Directory, path));

    public FileSource Source(string kind) => kind switch
    {
        "directory" => FileSource.FromDirectory(Directory),
        "zip" => FileSource.FromZip(ZipPath),
        "embedded" => FileSource.FromEmbeddedResources(typeof(SiteFixture).Assembly, "site/"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public void Dispose()
    {
        System.IO.Directory.Delete(Directory, recursive: true);
        File.Delete(ZipPath);
    }
}

public sealed class FileSourceTests(SiteFixture site) : IClassFixture<SiteFixture>
{
    public static TheoryData<string> Kinds => new("directory", "zip", "embedded");

    private RoutedServer Serve(string kind, Action<StaticFileOptions>? configure = null)
    {
        var options = new StaticFileOptions { Source = site.Source(kind), NotFoundPage = "404.html" };
        configure?.Invoke(options);
        var router = new Router();
        router.MapFallback((c, e, route) => c.ServeStatic(options));
        return new RoutedServer(router);
    }

    private static HttpResponseMessage Get(RoutedServer server, string path, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        foreach (var (name, value) in headers) request.Headers.TryAddWithoutValidation(name, value);
        return server.Send(request);
    }

    private static byte[] Body(RoutedServer server, HttpResponseMessage response) => server.Manager.Until(response.Content.ReadAsByteArrayAsync());

    [Theory, MemberData(nameof(Kinds))]
    public void A_file_comes_with_its_type_length_validators_and_the_vary_of_its_variant(string kind)
    {
        using var server = Serve(kind);
        var response = Get(server, "/app.js");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(site.Bytes("app.js"), Body(server, response));
        Assert.Equal("text/javascript", response.Content.Headers.ContentType!.MediaType);
        Assert.NotNull(response.Headers.ETag);
        Assert.False(response.Headers.ETag!.IsWeak);
        Assert.NotNull(response.Content.Headers.LastModified);
        Assert.Equal(["bytes"], response.Headers.AcceptRanges);
        Assert.Equal(["Accept-Encoding"], response.Headers.Vary);
        Assert.Equal(site.Bytes("index.html"), Body(server, Get(server, "/")));
    }

    [Theory, MemberData(nameof(Kinds))]
    public void A_precompressed_variant_is_chosen_by_accept_encoding_with_its_own_tag(string kind)
    {
        using var server = Serve(kind);
        var identity = Get(server, "/app.js");
        var gzip = Get(server, "/app.js", ("Accept-Encoding", "br;q=0.5, gzip"));
        Assert.Equal(["gzip"], gzip.Content.Headers.ContentEncoding);
        Assert.Equal(site.Bytes("app.js.gz"), Body(server, gzip));
        Assert.NotEqual(identity.Headers.ETag, gzip.Headers.ETag);
        using var unzip = new GZipStream(new MemoryStream(site.Bytes("app.js.gz")), CompressionMode.Decompress);
        var plain = new MemoryStream();
        unzip.CopyTo(plain);
        Assert.Equal(site.Bytes("app.js"), plain.ToArray());
    }

    [Theory, MemberData(nameof(Kinds))]
    public void Validators_answer_304_and_412_and_the_tag_is_stable_across_requests(string kind)
    {
        using var server = Serve(kind);
        var first = Get(server, "/app.js");
        var etag = first.Headers.ETag!.Tag;
        Assert.Equal(etag, Get(server, "/app.js").Headers.ETag!.Tag);
        var notModified = Get(server, "/app.js", ("If-None-Match", etag));
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Equal(etag, notModified.Headers.ETag!.Tag);
        var since = Get(server, "/app.js", ("If-Modified-Since", first.Content.Headers.LastModified!.Value.ToString("R")));
        Assert.Equal(HttpStatusCode.NotModified, since.StatusCode);
        Assert.Equal(HttpStatusCode.PreconditionFailed, Get(server, "/app.js", ("If-Match", "\"something-else\"")).StatusCode);
    }

    [Theory, MemberData(nameof(Kinds))]
    public void Ranges_give_206_slices_416_beyond_the_end_and_the_whole_file_when_if_range_fails(string kind)
    {
        using var server = Serve(kind);
        byte[] all = site.Bytes("app.js");
        var middle = Get(server, "/app.js", ("Range", "bytes=1000-1999"));
        Assert.Equal(HttpStatusCode.PartialContent, middle.StatusCode);
        Assert.Equal($"bytes 1000-1999/{all.Length}", middle.Content.Headers.ContentRange!.ToString());
        Assert.Equal(all[1000..2000], Body(server, middle));

        var suffix = Get(server, "/app.js", ("Range", "bytes=-100"));
        Assert.Equal(all[^100..], Body(server, suffix));
        var open = Get(server, "/app.js", ("Range", "bytes=5000-"));
        Assert.Equal(all[5000..], Body(server, open));
        var stored = Get(server, "/docs/readme.txt", ("Range", "bytes=4-6"));
        Assert.Equal("doc"u8.ToArray(), Body(server, stored));

        var beyond = Get(server, "/app.js", ("Range", $"bytes={all.Length}-"));
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, beyond.StatusCode);
        Assert.Equal($"bytes */{all.Length}", beyond.Content.Headers.ContentRange!.ToString());

        var etag = middle.Headers.ETag!.Tag;
        Assert.Equal(HttpStatusCode.PartialContent, Get(server, "/app.js", ("Range", "bytes=0-9"), ("If-Range", etag)).StatusCode);
        var changed = Get(server, "/app.js", ("Range", "bytes=0-9"), ("If-Range", "\"old\""));
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.Equal(all, Body(server, changed));
    }

    [Theory, MemberData(nameof(Kinds))]
    public void Head_has_the_headers_of_get_and_no_body(string kind)
    {
        using var server = Serve(kind);
        var head = server.Send(new HttpRequestMessage(HttpMethod.Head, "/app.js"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(site.Bytes("app.js").Length, head.Content.Headers.ContentLength);
        Assert.Empty(Body(server, head));
    }

    [Theory, MemberData(nameof(Kinds))]
    public void Directories_redirect_to_their_slash_and_list_their_servable_entries(string kind)
    {
        using var server = Serve(kind, o => o.EnableDirectoryListing = true);
        string raw = server.Raw("GET /docs?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 301 ", raw);
        Assert.Contains("Location: /docs/?x=1\r\n", raw);
        string listing = server.Text(Get(server, "/docs/"));
        Assert.Contains("readme.txt", listing);
        string root = server.Text(Get(server, "/"));
        Assert.Contains("Index", root);
    }

    [Theory, MemberData(nameof(Kinds))]
    public void Missing_files_and_dotfiles_get_the_not_found_page_with_404(string kind)
    {
        using var server = Serve(kind);
        foreach (var path in new[] { "/missing.css", "/.secret", "/docs/nothing" })
        {
            var response = Get(server, path);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal(site.Bytes("404.html"), Body(server, response));
            Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        }
        Assert.StartsWith("HTTP/1.1 400 ", server.Raw("GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    }

    [Theory, MemberData(nameof(Kinds))]
    public void A_single_page_application_gets_its_index_for_navigations_but_assets_stay_404(string kind)
    {
        using var server = Serve(kind, o => o.SinglePageApplication = true);
        var navigation = Get(server, "/users/42/settings", ("Accept", "text/html,application/xhtml+xml"));
        Assert.Equal(HttpStatusCode.OK, navigation.StatusCode);
        Assert.Equal(site.Bytes("index.html"), Body(server, navigation));
        Assert.Equal(HttpStatusCode.OK, Get(server, "/dashboard").StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, Get(server, "/missing.js", ("Accept", "*/*")).StatusCode);
    }

    [Theory, MemberData(nameof(Kinds))]
    public void Extra_response_headers_go_on_every_answer(string kind)
    {
        using var server = Serve(kind, o => o.ResponseHeaders = [("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store")]);
        foreach (var response in new[] { Get(server, "/app.js"), Get(server, "/missing"), Get(server, "/app.js", ("If-None-Match", "*")) })
        {
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Equal("no-store", response.Headers.CacheControl!.ToString());
        }
    }

    [Fact]
    public void Unsafe_zip_entry_names_are_never_served_or_listed()
    {
        var zip = site.Source("zip");
        Assert.Null(zip.GetEntry("evil.txt"));
        Assert.Null(zip.GetEntry("etc/absolute.txt"));
        Assert.Null(zip.GetEntry("../evil.txt"));
        Assert.DoesNotContain(zip.GetChildren(zip.GetEntry("")!), e => e.Name.Contains("evil") || e.Name == "etc");
        Assert.True(zip.GetEntry("docs")!.IsDirectory);
        Assert.Throws<InvalidDataException>(() => FileSource.FromZip(Path.Combine(site.Directory, "app.js")));
    }

    [Fact]
    public void Concurrent_ranged_downloads_from_one_zip_archive_read_the_right_bytes()
    {
        using var server = Serve("zip");
        byte[] all = site.Bytes("app.js");
        var tasks = Enumerable.Range(0, 8).Select(i =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/app.js");
            request.Headers.Range = new RangeHeaderValue(i * 500, i * 500 + 699);
            return server.Client.SendAsync(request).ContinueWith(t => t.Result.Content.ReadAsByteArrayAsync()).Unwrap();
        }).ToArray();
        var all8 = server.Manager.Until(Task.WhenAll(tasks));
        for (int i = 0; i < 8; i++) Assert.Equal(all[(i * 500)..(i * 500 + 700)], all8[i]);
    }

    [Fact]
    public void Embedded_entity_tags_hash_the_content_so_they_survive_a_restart()
    {
        var one = site.Source("embedded").GetEntry("app.js")!;
        var two = site.Source("embedded").GetEntry("app.js")!;
        Assert.Equal(one.GetEntityTag(null), two.GetEntityTag(null));
        Assert.NotEqual(one.GetEntityTag(null), site.Source("embedded").GetEntry("index.html")!.GetEntityTag(null));
        Assert.NotEqual(one.GetEntityTag(null), one.GetEntityTag("gzip"));
    }

    [Fact]
    public void A_mount_serves_the_rest_of_the_path_and_redirects_its_bare_prefix()
    {
        var router = new Router();
        router.MapStaticFiles("/static", new StaticFileOptions { Source = site.Source("embedded") });
        router.MapGet("/api", (c, e, route) => c.Reply(200, "api"));
        using var server = new RoutedServer(router);
        Assert.Equal(site.Bytes("docs/readme.txt"), Body(server, Get(server, "/static/docs/readme.txt")));
        Assert.Equal(site.Bytes("index.html"), Body(server, Get(server, "/static/")));
        string raw = server.Raw("GET /static?v=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.Contains("Location: /static/?v=2\r\n", raw);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, server.Send(HttpMethod.Post, "/static/app.js", new StringContent("")).StatusCode);
        Assert.Equal("api", server.Text(Get(server, "/api")));
    }
}
