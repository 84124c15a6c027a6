// A WebSocket chat: a browser page (embedded in the program) and a server that relays each
// message to everyone in the same room. Rooms come from the route (/chat/{room}), names from the
// query (?name=). Each member is the route's per-request State: set by a filter before the
// upgrade, it lives on with the WebSocket and is disposed (leaving the room) when it closes.
// Usage: dotnet run --project examples/WebSocketChat [-- http://127.0.0.1:8080]
//   then open http://127.0.0.1:8080/?room=lobby&name=ann in two browser tabs
using Meerkat;
using Meerkat.Http;
using Meerkat.Http.Routing;
using Meerkat.Http.StaticFiles;
using Meerkat.WebSockets;

string url = args.Length > 0 ? args[0] : "http://127.0.0.1:8080";
var rooms = new Dictionary<string, List<Member>>();
var router = new Router();

router.MapWebSocket("/chat/{room}", (c, e, route) =>
{
    var member = (Member)route.State!;
    switch (e.Kind)
    {
        case EventKind.WsOpen:
            member.Join(c);
            break;
        case EventKind.WsMessage when e.WebSocket!.IsText:
            member.Say($"{member.Name}: {e.WebSocketText}");
            break;
    }
}, new WebSocketServerOptions { MaxMessageSize = 4096 })
.AddFilter((c, request, route) =>
{
    string name = request.GetQueryParameter("name") is { Length: > 0 and <= 32 } given ? given : "guest";
    route.State = new Member(rooms, route["room"] ?? "lobby", name);
    return true;
});

router.MapStaticFiles("/", new StaticFileOptions { Source = FileSource.FromEmbeddedResources(typeof(Member).Assembly, "wwwroot/") });

using var manager = new Manager();
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
manager.ListenHttp(url, router.Handle);
Console.WriteLine($"Chat on {url}/ (Ctrl+C to stop)");
manager.Run(cts.Token);

/// <summary>One person in one room; disposed by the router when their WebSocket closes.</summary>
internal sealed class Member(Dictionary<string, List<Member>> rooms, string room, string name) : IDisposable
{
    private Connection? connection;

    public string Name => name;

    public void Join(Connection c)
    {
        connection = c;
        if (!rooms.TryGetValue(room, out var members)) rooms[room] = members = [];
        members.Add(this);
        Say($"* {name} joined {room} ({members.Count} here)");
    }

    public void Say(string text)
    {
        foreach (var member in rooms.GetValueOrDefault(room) ?? [])
            if (member.connection is { IsWritable: true } c) c.SendText(text); // a member who stopped reading misses lines
    }

    public void Dispose()
    {
        if (connection is null || !rooms.TryGetValue(room, out var members)) return;
        members.Remove(this);
        connection = null;
        if (members.Count == 0) rooms.Remove(room);
        else Say($"* {name} left");
    }
}
