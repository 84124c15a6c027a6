using Meerkat.Http.StaticFiles;
using Xunit;

namespace Meerkat.Tests.Http.StaticFiles;

public sealed class StaticFileResolverTests : IDisposable
{
    private readonly TempTree _tree = new();
    private readonly StaticFileOptions _options;

    public StaticFileResolverTests()
    {
        _tree.File("a/b", "ab");
        _tree.File("b", "b");
        _tree.File("x", "x");
        _tree.File("hello.txt", "hello");
        _tree.File("dir/index.html", "<h1>dir</h1>");
        _tree.Dir("empty");
        _tree.File(".env", "SECRET=1");
        _tree.File(".git/config", "[core]");
        _tree.File(".well-known/security.txt", "Contact: x");
        _tree.File("caf\u00e9/\u65e5\u672c.txt", "unicode");
        File.WriteAllText(Path.Combine(_tree.Outside, "passwd"), "root:x:0:0");
        _options = new StaticFileOptions { Root = _tree.Root };
    }

    public void Dispose() => _tree.Dispose();

    [Theory]
    [InlineData("/../etc/passwd", ResolutionKind.BadRequest)]
    [InlineData("/..", ResolutionKind.BadRequest)]
    [InlineData("/a/../../outside/passwd", ResolutionKind.BadRequest)]
    [InlineData("/%2e%2e/outside/passwd", ResolutionKind.BadRequest)]
    [InlineData("/%2E%2E/", ResolutionKind.BadRequest)]
    [InlineData("/..%2f", ResolutionKind.BadRequest)]
    [InlineData("/..%2Foutside%2Fpasswd", ResolutionKind.BadRequest)]
    [InlineData("/%2F", ResolutionKind.BadRequest)]
    [InlineData("/a%2fb", ResolutionKind.BadRequest)]
    [InlineData("/a%5cb", ResolutionKind.BadRequest)]
    [InlineData("/a/%00", ResolutionKind.BadRequest)]
    [InlineData("/hello.txt%00.html", ResolutionKind.BadRequest)]
    [InlineData("/a\\b", ResolutionKind.BadRequest)]
    [InlineData("/%", ResolutionKind.BadRequest)]
    [InlineData("/%4", ResolutionKind.BadRequest)]
    [InlineData("/%zz", ResolutionKind.BadRequest)]
    [InlineData("/%0d%0aSet-Cookie:x", ResolutionKind.BadRequest)]
    [InlineData("/%ff", ResolutionKind.BadRequest)]
    [InlineData("/%c3%28", ResolutionKind.BadRequest)]
    [InlineData("relative", ResolutionKind.BadRequest)]
    [InlineData("", ResolutionKind.BadRequest)]
    [InlineData("*", ResolutionKind.BadRequest)]
    [InlineData("/a b", ResolutionKind.BadRequest)]
    [InlineData("/caf\u00e9", ResolutionKind.BadRequest)]
    [InlineData("//x", ResolutionKind.File)]
    [InlineData("/a/./b", ResolutionKind.File)]
    [InlineData("/a/../b", ResolutionKind.File)]
    [InlineData("/a/%2e/b", ResolutionKind.File)]
    [InlineData("/hello.txt?x=../../etc/passwd", ResolutionKind.File)]
    [InlineData("/hello.txt#frag", ResolutionKind.File)]
    [InlineData("/hello.txt/", ResolutionKind.NotFound)]
    [InlineData("/missing", ResolutionKind.NotFound)]
    [InlineData("/.env", ResolutionKind.NotFound)]
    [InlineData("/.git/config", ResolutionKind.NotFound)]
    [InlineData("/%2egit/config", ResolutionKind.NotFound)]
    [InlineData("/.well-known/security.txt", ResolutionKind.File)]
    [InlineData("/caf%C3%A9/%E6%97%A5%E6%9C%AC.txt", ResolutionKind.File)]
    [InlineData("/a", ResolutionKind.Redirect)]
    [InlineData("/dir/", ResolutionKind.File)]
    [InlineData("/empty/", ResolutionKind.NotFound)]
    // The kind arrives as object: the enum is internal and a test method is public.
    public void Resolves_request_targets(string target, object expected)
    {
        Assert.Equal((ResolutionKind)expected, StaticFileResolver.Resolve(_options, target).Kind);
    }

