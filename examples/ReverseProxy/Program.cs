// A reverse proxy in front of a backend, like nginx's proxy_pass: the backend's API under /api,
// its WebSocket under /live, and local pages beside them. Bodies stream both ways in bounded
// memory, hop-by-hop headers are removed, X-Forwarded-For/-Proto/-Host and Via are added, the
// backend's connections are kept alive and reused, and a backend that is down or slow is a 502 or
// a 504 instead of a hang. For a self-contained run the backend is started here too, on its own
// loop (any HTTP/1.1 server works: Kestrel, nginx, a Python app).
// Usage: dotnet run --project examples/ReverseProxy [-- http://127.0.0.1:8080 [BACKEND_URL]]
//   curl -i localhost:8080/api/hello?name=ann          forwarded as GET /hello?name=ann
//   curl -i -T big.iso localhost:8080/api/upload       streamed upstream, never held whole
//   meerkat ws ws://localhost:8080/live/ws             a WebSocket tunnelled to the backend
using Meerkat;
using Meerkat.Http;
using Meerkat.Http.Proxy;
using Meerkat.Http.Routing;
using Meerkat.WebSockets;

string url = args.Length > 0 ? args[0] : "http://127.0.0.1:8080";
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };

string backend;
Thread? backendThread = null;
if (args.Length > 1) backend = args[1];
else (backend, backendThread) = StartBackend(cts.Token);

var router = new Router();
router.MapGet("/", (c, e, route) => c.Reply(200, "Local page. The backend is under /api/ and /live/.\n"));
var options = new ReverseProxyOptions { UpstreamTimeout = TimeSpan.FromSeconds(15) };
router.MapProxy("/api", backend, options);
router.MapProxy("/live", backend, options);

using var manager = new Manager();
manager.ListenHttp(url, router.Handle);
Console.WriteLine($"Listening on {url}, forwarding /api and /live to {backend} (Ctrl+C to stop)");
manager.Run(cts.Token);
backendThread?.Join();

// The demo backend: /hello, a streaming /upload that counts bytes, a WebSocket echo on /ws.
static (string Url, Thread Thread) StartBackend(CancellationToken stop)
{
    var manager = new Manager();
    var router = new Router();
    router.MapGet("/hello", (c, e, route) =>
        c.Reply(200, $"hello {e.Request!.GetQueryParameter("name") ?? "there"}, from the backend (via {e.Request!.GetHeader("Via")}, for {e.Request!.GetHeader("X-Forwarded-For")})\n"));
    router.Map("PUT", "/upload", (c, e, route) =>
    {
        if (e.Kind == EventKind.HttpBody) route.State = (long)(route.State ?? 0L) + e.Data.Length;
        if (e.Kind == EventKind.HttpMessage) c.Reply(200, $"received {route.State ?? 0L} bytes\n");
    }).StreamBody();
    router.MapWebSocket("/ws", (c, e, route) =>
    {
        if (e.Kind == EventKind.WsMessage) c.SendMessage(e.WebSocket!.MessageKind, e.Data);
    });
    var listener = manager.ListenHttp("http://127.0.0.1:0", router.Handle);
    var thread = new Thread(() =>
    {
        using (manager) manager.Run(stop);
    }) { Name = "backend" };
    thread.Start();
    return ($"http://127.0.0.1:{listener.LocalEndPoint!.Port}", thread);
}
