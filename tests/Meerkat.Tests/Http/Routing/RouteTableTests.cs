// The matcher on its own, without sockets: which route a method and raw path select, and where
// the captures are.
using System.Text;
using Meerkat.Http.Routing;

namespace Meerkat.Tests.Http.Routing;

public class RouteTableTests
{
    private static readonly RouteHandler Nothing = (_, _, _) => { };

    private static (RouteTable Table, Router Router) Build(params string[] routes)
    {
        var router = new Router();
        foreach (var spec in routes)
        {
            var parts = spec.Split(' ');
            router.Map(parts[0], parts[1], Nothing);
        }
        var table = new RouteTable();
        foreach (var route in router.Routes) table.Add(route);
        table.Seal(router.Routes);
        return (table, router);
    }

    /// <summary>"METHOD TEMPLATE name=value..." of the match, or "404"/"405".</summary>
    private static string Match(RouteTable table, string method, string path)
    {
        var captures = new Range[Math.Max(table.MaxCaptures, 1)];
        byte[] raw = Encoding.Latin1.GetBytes(path);
        ReadOnlySpan<byte> routing = RouteTable.RoutingPath(raw);
        var route = table.Match(Encoding.ASCII.GetBytes(method), routing, captures, out bool pathMatched);
        if (route is null) return pathMatched ? "405" : "404";
        var text = new StringBuilder($"{route.Method} {route.Template}");
        for (int i = 0; i < route.CaptureNames.Count; i++)
            text.Append(' ').Append(route.CaptureNames[i]).Append('=').Append(Encoding.Latin1.GetString(routing[captures[i]]));
        return text.ToString();
    }

    [Fact]
    public void A_literal_segment_wins_over_a_parameter_and_a_parameter_over_a_catch_all()
    {
        var (table, _) = Build("GET /items/new", "GET /items/{id}", "GET /items/{*rest}");
        Assert.Equal("GET /items/new", Match(table, "GET", "/items/new"));
        Assert.Equal("GET /items/{id} id=42", Match(table, "GET", "/items/42"));
        Assert.Equal("GET /items/{*rest} rest=42/parts", Match(table, "GET", "/items/42/parts"));
    }

    [Fact]
    public void A_literal_mapped_for_another_method_falls_through_to_the_parameter_route()
    {
        var (table, _) = Build("DELETE /items/new", "GET /items/{id}");
        Assert.Equal("GET /items/{id} id=new", Match(table, "GET", "/items/new"));
        Assert.Equal("DELETE /items/new", Match(table, "DELETE", "/items/new"));
        Assert.Equal("405", Match(table, "PUT", "/items/new"));
    }

    [Fact]
    public void Captures_come_in_path_order_across_nested_parameters()
    {
        var (table, _) = Build("GET /users/{user}/posts/{post}");
        Assert.Equal("GET /users/{user}/posts/{post} user=ann post=7", Match(table, "GET", "/users/ann/posts/7?x=1".Split('?')[0]));
        Assert.Equal("404", Match(table, "GET", "/users/ann/posts"));
        Assert.Equal("404", Match(table, "GET", "/users//posts/7")); // an empty segment is no parameter value
    }

    [Fact]
    public void A_catch_all_takes_the_rest_of_the_path_which_may_be_empty()
    {
        var (table, _) = Build("GET /static/{*path}");
        Assert.Equal("GET /static/{*path} path=", Match(table, "GET", "/static"));
        Assert.Equal("GET /static/{*path} path=", Match(table, "GET", "/static/"));
        Assert.Equal("GET /static/{*path} path=css/site.css", Match(table, "GET", "/static/css/site.css"));
        Assert.Equal("404", Match(table, "GET", "/staticx"));
    }

    [Fact]
    public void Trailing_slashes_and_case_are_significant()
    {
        var (table, _) = Build("GET /about", "GET /docs/");
        Assert.Equal("GET /about", Match(table, "GET", "/about"));
        Assert.Equal("404", Match(table, "GET", "/about/"));
        Assert.Equal("404", Match(table, "GET", "/About"));
        Assert.Equal("GET /docs/", Match(table, "GET", "/docs/"));
        Assert.Equal("404", Match(table, "GET", "/docs"));
    }