    [Fact]
    public void Dot_segments_resolve_to_the_normalised_file()
    {
        StaticFileResolution resolution = StaticFileResolver.Resolve(_options, "/a/../b");
        Assert.Equal(Path.Combine(RealRoot(), "b"), resolution.File!.FullName);
        Assert.Equal("b", File.ReadAllText(resolution.File.FullName));
    }

    [Fact]
    public void Percent_encoded_utf8_names_are_served()
    {
        StaticFileResolution resolution = StaticFileResolver.Resolve(_options, "/caf%C3%A9/%E6%97%A5%E6%9C%AC.txt");
        Assert.Equal("unicode", File.ReadAllText(resolution.File!.FullName));
    }

    [Fact]
    public void Dotfiles_are_served_when_allowed()
    {
        _options.Dotfiles = DotfilePolicy.Allow;
        Assert.Equal(ResolutionKind.File, StaticFileResolver.Resolve(_options, "/.env").Kind);
    }

    [Theory]
    [InlineData("/dir", "/dir/")]
    [InlineData("/dir?x=1", "/dir/?x=1")]
    [InlineData("//dir", "/dir/")]
    [InlineData("/a/../dir", "/dir/")]
    [InlineData("/caf%c3%a9", "/caf%C3%A9/")]
    public void Directories_without_slash_redirect_to_a_canonical_local_path(string target, string location)
    {
        StaticFileResolution resolution = StaticFileResolver.Resolve(_options, target);
        Assert.Equal(ResolutionKind.Redirect, resolution.Kind);
        Assert.Equal(location, resolution.Location);
    }

    [Fact]
    public void Redirect_never_becomes_protocol_relative()
    {
        _tree.Dir("evil.com");
        StaticFileResolution resolution = StaticFileResolver.Resolve(_options, "//evil.com");
        Assert.Equal("/evil.com/", resolution.Location);
    }

    [Fact]
    public void Root_serves_index_or_not_found()
    {
        Assert.Equal(ResolutionKind.NotFound, StaticFileResolver.Resolve(_options, "/").Kind);
        _tree.File("index.html", "home");
        StaticFileResolution resolution = StaticFileResolver.Resolve(_options, "/");
        Assert.Equal(ResolutionKind.File, resolution.Kind);
        Assert.EndsWith("index.html", resolution.RequestedFilePath, StringComparison.Ordinal);
    }

    [Fact]
    public void Symlink_inside_root_pointing_outside_is_not_found()
    {
        File.CreateSymbolicLink(Path.Combine(_tree.Root, "leak"), Path.Combine(_tree.Outside, "passwd"));
        Directory.CreateSymbolicLink(Path.Combine(_tree.Root, "out"), _tree.Outside);
        Directory.CreateSymbolicLink(Path.Combine(_tree.Root, "relout"), "../outside");
        Assert.Equal(ResolutionKind.NotFound, StaticFileResolver.Resolve(_options, "/leak").Kind);
        Assert.Equal(ResolutionKind.NotFound, StaticFileResolver.Resolve(_options, "/out/passwd").Kind);
        Assert.Equal(ResolutionKind.NotFound, StaticFileResolver.Resolve(_options, "/relout/passwd").Kind);
        Assert.Equal(ResolutionKind.NotFound, StaticFileResolver.Resolve(_options, "/out/").Kind);
    }

    [Fact]
    public void Symlink_inside_root_pointing_inside_is_followed()
    {
        File.CreateSymbolicLink(Path.Combine(_tree.Root, "alias.txt"), "hello.txt");
        Directory.CreateSymbolicLink(Path.Combine(_tree.Root, "d2"), Path.Combine(_tree.Root, "dir"));
        StaticFileResolution file = StaticFileResolver.Resolve(_options, "/alias.txt");
        Assert.Equal(Path.Combine(RealRoot(), "hello.txt"), file.File!.FullName);
        Assert.EndsWith("alias.txt", file.RequestedFilePath, StringComparison.Ordinal);
        Assert.Equal(ResolutionKind.File, StaticFileResolver.Resolve(_options, "/d2/index.html").Kind);
    }

