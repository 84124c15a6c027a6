using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Meerkat.Cli;
using Meerkat.Http;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Cli;

/// <summary>The demo's endpoints, in-process, with HttpClient as the real client.</summary>
[Collection(Serial.Name)]
public sealed class DemoTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("meerkat-demo-").FullName;
    private readonly Manager manager = Loop.Create(PollerBackend.Auto);
    private readonly HttpClient client = new();
    private readonly string baseUrl;

    public DemoTests()
    {
        File.WriteAllText(Path.Combine(root, "hello.txt"), "hello, static world\n");
        var listener = manager.ListenHttp("http://127.0.0.1:0", new DemoServer(manager, root).Routed(new DemoItemsApi()));
        baseUrl = $"http://127.0.0.1:{listener.LocalEndPoint!.Port}";
    }

    public void Dispose()
    {
        client.Dispose();
        manager.Dispose();
        Directory.Delete(root, recursive: true);
    }

    private HttpResponseMessage Send(HttpRequestMessage request) => manager.Until(client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead));

    private HttpResponseMessage Get(string path) => Send(new HttpRequestMessage(HttpMethod.Get, baseUrl + path));

    private string Text(HttpResponseMessage response) => manager.Until(response.Content.ReadAsStringAsync());

    [Fact]
    public void Plaintext_json_status_and_dashboard()
    {
        Assert.Equal("Hello, World!", Text(Get("/plaintext")));
        Assert.Equal("""{"message":"Hello, World!"}""", Text(Get("/json")));
        Assert.Equal(418, (int)Get("/status/418").StatusCode);
        var dashboard = Text(Get("/"));
        foreach (var link in new[] { "/plaintext", "/json", "/echo", "/bytes/", "/stream-bytes/", "/delay/", "/status/", "/upload", "/sse", "/files/" })
            Assert.Contains(link, dashboard, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, Get("/nope").StatusCode);
    }

    [Fact]
    public void The_json_api_is_on_the_router_beside_the_other_endpoints()
    {
        var created = Send(new HttpRequestMessage(HttpMethod.Post, baseUrl + "/api/items") { Content = new StringContent("{\"name\": \"tea\", \"price\": 2.5}", Encoding.UTF8, "application/json") });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("/api/items/1", created.Headers.Location!.OriginalString);
        Assert.Equal("""{"id":1,"name":"tea","price":2.5}""", Text(Get("/api/items/1")));
        Assert.Equal("""[{"id":1,"name":"tea","price":2.5}]""", Text(Get("/api/items")));
        var wrongType = Send(new HttpRequestMessage(HttpMethod.Put, baseUrl + "/api/items/1") { Content = new StringContent("name=tea", Encoding.UTF8, "text/plain") });
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, wrongType.StatusCode);
        var patch = Send(new HttpRequestMessage(HttpMethod.Patch, baseUrl + "/api/items/1"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, patch.StatusCode);
        Assert.Equal(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"], patch.Content.Headers.Allow);
        Assert.Equal(HttpStatusCode.NoContent, Send(new HttpRequestMessage(HttpMethod.Delete, baseUrl + "/api/items/1")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, Get("/api/items/1").StatusCode);
        Assert.Equal("Hello, World!", Text(Get("/plaintext"))); // the rest still answers
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    public void Echo_returns_the_body_and_its_content_type(string method)
    {
        var content = new StringContent("{\"a\":1}", Encoding.UTF8, "application/json");
        var response = Send(new HttpRequestMessage(new HttpMethod(method), baseUrl + "/echo") { Content = content });
        Assert.Equal("{\"a\":1}", Text(response));
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public void Delay_is_answered_later_by_a_worker_thread()
    {
        var clock = Stopwatch.StartNew();
        Assert.Equal("""{"delayed_ms":200}""", Text(Get("/delay/200")));
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void Server_sent_events_arrive_then_the_stream_ends()
    {
        var response = Get("/sse?count=3&interval=20");
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("data: 0\n\ndata: 1\n\ndata: 2\n\n", Text(response));
    }

    [Fact]
    public void Upload_streams_the_body_through_sha256()
    {
        var body = RandomNumberGenerator.GetBytes(3_000_000);
        var response = Send(new HttpRequestMessage(HttpMethod.Post, baseUrl + "/upload") { Content = new ByteArrayContent(body) });
        Assert.Equal($$"""{"bytes":3000000,"sha256":"{{Convert.ToHexStringLower(SHA256.HashData(body))}}"}""", Text(response));
    }

    [Fact]
    public void Multipart_upload_is_read_part_by_part()
    {
        var file = RandomNumberGenerator.GetBytes(200_000);
        using var form = new MultipartFormDataContent();
        form.Add(new StringContent("value"), "field");
        form.Add(new ByteArrayContent(file), "file", "data.bin");
        var response = Send(new HttpRequestMessage(HttpMethod.Post, baseUrl + "/upload") { Content = form });
        string text = Text(response);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains($$"""{"name":"field","filename":null,"bytes":5,"sha256":"{{Convert.ToHexStringLower(SHA256.HashData("value"u8))}}"}""", text, StringComparison.Ordinal);
        Assert.Contains($$"""{"name":"file","filename":"data.bin","bytes":200000,"sha256":"{{Convert.ToHexStringLower(SHA256.HashData(file))}}"}""", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/bytes/")]
    [InlineData("/stream-bytes/")]
    public void A_one_gibibyte_body_streams_in_flat_memory(string endpoint)
    {
        const long Size = 1L << 30;
        GC.Collect();
        long before = Environment.WorkingSet, peak = before;
        var response = Get(endpoint + Size);
        Assert.Equal(endpoint == "/stream-bytes/", response.Headers.TransferEncodingChunked == true);
        var read = Task.Run(async () =>
        {
            using var stream = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[256 * 1024];
            long total = 0;
            int n;
            while ((n = await stream.ReadAsync(buffer)) > 0)
            {
                for (int i = 0; i < n; i += 4093)
                    if (buffer[i] != (byte)(total + i)) throw new InvalidDataException($"byte {total + i} is wrong");
                total += n;
            }
            return total;
        });
        manager.Until(() => { peak = Math.Max(peak, Environment.WorkingSet); return read.IsCompleted; }, TimeSpan.FromSeconds(120), "the 1 GiB body");
        Assert.Equal(Size, read.Result);
        Assert.True(peak - before < 64L << 20, $"the process grew by {(peak - before) >> 20} MiB");
    }

    [Fact]
    public void Echo_streams_a_gibibyte_back_in_flat_memory()
    {
        const long Size = 1L << 30;
        static byte At(long i) => (byte)(i ^ (i >> 10));
        GC.Collect();
        long before = Environment.WorkingSet, peak = before;
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        socket.Connect(IPAddress.Loopback, new Uri(baseUrl).Port);
        using var stream = new System.Net.Sockets.NetworkStream(socket);
        var send = Task.Run(async () =>
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-test\r\nContent-Length: {Size}\r\n\r\n"));
            var buffer = new byte[256 * 1024];
            for (long sent = 0; sent < Size; sent += buffer.Length)
            {
                for (int i = 0; i < buffer.Length; i++) buffer[i] = At(sent + i);
                await stream.WriteAsync(buffer);
            }
        });
        var receive = Task.Run(async () =>
        {
            var buffer = new byte[256 * 1024];
            int held = 0, headEnd;
            while ((headEnd = buffer.AsSpan(0, held).IndexOf("\r\n\r\n"u8)) < 0)
            {
                int n = await stream.ReadAsync(buffer.AsMemory(held));
                if (n == 0) throw new EndOfStreamException("no response head");
                held += n;
            }
            string head = Encoding.ASCII.GetString(buffer, 0, headEnd);
            Assert.StartsWith("HTTP/1.1 200 ", head, StringComparison.Ordinal);
            Assert.Contains($"Content-Length: {Size}", head, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("Content-Type: application/x-test", head, StringComparison.OrdinalIgnoreCase);
            long total = 0;
            void Check(ReadOnlySpan<byte> piece)
            {
                for (int i = 0; i < piece.Length; i += 1021)
                    if (piece[i] != At(total + i)) throw new InvalidDataException($"byte {total + i} is wrong");
                total += piece.Length;
            }
            Check(buffer.AsSpan(headEnd + 4, held - headEnd - 4));
            while (total < Size)
            {
                int n = await stream.ReadAsync(buffer);
                if (n == 0) throw new EndOfStreamException($"the echo ended after {total} bytes");
                Check(buffer.AsSpan(0, n));
            }
            return total;
        });
        manager.Until(() => { peak = Math.Max(peak, Environment.WorkingSet); return receive.IsCompleted && send.IsCompleted; }, TimeSpan.FromSeconds(300), "the 1 GiB echo");
        send.GetAwaiter().GetResult();
        Assert.Equal(Size, receive.GetAwaiter().GetResult());
        Assert.True(peak - before < 64L << 20, $"the process grew by {(peak - before) >> 20} MiB");
    }

    [Fact]
    public void WebSocket_echo_returns_the_close_code_and_reason()
    {
        using var ws = new System.Net.WebSockets.ClientWebSocket();
        manager.Until(ws.ConnectAsync(new Uri(baseUrl.Replace("http:", "ws:", StringComparison.Ordinal) + "/ws"), TestContext.Current.CancellationToken));
        manager.Until(ws.CloseAsync((System.Net.WebSockets.WebSocketCloseStatus)4000, "bye for now", TestContext.Current.CancellationToken));
        Assert.Equal((System.Net.WebSockets.WebSocketCloseStatus)4000, ws.CloseStatus);
        Assert.Equal("bye for now", ws.CloseStatusDescription);
    }

    [Fact]
    public void Files_are_served_with_validators_ranges_and_safe_paths()
    {
        var whole = Get("/files/hello.txt");
        Assert.Equal("hello, static world\n", Text(whole));
        Assert.Equal("text/plain; charset=utf-8", whole.Content.Headers.ContentType!.ToString());
        var etag = whole.Headers.ETag!;

        var ranged = new HttpRequestMessage(HttpMethod.Get, baseUrl + "/files/hello.txt");
        ranged.Headers.Range = new RangeHeaderValue(7, 12);
        var partial = Send(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal("static", Text(partial));
        Assert.Equal("bytes 7-12/20", partial.Content.Headers.ContentRange!.ToString());

        var conditional = new HttpRequestMessage(HttpMethod.Get, baseUrl + "/files/hello.txt");
        conditional.Headers.IfNoneMatch.Add(etag);
        Assert.Equal(HttpStatusCode.NotModified, Send(conditional).StatusCode);

        var head = Send(new HttpRequestMessage(HttpMethod.Head, baseUrl + "/files/hello.txt"));
        Assert.Equal(20, head.Content.Headers.ContentLength);
        Assert.Equal("", Text(head));

        var unsatisfiable = new HttpRequestMessage(HttpMethod.Get, baseUrl + "/files/hello.txt");
        unsatisfiable.Headers.Range = new RangeHeaderValue(100, null);
        var refused = Send(unsatisfiable);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, refused.StatusCode);
        Assert.Equal("bytes */20", refused.Content.Headers.ContentRange!.ToString());

        // Raw bytes: HttpClient would normalise these paths before sending them.
        int port = new Uri(baseUrl).Port;
        foreach (var evil in new[] { "/files/%2e%2e/%2e%2e/etc/passwd", "/files/..%2F..%2Fetc%2Fpasswd", "/files/../../etc/passwd" })
        {
            var text = manager.Until(Meerkat.Tests.Http.Server.RawClient.ExchangeAsync(port, $"GET {evil} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
            Assert.StartsWith("HTTP/1.1 400 ", text, StringComparison.Ordinal);
        }
        Assert.Contains("hello.txt", Text(Get("/files/")), StringComparison.Ordinal);
    }
}
