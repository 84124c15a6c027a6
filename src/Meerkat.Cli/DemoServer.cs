using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Meerkat.Http;
using Meerkat.Http.Multipart;
using Meerkat.Http.Routing;
using Meerkat.Http.StaticFiles;
using Meerkat.WebSockets;

namespace Meerkat.Cli;

/// <summary>The demo's endpoints, one handler; tests run it in-process. With <paramref name="telemetry"/>
/// the front page's figures are live (<c>/api/live</c>) and <c>/metrics</c> answers.</summary>
internal sealed class DemoServer(Manager manager, string root, DemoTelemetry? telemetry = null)
{
    private readonly StaticFileOptions files = new() { Root = root, EnableDirectoryListing = true };

    /// <summary>The live figures are taken every second whether or not a dashboard is open, so that its
    /// chart shows the last two minutes at once.</summary>
    private readonly ManagerTimer? ticker = telemetry is null ? null : manager.AddTimer(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), _ => telemetry!.Live.Refresh());

    /// <summary>/ws: a WebSocket echo (text stays text, binary stays binary), compressed when asked.</summary>
    private static readonly WebSocketServerOptions WebSocketEcho = new() { Deflate = new PerMessageDeflateOptions() };

    /// <summary>The demo on a router: the JSON API of <paramref name="api"/> (shared by every loop) under
    /// <c>/api/items</c>, every other path to <see cref="Handle"/> through the router's fallback.</summary>
    public ConnectionHandler Routed(DemoItemsApi api)
    {
        var router = new Router();
        api.Map(router);
        router.MapFallback((c, e, route) => Handle(c, e)).Receive(RouteEvents.Headers | RouteEvents.Body | RouteEvents.Write);
        return (c, e) =>
        {
            // The router hands Close only to upgraded requests: what Handle keeps on the connection is freed here.
            if (e.Kind == EventKind.Close && c.Tag is IDisposable owned)
            {
                c.Tag = null;
                owned.Dispose();
            }
            router.Handle(c, e);
        };
    }

    public void Handle(Connection c, Event e)
    {
        switch (e.Kind)
        {
            case EventKind.WsMessage:
                c.SendMessage(e.WebSocket!.MessageKind, e.Data);
                break;
            case EventKind.HttpHeaders when e.Request!.PathIs("/upload"u8):
                e.Request!.StreamBody = true;
                c.Tag = new Upload(e.Request!.GetHeader("Content-Type"));
                break;
            case EventKind.HttpHeaders when IsEcho(e.Request!):
                StartEcho(c, e.Request!);
                break;
            case EventKind.HttpBody when c.Tag is Upload upload:
                upload.Feed(e.Data);
                break;
            case EventKind.HttpBody when c.Tag is Echo echo:
                echo.Write(c, e.Request!, e.Data);
                break;
            case EventKind.HttpMessage when c.Tag is Echo echo:
                c.Tag = null;
                echo.End(c, e.Request!);
                break;
            case EventKind.HttpMessage:
                Route(c, e.Request!);
                break;
            case EventKind.WsControl when e.WebSocket!.Control == WebSocketControl.Close:
                // The engine has already answered with the same code and reason (RFC 6455 §5.5.1).
                break;
            case EventKind.Wakeup:
                c.Reply(200, e.Data, "application/json");
                break;
            case EventKind.Timer when c.Tag is SseState sse:
                SendNextEvent(c, sse, e.Timer!);
                break;
            case EventKind.Timer when c.Tag is Dashboard.LiveFeed feed:
                Dashboard.SendSnapshot(c, feed);
                break;
            case EventKind.Close:
                (c.Tag as IDisposable)?.Dispose();
                break;
        }
    }

    private void Route(Connection c, HttpRequest request)
    {
        string path = request.PathString;
        if (path == "/") c.ServeStatic(Dashboard.Files, "/index.html");
        else if (path.StartsWith("/dashboard/", StringComparison.Ordinal)) c.ServeStatic(Dashboard.Files, path["/dashboard".Length..]);
        else if (path == "/api/live" && telemetry is not null) Dashboard.StartLiveFeed(c, telemetry.Live);
        else if (path == "/metrics" && telemetry is not null) telemetry.Prometheus.Reply(c);
        else if (path == "/plaintext") c.Reply(200, "Hello, World!"u8, "text/plain");
        else if (path == "/json") c.Reply(200, """{"message":"Hello, World!"}"""u8, "application/json");
        else if (path == "/upload" && request.IsMethod("POST"u8)) ReplyUpload(c);
        else if (TrySuffix(path, "/bytes/", out long n)) StreamBytes(c, n, chunked: false);
        else if (TrySuffix(path, "/stream-bytes/", out n)) StreamBytes(c, n, chunked: true);
        else if (TrySuffix(path, "/delay/", out n)) Delay(c, n);
        else if (TrySuffix(path, "/status/", out n) && n is >= 200 and <= 999) c.Reply((int)n, ReadOnlySpan<byte>.Empty);
        else if (path == "/sse") StartEvents(c, request);
        else if (path == "/ws") c.UpgradeToWebSocket(WebSocketEcho);
        else if (path == "/files") c.Reply(301, ReadOnlySpan<byte>.Empty, null, ("Location", "/files/"));
        else if (path.StartsWith("/files/", StringComparison.Ordinal))
            c.ServeStatic(files, Encoding.Latin1.GetString(request.Target)[6..]);
        else c.Reply(404, $"no such endpoint: {path}\n");
    }

    private static bool IsEcho(HttpRequest request) => request.PathIs("/echo"u8) && (request.IsMethod("POST"u8) || request.IsMethod("PUT"u8));

    private static void StartEcho(Connection c, HttpRequest request)
    {
        request.StreamBody = true;
        c.Tag = new Echo();
    }

    /// <summary>POST /echo: each piece of the request body is written back as it arrives (the
    /// response starts with the first piece), so a body of any size passes in bounded memory: when
    /// the client reads slower than it sends, the send buffer reaches its high-water mark and the
    /// connection stops reading until it drains.</summary>
    private sealed class Echo
    {
        private bool started;

        public void Write(Connection c, HttpRequest request, ReadOnlySpan<byte> piece)
        {
            if (!started)
            {
                started = true;
                c.BeginResponse(200, request.ContentLength, ContentType(request));
            }
            c.WriteBody(piece);
        }

        public void End(Connection c, HttpRequest request)
        {
            if (started) c.EndResponse();
            else c.Reply(200, ReadOnlySpan<byte>.Empty, ContentType(request));
        }

        private static string ContentType(HttpRequest request) => request.GetHeader("Content-Type") ?? "application/octet-stream";
    }

    /// <summary>An upload streamed through SHA-256 (and, for multipart/form-data, through the
    /// streaming multipart reader, one hash per part): memory stays flat for any size.</summary>
    private sealed class Upload : IDisposable
    {
        private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly MultipartReader? form;
        private readonly List<string> parts = [];
        private IncrementalHash? partHash;
        private long partBytes;
        private string partLabel = "";

        public Upload(string? contentType)
        {
            if (contentType?.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase) == true)
                MultipartReader.TryCreate(contentType, out form);
        }

        public long Bytes { get; private set; }

        public string? Problem { get; private set; }

        public void Feed(ReadOnlySpan<byte> data)
        {
            hash.AppendData(data);
            Bytes += data.Length;
            while (form is not null && !data.IsEmpty && Problem is null)
            {
                var e = form.Read(data, out int consumed);
                data = data[consumed..];
                switch (e.Kind)
                {
                    case MultipartEventKind.PartBegin:
                        partHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                        partBytes = 0;
                        partLabel = $$"""{"name":{{Json(e.Part!.Name)}},"filename":{{Json(e.Part.FileName)}}""";
                        break;
                    case MultipartEventKind.PartData:
                        partHash!.AppendData(e.Data);
                        partBytes += e.Data.Length;
                        break;
                    case MultipartEventKind.PartEnd:
                        parts.Add($$"""{{partLabel}},"bytes":{{partBytes}},"sha256":"{{Convert.ToHexStringLower(partHash!.GetHashAndReset())}}"}""");
                        partHash.Dispose();
                        partHash = null;
                        break;
                    case MultipartEventKind.Error:
                        Problem = e.Error.ToString();
                        break;
                }
                if (consumed == 0 && e.Kind == MultipartEventKind.NeedMoreData) break;
            }
        }

        public string Report()
        {
            string digest = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (form is null) return $$"""{"bytes":{{Bytes}},"sha256":"{{digest}}"}""";
            if (Problem is null && !form.IsEnded) Problem = form.Complete().ToString();
            return $$"""{"bytes":{{Bytes}},"sha256":"{{digest}}","parts":[{{string.Join(",", parts)}}]}""";
        }

        public void Dispose()
        {
            hash.Dispose();
            partHash?.Dispose();
        }

        private static string Json(string? value) => value is null ? "null" : System.Text.Json.JsonSerializer.Serialize(value, DemoJson.Default.String);
    }

    /// <summary>The body was streamed: answer with its size and digest.</summary>
    private static void ReplyUpload(Connection c)
    {
        using var upload = (Upload)c.Tag!;
        c.Tag = null;
        string report = upload.Report();
        if (upload.Problem is not null) c.Reply(400, $"malformed multipart body: {upload.Problem}\n");
        else c.Reply(200, report, "application/json");
    }

    /// <summary>N bytes, byte i being i mod 256, produced as the connection drains: flat memory for any N.</summary>
    private static void StreamBytes(Connection c, long count, bool chunked)
    {
        long sent = 0;
        c.StreamResponse(200, chunked ? -1 : count, "application/octet-stream", destination =>
        {
            int n = (int)Math.Min(destination.Length, count - sent);
            for (int i = 0; i < n; i++) destination[i] = (byte)(sent + i);
            sent += n;
            return n;
        });
    }

    /// <summary>A deferred response: a worker thread answers through a wakeup.</summary>
    private void Delay(Connection c, long milliseconds)
    {
        long id = c.Id;
        _ = Task.Run(async () =>
        {
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(milliseconds, 60_000)));
            manager.Wakeup(id, Encoding.UTF8.GetBytes($$"""{"delayed_ms":{{milliseconds}}}"""));
        });
    }

    private sealed class SseState(int count)
    {
        public int Count { get; } = count;
        public int Sent { get; set; }
    }

    private static void StartEvents(Connection c, HttpRequest request)
    {
        int count = int.TryParse(request.GetQueryParameter("count"), CultureInfo.InvariantCulture, out var k) ? Math.Clamp(k, 0, 10_000) : 10;
        int interval = int.TryParse(request.GetQueryParameter("interval"), CultureInfo.InvariantCulture, out var ms) ? Math.Clamp(ms, 0, 60_000) : 1000;
        c.BeginEventStream();
        if (count == 0) { c.EndResponse(); return; }
        c.Tag = new SseState(count);
        c.AddTimer(TimeSpan.Zero, TimeSpan.FromMilliseconds(Math.Max(interval, 1)));
    }

    private static void SendNextEvent(Connection c, SseState sse, ManagerTimer timer)
    {
        c.SendEvent(sse.Sent.ToString(CultureInfo.InvariantCulture));
        if (++sse.Sent < sse.Count) return;
        timer.Cancel();
        c.Tag = null;
        c.EndResponse();
    }

    private static bool TrySuffix(string path, string prefix, out long value)
    {
        value = 0;
        return path.StartsWith(prefix, StringComparison.Ordinal)
            && long.TryParse(path.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class DemoJson : System.Text.Json.Serialization.JsonSerializerContext;