    [Fact]
    public void Root_that_is_itself_a_symlink_still_serves()
    {
        string linkedRoot = Path.Combine(_tree.Base, "linked-root");
        Directory.CreateSymbolicLink(linkedRoot, _tree.Root);
        var options = new StaticFileOptions { Root = linkedRoot };
        Assert.Equal(ResolutionKind.File, StaticFileResolver.Resolve(options, "/hello.txt").Kind);
    }

    [Fact]
    public void Symlink_loops_and_dangling_links_are_not_found()
    {
        File.CreateSymbolicLink(Path.Combine(_tree.Root, "loop1"), "loop2");
        File.CreateSymbolicLink(Path.Combine(_tree.Root, "loop2"), "loop1");
        File.CreateSymbolicLink(Path.Combine(_tree.Root, "dangling"), "nowhere");
        Assert.Equal(ResolutionKind.NotFound, StaticFileResolver.Resolve(_options, "/loop1").Kind);
        Assert.Equal(ResolutionKind.NotFound, StaticFileResolver.Resolve(_options, "/dangling").Kind);
    }

    [Fact]
    public void Index_symlink_pointing_outside_is_not_served()
    {
        string dir = _tree.Dir("sneaky");
        File.CreateSymbolicLink(Path.Combine(dir, "index.html"), Path.Combine(_tree.Outside, "passwd"));
        Assert.Equal(ResolutionKind.NotFound, StaticFileResolver.Resolve(_options, "/sneaky/").Kind);
    }

    [Fact]
    public void Listing_escapes_names_sorts_and_hides_what_cannot_be_served()
    {
        _options.EnableDirectoryListing = true;
        _tree.File("list/<script>&\"'.txt", "12345");
        _tree.File("list/b.txt", "1");
        _tree.File("list/a.txt", "22");
        _tree.File("list/.hidden", "h");
        _tree.Dir("list/sub");
        File.CreateSymbolicLink(Path.Combine(_tree.Root, "list", "leak"), Path.Combine(_tree.Outside, "passwd"));

        StaticFileResolution resolution = StaticFileResolver.Resolve(_options, "/list/");
        Assert.Equal(ResolutionKind.Listing, resolution.Kind);
        string html = System.Text.Encoding.UTF8.GetString(resolution.ListingHtml!);

        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.Contains("href=\"%3Cscript%3E%26%22%27.txt\"", html, StringComparison.Ordinal);
        Assert.Contains(">&lt;script&gt;&amp;&quot;&#39;.txt</a>", html, StringComparison.Ordinal);
        Assert.DoesNotContain(".hidden", html, StringComparison.Ordinal);
        Assert.DoesNotContain("leak", html, StringComparison.Ordinal);
        Assert.Contains("<td>5</td>", html, StringComparison.Ordinal);
        Assert.Contains("2024-05-06 07:08:09", html, StringComparison.Ordinal);
        int sub = html.IndexOf("sub/", StringComparison.Ordinal);
        int script = html.IndexOf("%3Cscript", StringComparison.Ordinal);
        int a = html.IndexOf("a.txt", StringComparison.Ordinal);
        int b = html.IndexOf("b.txt", StringComparison.Ordinal);
        Assert.True(sub < script && script < a && a < b, "directories first, then ordinal order");
        Assert.Contains("href=\"../\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Index_file_wins_over_listing()
    {
        _options.EnableDirectoryListing = true;
        Assert.Equal(ResolutionKind.File, StaticFileResolver.Resolve(_options, "/dir/").Kind);
        Assert.Equal(ResolutionKind.Listing, StaticFileResolver.Resolve(_options, "/empty/").Kind);
    }

    private string RealRoot() => new DirectoryInfo(_tree.Root).ResolveLinkTarget(true)?.FullName ?? _tree.Root;
}