    [Fact]
    public void The_root_template_matches_only_the_root()
    {
        var (table, _) = Build("GET /");
        Assert.Equal("GET /", Match(table, "GET", "/"));
        Assert.Equal("404", Match(table, "GET", "/x"));
        Assert.Equal("404", Match(table, "GET", "*"));
    }

    [Fact]
    public void Literals_compare_after_percent_decoding_and_an_encoded_slash_never_splits_a_segment()
    {
        var (table, _) = Build("GET /café", "GET /a/b", "GET /one/{x}");
        Assert.Equal("GET /café", Match(table, "GET", "/caf%C3%A9"));
        Assert.Equal("GET /café", Match(table, "GET", "/caf%c3%a9"));
        Assert.Equal("GET /a/b", Match(table, "GET", "/%61/b"));
        Assert.Equal("404", Match(table, "GET", "/a%2Fb"));
        Assert.Equal("GET /one/{x} x=a%2Fb", Match(table, "GET", "/one/a%2Fb"));
        Assert.Equal("404", Match(table, "GET", "/caf%zz"));
    }

    [Fact]
    public void Head_is_answered_by_the_get_route_unless_head_is_mapped()
    {
        var (table, _) = Build("GET /a", "GET /b", "HEAD /b");
        Assert.Equal("GET /a", Match(table, "HEAD", "/a"));
        Assert.Equal("HEAD /b", Match(table, "HEAD", "/b"));
        Assert.Equal("405", Match(table, "POST", "/a"));
    }

    [Fact]
    public void Allow_lists_every_method_of_every_route_that_matches_the_path()
    {
        var (table, _) = Build("GET /items/{id}", "PUT /items/{id}", "DELETE /items/new", "POST /items");
        var captures = new Range[4];
        Assert.Equal("GET, HEAD, PUT, OPTIONS", table.AllowFor("/items/3"u8, captures));
        Assert.Equal("DELETE, GET, HEAD, PUT, OPTIONS", table.AllowFor("/items/new"u8, captures));
        Assert.Equal("POST, OPTIONS", table.AllowFor("/items"u8, captures));
        Assert.Equal("GET, HEAD, PUT, DELETE, POST, OPTIONS", table.AllowAll);
    }

    [Fact]
    public void An_absolute_form_target_is_routed_by_its_path()
    {
        var (table, _) = Build("GET /items/{id}", "GET /");
        Assert.Equal("GET /items/{id} id=5", Match(table, "GET", "http://example.com/items/5"));
        Assert.Equal("GET /", Match(table, "GET", "http://example.com"));
    }

    [Theory]
    [InlineData("items", "must start with '/'")]
    [InlineData("/a/{*rest}/b", "must be the last segment")]
    [InlineData("/a/{id}/{id}", "twice")]
    [InlineData("/a/x{id}", "mixes text and a capture")]
    [InlineData("/a/{id", "whole segment")]
    [InlineData("/a/{}", "needs a name")]
    [InlineData("/a?b", "no query")]
    [InlineData("/a/%zz", "malformed percent escape")]
    public void Malformed_templates_are_refused_when_mapped_naming_the_fault(string template, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => new Router().MapGet(template, Nothing));
        Assert.Contains(message, error.Message);
        Assert.Contains(template, error.Message);
    }

    [Fact]
    public void Mapping_a_method_twice_on_an_equivalent_template_is_refused()
    {
        var router = new Router();
        router.MapGet("/items/{id}", Nothing);
        var error = Assert.Throws<ArgumentException>(() => router.MapGet("/items/{key}", Nothing));
        Assert.Contains("/items/{id}", error.Message);
        router.MapPut("/items/{key}", Nothing); // another method is fine
    }

    [Fact]
    public void Group_prefixes_nest_into_the_template()
    {
        var router = new Router();
        var api = router.MapGroup("/api/");
        var v1 = api.MapGroup("/v1");
        Assert.Equal("/api/v1/items/{id}", v1.MapGet("/items/{id}", Nothing).Template);
        Assert.Equal("/api/v1", v1.MapGet("/", Nothing).Template);
        Assert.Throws<ArgumentException>(() => api.MapGroup("/{tenant}"));
    }

    [Fact]
    public void Methods_must_be_tokens()
    {
        Assert.Throws<ArgumentException>(() => new Router().Map("GE T", "/", Nothing));
        Assert.Throws<ArgumentException>(() => new Router().Map("", "/", Nothing));
        new Router().Map("PROPFIND", "/", Nothing);
    }
}
