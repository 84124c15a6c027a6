// A routed JSON API: a to-do list in memory, with System.Text.Json source generation (AOT-safe).
// Usage: dotnet run --project examples/RoutedJsonApi [-- http://127.0.0.1:8080]
//   curl -s localhost:8080/todos
//   curl -s -X POST localhost:8080/todos -H 'Content-Type: application/json' -d '{"title":"write docs"}'
//   curl -s -X PUT localhost:8080/todos/1 -H 'Content-Type: application/json' -d '{"title":"write docs","done":true}'
//   curl -s -X DELETE localhost:8080/todos/1
using System.Text.Json.Serialization;
using Meerkat;
using Meerkat.Http;
using Meerkat.Http.Json;
using Meerkat.Http.Routing;

string url = args.Length > 0 ? args[0] : "http://127.0.0.1:8080";
var todos = new SortedDictionary<int, Todo>();
int nextId = 1;

var router = new Router();
var api = router.MapGroup("/todos").WithMaxBodySize(16 * 1024);

api.MapGet("/", (c, e, route) => c.ReplyJson(200, [.. todos.Values], AppJson.Default.ListTodo));

api.MapGet("/{id}", (c, e, route) =>
{
    if (route.TryGetInt32("id", out int id) && todos.TryGetValue(id, out var todo)) c.ReplyJson(200, todo, AppJson.Default.Todo);
    else c.ReplyProblem(404, $"There is no to-do {route["id"]}.");
});

api.MapPost("/", (c, e, route) =>
{
    // Answers 415, 413 or 400 (naming the fault) by itself when the body is not a TodoInput.
    if (!c.TryReadJson(e.Request!, AppJson.Default.TodoInput, out var input)) return;
    var todo = new Todo(nextId++, input.Title, input.Done);
    todos[todo.Id] = todo;
    c.ReplyJson(201, todo, AppJson.Default.Todo, ("Location", $"/todos/{todo.Id}"));
});

api.MapPut("/{id}", (c, e, route) =>
{
    if (!route.TryGetInt32("id", out int id) || !todos.ContainsKey(id))
    {
        c.ReplyProblem(404, $"There is no to-do {route["id"]}.");
        return;
    }
    if (!c.TryReadJson(e.Request!, AppJson.Default.TodoInput, out var input)) return;
    c.ReplyJson(200, todos[id] = new Todo(id, input.Title, input.Done), AppJson.Default.Todo);
});

api.MapDelete("/{id}", (c, e, route) =>
{
    if (route.TryGetInt32("id", out int id) && todos.Remove(id)) c.Reply(204, ReadOnlySpan<byte>.Empty);
    else c.ReplyProblem(404, $"There is no to-do {route["id"]}.");
});

using var manager = new Manager();
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
// The router answers 404, 405 with Allow, HEAD and OPTIONS by itself; log each request as it ends.
manager.ListenHttp(url, (c, e) =>
{
    router.Handle(c, e);
    if (e.Kind == EventKind.HttpDone) Console.WriteLine($"{e.Request} -> {e.Request!.ResponseStatus} ({c.Route?.Template ?? "no route"})");
});
Console.WriteLine($"To-do API on {url}/todos (Ctrl+C to stop)");
manager.Run(cts.Token);

internal sealed record Todo(int Id, string Title, bool Done);

internal sealed class TodoInput
{
    public required string Title { get; init; }

    public bool Done { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Todo))]
[JsonSerializable(typeof(TodoInput))]
[JsonSerializable(typeof(List<Todo>))]
internal sealed partial class AppJson : JsonSerializerContext;
