using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Meerkat.Cli;
using Meerkat.Tests.Http.Routing;

namespace Meerkat.Tests.Cli;

/// <summary>What <c>meerkat serve</c>'s flags build (SiteServer), exercised with HttpClient.</summary>
public sealed class SiteServerTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("meerkat-serve-").FullName;

    public SiteServerTests()
    {
        File.WriteAllText(Path.Combine(directory, "index.html"), "<h1>home</h1>");
        File.WriteAllText(Path.Combine(directory, "data.txt"), "some data");
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static RoutedServer Start(SiteSettings settings) => new(SiteServer.Build(settings, out _));

    [Fact]
    public void A_directory_or_a_zip_archive_is_served()
    {
        using (var server = Start(new SiteSettings { Path = directory }))
            Assert.Equal("some data", server.Text(server.Get("/data.txt")));
        string zip = Path.Combine(directory, "..", Path.GetFileName(directory) + ".zip");
        ZipFile.CreateFromDirectory(directory, zip);
        try
        {
            SiteServer.Build(new SiteSettings { Path = zip }, out string description);
            Assert.Contains("zip archive", description);
            using var server = Start(new SiteSettings { Path = zip });
            Assert.Equal("<h1>home</h1>", server.Text(server.Get("/")));
        }
        finally
        {
            File.Delete(zip);
        }
    }

    [Fact]
    public void Auth_cors_headers_and_spa_flags_shape_every_answer()
    {
        using var server = Start(new SiteSettings
        {
            Path = directory,
            Auth = "ann:secret",
            CorsOrigins = ["https://app.example"],
            Headers = ["X-Frame-Options: DENY"],
            Spa = true,
        });
        var refused = server.Get("/data.txt");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("DENY", refused.Headers.GetValues("X-Frame-Options").Single());

        var request = new HttpRequestMessage(HttpMethod.Get, "/some/page");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("ann:secret")));
        request.Headers.Add("Origin", "https://app.example");
        request.Headers.Accept.ParseAdd("text/html");
        var page = server.Send(request);
        Assert.Equal("<h1>home</h1>", server.Text(page));
        Assert.Equal("https://app.example", page.Headers.GetValues("Access-Control-Allow-Origin").Single());

        var preflight = new HttpRequestMessage(HttpMethod.Options, "/data.txt");
        preflight.Headers.Add("Origin", "https://app.example");
        preflight.Headers.Add("Access-Control-Request-Method", "GET");
        var answer = server.Send(preflight);
        Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
        Assert.Equal("GET, OPTIONS", answer.Headers.GetValues("Access-Control-Allow-Methods").Single());
    }

    [Theory]
    [InlineData("--auth and --auth-file", null, "a:b", "file")]
    [InlineData("--auth:", null, "nocolon", null)]
    [InlineData("--auth-file:", null, null, "/nonexistent/users")]
    [InlineData("--cors:", "app.example", null, null)]
    [InlineData("neither a directory nor a .zip", "path", null, null)]
    public void Unusable_flags_are_refused_naming_the_flag(string message, string? cors, string? auth, string? authFile)
    {
        var settings = new SiteSettings
        {
            Path = cors == "path" ? "/nonexistent/site" : directory,
            Auth = auth,
            AuthFile = authFile,
            CorsOrigins = cors is null or "path" ? [] : [cors],
        };
        var error = Assert.Throws<ArgumentException>(() => SiteServer.Build(settings, out _));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Header_flags_must_be_name_colon_value()
    {
        Assert.Equal(("X-A", "b: c"), SiteServer.ParseHeader("X-A: b: c"));
        Assert.Contains("--header", Assert.Throws<ArgumentException>(() => SiteServer.ParseHeader("no colon")).Message);
        Assert.Contains("--header", Assert.Throws<ArgumentException>(() => SiteServer.Build(new SiteSettings { Path = directory, Headers = ["Bad Name: x"] }, out _)).Message);
    }

    [Fact]
    public async Task Proxy_mounts_forward_with_the_prefix_removed_behind_the_same_auth()
    {
        await using var kestrel = await Meerkat.Tests.Http.Client.Kestrel.StartAsync(app =>
            Microsoft.AspNetCore.Builder.EndpointRouteBuilderExtensions.MapGet(app, "/{*rest}",
                (Microsoft.AspNetCore.Http.HttpContext c) => $"upstream {c.Request.Path}{c.Request.QueryString} auth={c.Request.Headers.Authorization}"));
        using var server = Start(new SiteSettings { Path = directory, Auth = "ann:secret", Proxies = ["/api=" + kestrel.Url, "/v2/=" + kestrel.Url + "/base"] });
        Assert.Equal(HttpStatusCode.Unauthorized, server.Get("/api/x").StatusCode);
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/items/7?full=1");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("ann:secret")));
        Assert.Equal("upstream /items/7?full=1 auth=Basic YW5uOnNlY3JldA==", server.Text(server.Send(request)));
        var based = new HttpRequestMessage(HttpMethod.Get, "/v2/x");
        based.Headers.Authorization = request.Headers.Authorization;
        Assert.Equal("upstream /base/x auth=Basic YW5uOnNlY3JldA==", server.Text(server.Send(based)));
        var file = new HttpRequestMessage(HttpMethod.Get, "/data.txt");
        file.Headers.Authorization = request.Headers.Authorization;
        Assert.Equal("some data", server.Text(server.Send(file)));
    }

    [Theory]
    [InlineData("api=http://127.0.0.1:9000", "PREFIX=URL")]
    [InlineData("/api", "PREFIX=URL")]
    [InlineData("/api=", "PREFIX=URL")]
    [InlineData("/api=ftp://127.0.0.1/", "http:// or https://")]
    [InlineData("/api=not a url", "not an absolute URL")]
    [InlineData("/{x}=http://127.0.0.1:9000", "literal")]
    public void Proxy_flags_must_be_prefix_equals_url(string flag, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => SiteServer.Build(new SiteSettings { Path = directory, Proxies = [flag] }, out _));
        Assert.Contains("--proxy", error.Message);
        Assert.Contains(message, error.Message);
    }
}
