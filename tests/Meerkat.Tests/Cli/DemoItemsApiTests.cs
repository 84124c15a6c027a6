using System.Net;
using System.Text.Json;
using Meerkat.Cli;
using Meerkat.Http.Routing;
using Meerkat.Tests.Http.Routing;

namespace Meerkat.Tests.Cli;

/// <summary>The demo's JSON API (issue 12 item 8) through HttpClient, on a router of its own.</summary>
public class DemoItemsApiTests
{
    private static RoutedServer Start()
    {
        var router = new Router();
        new DemoItemsApi().Map(router);
        return new RoutedServer(router);
    }

    private static HttpResponseMessage Json(RoutedServer server, HttpMethod method, string path, string body, string contentType = "application/json") =>
        server.Send(method, path, new StringContent(body, null, contentType));

    private static JsonElement Parse(RoutedServer server, HttpResponseMessage response) => JsonDocument.Parse(server.Text(response)).RootElement;

    [Fact]
    public void Items_are_created_listed_read_replaced_and_deleted()
    {
        using var server = Start();
        Assert.Equal("[]", server.Text(server.Get("/api/items")));

        var created = Json(server, HttpMethod.Post, "/api/items", "{\"name\": \"lamp\", \"price\": 12.5}");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("/api/items/1", created.Headers.Location!.OriginalString);
        var item = Parse(server, created);
        Assert.Equal(1, item.GetProperty("id").GetInt32());
        Assert.Equal("lamp", item.GetProperty("name").GetString());
        Assert.Equal(12.5m, item.GetProperty("price").GetDecimal());
        Json(server, HttpMethod.Post, "/api/items", "{\"name\": \"desk\", \"price\": 80}");

        var list = Parse(server, server.Get("/api/items"));
        Assert.Equal(["lamp", "desk"], list.EnumerateArray().Select(i => i.GetProperty("name").GetString()));
        Assert.Equal("desk", Parse(server, server.Get("/api/items/2")).GetProperty("name").GetString());

        var replaced = Json(server, HttpMethod.Put, "/api/items/1", "{\"name\": \"lamp\", \"price\": 9.99}");
        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
        Assert.Equal(9.99m, Parse(server, replaced).GetProperty("price").GetDecimal());
        Assert.Equal(9.99m, Parse(server, server.Get("/api/items/1")).GetProperty("price").GetDecimal());

        Assert.Equal(HttpStatusCode.NoContent, server.Send(HttpMethod.Delete, "/api/items/1").StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, server.Get("/api/items/1").StatusCode);
        Assert.Single(Parse(server, server.Get("/api/items")).EnumerateArray());
    }

    [Theory]
    [InlineData("GET", "/api/items/99")]
    [InlineData("GET", "/api/items/abc")]
    [InlineData("DELETE", "/api/items/99")]
    [InlineData("PUT", "/api/items/99")]
    public void An_unknown_id_is_404(string method, string path)
    {
        using var server = Start();
        var response = method == "PUT"
            ? Json(server, HttpMethod.Put, path, "{\"name\": \"x\", \"price\": 1}")
            : server.Send(new HttpMethod(method), path);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    [Theory]
    [InlineData("{\"name\": \"lamp\", \"price\": }")]
    [InlineData("{\"name\": \"lamp\"}")]
    [InlineData("{\"price\": 3}")]
    [InlineData("{\"name\": 5, \"price\": 3}")]
    [InlineData("{\"name\": \"lamp\", \"price\": \"cheap\"}")]
    [InlineData("{\"name\": \"\", \"price\": 3}")]
    [InlineData("{\"name\": \"lamp\", \"price\": -1}")]
    [InlineData("{\"name\": null, \"price\": 3}")]
    [InlineData("[]")]
    public void Invalid_json_or_fields_are_400(string body)
    {
        using var server = Start();
        Assert.Equal(HttpStatusCode.BadRequest, Json(server, HttpMethod.Post, "/api/items", body).StatusCode);
        Json(server, HttpMethod.Post, "/api/items", "{\"name\": \"lamp\", \"price\": 1}");
        Assert.Equal(HttpStatusCode.BadRequest, Json(server, HttpMethod.Put, "/api/items/1", body).StatusCode);
    }

    [Fact]
    public void A_body_that_is_not_json_is_415_and_other_methods_are_405_with_allow()
    {
        using var server = Start();
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, Json(server, HttpMethod.Post, "/api/items", "name=lamp", "application/x-www-form-urlencoded").StatusCode);
        var patch = server.Send(HttpMethod.Patch, "/api/items/1", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, patch.StatusCode);
        Assert.Equal(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"], patch.Content.Headers.Allow);
        var delete = server.Send(HttpMethod.Delete, "/api/items");
        Assert.Equal(["GET", "HEAD", "POST", "OPTIONS"], delete.Content.Headers.Allow);
    }
}
