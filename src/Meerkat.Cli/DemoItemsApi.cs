// How this file works
// -------------------
// The demo's JSON API on the router, in memory (issue 12, item 8):
//   GET    /api/items        200, a JSON array of every item, by id
//   POST   /api/items        {"name": string, "price": number} -> 201, Location: /api/items/{id}, the stored item
//   GET    /api/items/{id}   200, the item
//   PUT    /api/items/{id}   the same body -> 200, the stored item
//   DELETE /api/items/{id}   204
// An unknown id (or one that is not an integer) is 404; invalid JSON, a missing or mistyped
// field, an empty name or a negative or non-finite price is 400; a body that is not
// application/json is 415; other methods get the router's 405 with Allow. Errors are RFC 9457
// problem details. The store is locked, so several loops may share it.
using System.Globalization;
using System.Text.Json.Serialization;
using Meerkat.Http;
using Meerkat.Http.Json;
using Meerkat.Http.Routing;

namespace Meerkat.Cli;

/// <summary>An item as stored and returned.</summary>
internal sealed record DemoItem(int Id, string Name, decimal Price);

/// <summary>The body of POST and PUT.</summary>
internal sealed class DemoItemInput
{
    public required string Name { get; init; }

    public required decimal Price { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, RespectNullableAnnotations = true)]
[JsonSerializable(typeof(DemoItem))]
[JsonSerializable(typeof(DemoItemInput))]
[JsonSerializable(typeof(List<DemoItem>))]
internal sealed partial class DemoItemsJson : JsonSerializerContext;

/// <summary>The in-memory items API of <c>meerkat demo</c>.</summary>
internal sealed class DemoItemsApi
{
    private const long MaxBodySize = 64 * 1024;

    private readonly Lock gate = new();
    private readonly SortedDictionary<int, DemoItem> items = [];
    private int nextId = 1;

    /// <summary>Maps the API under <c>/api/items</c> of <paramref name="group"/>.</summary>
    public void Map(RouteGroup group)
    {
        var api = group.MapGroup("/api/items").WithMaxBodySize(MaxBodySize);
        api.MapGet("/", (c, e, route) => c.ReplyJson(200, List(), DemoItemsJson.Default.ListDemoItem));
        api.MapPost("/", (c, e, route) =>
        {
            if (!TryReadInput(c, e.Request!, out var input)) return;
            DemoItem item;
            lock (gate)
            {
                item = new DemoItem(nextId++, input.Name, input.Price);
                items[item.Id] = item;
            }
            c.ReplyJson(201, item, DemoItemsJson.Default.DemoItem, ("Location", $"/api/items/{item.Id.ToString(CultureInfo.InvariantCulture)}"));
        });
        api.MapGet("/{id}", (c, e, route) =>
        {
            if (Find(c, route) is { } item) c.ReplyJson(200, item, DemoItemsJson.Default.DemoItem);
        });
        api.MapPut("/{id}", (c, e, route) =>
        {
            if (Find(c, route) is not { } existing || !TryReadInput(c, e.Request!, out var input)) return;
            var item = existing with { Name = input.Name, Price = input.Price };
            lock (gate) items[item.Id] = item;
            c.ReplyJson(200, item, DemoItemsJson.Default.DemoItem);
        });
        api.MapDelete("/{id}", (c, e, route) =>
        {
            if (Find(c, route) is not { } item) return;
            lock (gate) items.Remove(item.Id);
            c.Reply(204, ReadOnlySpan<byte>.Empty);
        });
    }

    private List<DemoItem> List()
    {
        lock (gate) return [.. items.Values];
    }

    /// <summary>The item of the route's <c>{id}</c>, or null after answering 404.</summary>
    private DemoItem? Find(Connection c, RouteContext route)
    {
        DemoItem? item = null;
        if (route.TryGetInt32("id", out int id))
            lock (gate) item = items.GetValueOrDefault(id);
        if (item is null) c.ReplyProblem(404, $"There is no item {route.GetString("id")}.");
        return item;
    }

    private static bool TryReadInput(Connection c, HttpRequest request, out DemoItemInput input)
    {
        if (!c.TryReadJson(request, DemoItemsJson.Default.DemoItemInput, out input!)) return false;
        string? problem = string.IsNullOrWhiteSpace(input.Name) ? "The field name must be a non-empty string."
            : input.Price < 0 ? "The field price must not be negative."
            : null;
        if (problem is null) return true;
        c.ReplyProblem(400, problem);
        return false;
    }
}
