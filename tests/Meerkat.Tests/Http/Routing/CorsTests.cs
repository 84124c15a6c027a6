using System.Net;
using Meerkat.Http;
using Meerkat.Http.Routing;

namespace Meerkat.Tests.Http.Routing;

public class CorsTests
{
    private const string App = "https://app.example";

    private static RoutedServer Start(CorsPolicy policy)
    {
        var router = new Router();
        var api = router.MapGroup("/api").WithCors(policy);
        api.MapGet("/items/{id}", (c, e, route) => c.Reply(200, "item", "text/plain", ("X-Total", "1")));
        api.MapPut("/items/{id}", (c, e, route) => c.Reply(200, "stored"));
        api.MapGet("/private", (c, e, route) => c.Reply(200, "secret")).RequireBasicAuth(BasicCredentials.Parse("ann:pw"));
        router.MapGet("/plain", (c, e, route) => c.Reply(200, "plain"));
        return new RoutedServer(router);
    }

    private static HttpResponseMessage Send(RoutedServer server, HttpMethod method, string path, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(method, path);
        foreach (var (name, value) in headers) request.Headers.TryAddWithoutValidation(name, value);
        return server.Send(request);
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(", ", values)
        : response.Content.Headers.TryGetValues(name, out var content) ? string.Join(", ", content) : null;

    [Fact]
    public void An_allowed_preflight_gets_204_with_the_methods_of_the_path_the_requested_headers_and_max_age()
    {
        using var server = Start(new CorsPolicy(App, "http://localhost:3000") { AllowCredentials = true, MaxAge = TimeSpan.FromHours(1) });
        var response = Send(server, HttpMethod.Options, "/api/items/3",
            ("Origin", "HTTPS://APP.example"), ("Access-Control-Request-Method", "PUT"), ("Access-Control-Request-Headers", "content-type, x-token"));
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(App, Header(response, "Access-Control-Allow-Origin"));
        Assert.Equal("GET, HEAD, PUT, OPTIONS", Header(response, "Access-Control-Allow-Methods"));
        Assert.Equal("content-type, x-token", Header(response, "Access-Control-Allow-Headers"));
        Assert.Equal("3600", Header(response, "Access-Control-Max-Age"));
        Assert.Equal("true", Header(response, "Access-Control-Allow-Credentials"));
        Assert.Contains("Origin", Header(response, "Vary"));
    }

    [Fact]
    public void A_preflight_for_a_route_behind_authentication_is_answered_without_credentials()
    {
        using var server = Start(new CorsPolicy(App));
        var response = Send(server, HttpMethod.Options, "/api/private", ("Origin", App), ("Access-Control-Request-Method", "GET"));
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(App, Header(response, "Access-Control-Allow-Origin"));
        // The actual request is refused, and the refusal is readable by the page (it carries the CORS headers).
        var refused = Send(server, HttpMethod.Get, "/api/private", ("Origin", App));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(App, Header(refused, "Access-Control-Allow-Origin"));
    }

    [Theory]
    [InlineData("https://evil.example", "PUT", null, "origin https://evil.example is not allowed")]
    [InlineData(App, "DELETE", null, "method DELETE is not allowed")]
    [InlineData(App, "PUT", "X-Token, X-Other", "request header X-Other is not allowed")]
    public void A_preflight_asking_for_an_origin_method_or_header_not_allowed_gets_403_naming_it(string origin, string method, string? headers, string message)
    {
        using var server = Start(new CorsPolicy(App) { Methods = ["GET", "PUT"], Headers = ["X-Token"] });
        var ask = new List<(string, string)> { ("Origin", origin), ("Access-Control-Request-Method", method) };
        if (headers is not null) ask.Add(("Access-Control-Request-Headers", headers));
        var response = Send(server, HttpMethod.Options, "/api/items/3", [.. ask]);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Null(Header(response, "Access-Control-Allow-Origin"));
        Assert.Contains(message, server.Text(response));
    }

    [Fact]
    public void Safelisted_headers_pass_a_preflight_whatever_the_list()
    {
        using var server = Start(new CorsPolicy(App) { Headers = ["X-Token"] });
        var response = Send(server, HttpMethod.Options, "/api/items/3",
            ("Origin", App), ("Access-Control-Request-Method", "PUT"), ("Access-Control-Request-Headers", "content-type,x-token"));
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("X-Token", Header(response, "Access-Control-Allow-Headers"));
    }

    [Fact]
    public void An_actual_request_from_an_allowed_origin_gets_allow_origin_credentials_exposed_headers_and_vary()
    {
        using var server = Start(new CorsPolicy(App) { AllowCredentials = true, ExposedHeaders = ["X-Total"] });
        var response = Send(server, HttpMethod.Get, "/api/items/1", ("Origin", App));
        Assert.Equal("item", server.Text(response));
        Assert.Equal(App, Header(response, "Access-Control-Allow-Origin"));
        Assert.Equal("true", Header(response, "Access-Control-Allow-Credentials"));
        Assert.Equal("X-Total", Header(response, "Access-Control-Expose-Headers"));
        Assert.Equal("Origin", Header(response, "Vary"));

        var other = Send(server, HttpMethod.Get, "/api/items/1", ("Origin", "https://evil.example"));
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.Null(Header(other, "Access-Control-Allow-Origin"));
        Assert.Equal("Origin", Header(other, "Vary"));

        var sameOrigin = Send(server, HttpMethod.Get, "/api/items/1");
        Assert.Null(Header(sameOrigin, "Access-Control-Allow-Origin"));
        Assert.Null(Header(server.Get("/plain"), "Vary"));
    }

    [Fact]
    public void Any_origin_answers_a_star_without_vary_and_refuses_to_be_combined_with_credentials()
    {
        using (var server = Start(new CorsPolicy(CorsPolicy.AnyOrigin)))
        {
            var response = Send(server, HttpMethod.Get, "/api/items/1", ("Origin", "https://anyone.example"));
            Assert.Equal("*", Header(response, "Access-Control-Allow-Origin"));
            Assert.Null(Header(response, "Vary"));
        }
        Assert.Throws<InvalidOperationException>(() => new Router().WithCors(new CorsPolicy("*") { AllowCredentials = true }));
        Assert.Throws<ArgumentException>(() => new CorsPolicy("https://app.example/path"));
        Assert.Throws<ArgumentException>(() => new CorsPolicy("app.example"));
    }

    [Fact]
    public void A_plain_options_request_without_cors_headers_gets_allow()
    {
        using var server = Start(new CorsPolicy(App));
        var response = Send(server, HttpMethod.Options, "/api/items/1");
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(["GET", "HEAD", "PUT", "OPTIONS"], response.Content.Headers.Allow);
        Assert.Null(Header(response, "Access-Control-Allow-Origin"));
    }
}
