using System.Net;
using System.Text;
using Meerkat.Http;
using Meerkat.Http.Routing;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Http.Routing;

public class AuthenticationTests
{
    private static Router BasicRouter(BasicCredentials credentials)
    {
        var router = new Router();
        router.MapGroup("/private").RequireBasicAuth(credentials, realm: "test \"realm\"")
            .MapGet("/whoami", (c, e, route) => c.Reply(200, $"you are {route.User}"));
        router.MapGet("/public", (c, e, route) => c.Reply(200, $"user {route.User ?? "none"}"));
        return router;
    }

    private static HttpResponseMessage GetWith(RoutedServer server, string path, string? authorization)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (authorization is not null) request.Headers.TryAddWithoutValidation("Authorization", authorization);
        return server.Send(request);
    }

    private static string Basic(string user, string password) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));

    [Fact]
    public void Basic_credentials_that_match_let_the_request_through_with_the_user_name()
    {
        using var server = new RoutedServer(BasicRouter(BasicCredentials.Of(("ann", "s3cret:with:colons"), ("jörg", "pässwörd"))));
        Assert.Equal("you are ann", server.Text(GetWith(server, "/private/whoami", Basic("ann", "s3cret:with:colons"))));
        Assert.Equal("you are jörg", server.Text(GetWith(server, "/private/whoami", Basic("jörg", "pässwörd"))));
        Assert.Equal("you are ann", server.Text(GetWith(server, "/private/whoami", "basic   " + Basic("ann", "s3cret:with:colons")[6..])));
        Assert.Equal("user none", server.Text(GetWith(server, "/public", null)));
    }

    [Theory]
    [InlineData(null, "needs a user name and password")]
    [InlineData("Bearer abc", "needs a user name and password")]
    [InlineData("Basicabc", "needs a user name and password")]
    [InlineData("Basic", "does not hold valid Basic credentials")]
    [InlineData("Basic !!!", "does not hold valid Basic credentials")]
    [InlineData("Basic YW5u", "does not hold valid Basic credentials")] // "ann": no colon
    [InlineData("Basic YW5uOnM=x", "does not hold valid Basic credentials")]
    [InlineData("Basic YW5uOnM", "does not hold valid Basic credentials")] // unpadded
    [InlineData("Basic YW5uOndyb25n", "user name or password is wrong")] // ann:wrong
    [InlineData("Basic Ym9iOnMzY3JldA==", "user name or password is wrong")] // bob:s3cret
    public void Missing_malformed_and_wrong_basic_credentials_get_401_with_a_challenge(string? authorization, string message)
    {
        using var server = new RoutedServer(BasicRouter(BasicCredentials.Of(("ann", "s3cret"))));
        var response = GetWith(server, "/private/whoami", authorization);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenge = Assert.Single(response.Headers.WwwAuthenticate);
        Assert.Equal("Basic", challenge.Scheme);
        Assert.Equal("realm=\"test \\\"realm\\\"\", charset=\"UTF-8\"", challenge.Parameter);
        Assert.Contains(message, server.Text(response));
    }

    [Fact]
    public void Credentials_come_from_a_file_of_user_password_lines_and_bad_lines_are_named()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "# users\n\nann:one\n  \nbob:two:three\n");
            var credentials = BasicCredentials.FromFile(path);
            Assert.Equal(2, credentials.Count);
            using (var server = new RoutedServer(BasicRouter(credentials)))
            {
                Assert.Equal("you are bob", server.Text(GetWith(server, "/private/whoami", Basic("bob", "two:three"))));
                Assert.Equal(HttpStatusCode.Unauthorized, GetWith(server, "/private/whoami", Basic("bob", "two")).StatusCode);
            }
            File.WriteAllText(path, "ann:one\nnocolon\n");
            var error = Assert.Throws<FormatException>(() => BasicCredentials.FromFile(path));
            Assert.Contains($"{path} line 2", error.Message);
            Assert.Throws<FormatException>(() => BasicCredentials.Parse(":nouser"));
            Assert.Throws<ArgumentException>(() => BasicCredentials.Of(("a:b", "c")));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Curl_sends_basic_credentials_that_the_filter_accepts()
    {
        if (Peers.Find("curl") is null) Peers.SkipOrFail("curl");
        using var server = new RoutedServer(BasicRouter(BasicCredentials.Parse("ann:s3cret")));
        string good = server.Manager.Until(Peers.RunAsync("curl", $"-s -u ann:s3cret http://127.0.0.1:{server.Port}/private/whoami"));
        Assert.Equal("you are ann", good);
        string bad = server.Manager.Until(Peers.RunAsync("curl", $"-s -o /dev/null -w %{{http_code}} -u ann:nope http://127.0.0.1:{server.Port}/private/whoami"));
        Assert.Equal("401", bad);
    }

    private static Router BearerRouter()
    {
        var router = new Router();
        router.MapGet("/admin/{thing}", (c, e, route) => c.Reply(200, $"{route.User} may see {route["thing"]}"))
            .RequireBearerToken((token, route) =>
            {
                if (token.SequenceEqual("admin-token"u8)) { route.User = "admin"; return AuthorizationResult.Allowed; }
                if (token.SequenceEqual("reader-token"u8)) return route.GetString("thing") == "public" ? AuthorizationResult.Allowed : AuthorizationResult.Forbidden;
                return AuthorizationResult.Unauthorized;
            }, realm: "api");
        return router;
    }

    [Theory]
    [InlineData("/admin/secrets", "Bearer admin-token", 200, null)]
    [InlineData("/admin/public", "Bearer reader-token", 200, null)]
    [InlineData("/admin/secrets", "Bearer reader-token", 403, "Bearer realm=\"api\", error=\"insufficient_scope\"")]
    [InlineData("/admin/secrets", "Bearer stolen", 401, "Bearer realm=\"api\", error=\"invalid_token\"")]
    [InlineData("/admin/secrets", null, 401, "Bearer realm=\"api\"")]
    [InlineData("/admin/secrets", "Basic YTpi", 401, "Bearer realm=\"api\"")]
    [InlineData("/admin/secrets", "Bearer a b", 400, "Bearer realm=\"api\", error=\"invalid_request\"")]
    [InlineData("/admin/secrets", "Bearer ", 400, "Bearer realm=\"api\", error=\"invalid_request\"")]
    public void Bearer_tokens_are_allowed_refused_or_forbidden_by_the_applications_check(string path, string? authorization, int status, string? challenge)
    {
        using var server = new RoutedServer(BearerRouter());
        var response = GetWith(server, path, authorization);
        Assert.Equal(status, (int)response.StatusCode);
        if (challenge is null)
        {
            Assert.Empty(response.Headers.WwwAuthenticate);
            Assert.EndsWith(path.Split('/')[^1], server.Text(response));
        }
        else
        {
            Assert.Equal(challenge, response.Headers.GetValues("WWW-Authenticate").Single());
        }
    }

    [Fact]
    public void A_refused_request_with_a_body_keeps_the_connection_when_the_body_can_be_drained()
    {
        using var server = new RoutedServer(BasicRouter(BasicCredentials.Of(("ann", "s3cret"))));
        string answer = server.Raw(
            "GET /private/whoami HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
            $"GET /private/whoami HTTP/1.1\r\nHost: x\r\nAuthorization: {Basic("ann", "s3cret")}\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 401 ", answer);
        Assert.Contains("you are ann", answer);
    }
}
