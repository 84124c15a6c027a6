using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Meerkat.Http;
using Meerkat.Http.Json;
using Meerkat.Http.Routing;
using Meerkat.Tests.Http.Routing;

namespace Meerkat.Tests.Http.Json;

public sealed class Item
{
    public int Id { get; set; }

    public required string Name { get; set; }

    public required decimal Price { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Item))]
[JsonSerializable(typeof(List<Item>))]
internal sealed partial class TestJson : JsonSerializerContext;

public class HttpJsonTests
{
    private static RoutedServer Start()
    {
        var router = new Router();
        router.MapPost("/items", (c, e, route) =>
        {
            if (!c.TryReadJson(e.Request!, TestJson.Default.Item, out var item, maxBytes: 200)) return;
            item.Id = 7;
            c.ReplyJson(201, item, TestJson.Default.Item, ("Location", "/items/7"));
        });
        router.MapGet("/items", (c, e, route) =>
            c.ReplyJson(200, [new Item { Id = 1, Name = "a", Price = 1.5m }, new Item { Id = 2, Name = "b\"", Price = 2 }], TestJson.Default.ListItem));
        router.MapPut("/small", (c, e, route) =>
        {
            if (c.TryReadJson(e.Request!, TestJson.Default.Item, out var item)) c.ReplyJson(200, item, TestJson.Default.Item);
        }).WithMaxBodySize(16);
        return new RoutedServer(router);
    }

    private static HttpResponseMessage Post(RoutedServer server, string path, string body, string? contentType = "application/json") =>
        server.Send(HttpMethod.Post, path, contentType is null ? new ByteArrayContent(Encoding.UTF8.GetBytes(body)) : new StringContent(body, null, contentType));

    private static JsonElement Problem(RoutedServer server, HttpResponseMessage response, int status)
    {
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = JsonDocument.Parse(server.Text(response)).RootElement;
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        return problem;
    }

    [Fact]
    public void A_json_body_is_read_into_its_type_and_the_answer_written_from_it()
    {
        using var server = Start();
        var response = Post(server, "/items", "{\"name\": \"lamp\", \"price\": 12.5}");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("/items/7", response.Headers.Location!.OriginalString);
        Assert.Equal("{\"id\":7,\"name\":\"lamp\",\"price\":12.5}", server.Text(response));

        var list = server.Get("/items");
        Assert.Equal("[{\"id\":1,\"name\":\"a\",\"price\":1.5},{\"id\":2,\"name\":\"b\\u0022\",\"price\":2}]", server.Text(list));
        Assert.Equal(list.Content.Headers.ContentLength, Encoding.UTF8.GetByteCount(server.Text(list)));
    }

    [Fact]
    public void Json_media_types_with_a_suffix_and_utf8_charset_are_accepted()
    {
        using var server = Start();
        Assert.Equal(HttpStatusCode.Created, Post(server, "/items", "{\"name\":\"a\",\"price\":1}", "application/merge-patch+json").StatusCode);
        Assert.Equal(HttpStatusCode.Created, server.Send(HttpMethod.Post, "/items",
            new StringContent("{\"name\":\"a\",\"price\":1}", Encoding.UTF8, "application/json")).StatusCode);
    }

    [Theory]
    [InlineData("{\"name\": \"lamp\", \"price\": }", "Invalid JSON", "LineNumber: 0")]
    [InlineData("{\"name\": \"lamp\"", "Invalid JSON", "")]
    [InlineData("{\"name\": \"lamp\", \"price\": \"cheap\"}", "$.price", "")]
    [InlineData("{\"name\": \"lamp\"}", "missing required properties", "price")]
    [InlineData("{\"price\": 3}", "missing required properties", "name")]
    [InlineData("null", "The JSON body is null", "Item")]
    [InlineData("[1, 2]", "Invalid JSON", "")]
    public void Bad_json_or_a_missing_field_is_400_naming_the_problem(string body, string expected, string alsoExpected)
    {
        using var server = Start();
        var problem = Problem(server, Post(server, "/items", body), 400);
        string detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains(expected, detail);
        Assert.Contains(alsoExpected, detail);
        Assert.Equal("Bad Request", problem.GetProperty("title").GetString());
    }

    [Fact]
    public void An_empty_body_is_400()
    {
        using var server = Start();
        string answer = server.Raw("POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 400 ", answer);
        Assert.Contains("The request body is empty; expected JSON.", answer);
    }

    [Fact]
    public void Invalid_utf8_inside_json_is_400()
    {
        using var server = Start();
        var body = new byte[] { (byte)'{', (byte)'"', (byte)'n', (byte)'a', (byte)'m', (byte)'e', (byte)'"', (byte)':', (byte)'"', 0xFF, (byte)'"', (byte)'}' };
        var response = server.Send(HttpMethod.Post, "/items", new ByteArrayContent(body) { Headers = { { "Content-Type", "application/json" } } });
        Assert.Contains("Invalid JSON", Problem(server, response, 400).GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("text/plain", "The Content-Type is text/plain; expected application/json.")]
    [InlineData(null, "The request has no Content-Type; expected application/json.")]
    [InlineData("application/json; charset=iso-8859-1", "The charset iso-8859-1 is not supported")]
    public void A_body_that_is_not_json_is_415(string? contentType, string detail)
    {
        using var server = Start();
        var response = contentType is null
            ? Post(server, "/items", "{}", null)
            : server.Send(HttpMethod.Post, "/items", new ByteArrayContent("{}"u8.ToArray()) { Headers = { { "Content-Type", contentType } } });
        Assert.Contains(detail, Problem(server, response, 415).GetProperty("detail").GetString());
    }

    [Fact]
    public void A_body_over_the_limit_is_413_from_the_reader_or_the_route()
    {
        using var server = Start();
        string big = "{\"name\": \"" + new string('x', 300) + "\", \"price\": 1}";
        Assert.Contains("exceeds the limit of 200 bytes", Problem(server, Post(server, "/items", big), 413).GetProperty("detail").GetString());
        var route = server.Send(HttpMethod.Put, "/small", new StringContent("{\"name\":\"abcdefgh\",\"price\":1}", null, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, route.StatusCode);
    }
}
