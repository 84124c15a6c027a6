// Trailer fields on the server (RFC 9112 §7.1.2): request trailers readable in HttpMessage, response
// trailers sent after a chunked body and read by HttpClient and curl.
using Meerkat.Http;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Http.Server;

public class TrailerTests
{
    private static (Manager Manager, int Port, List<string> Seen) Start()
    {
        var manager = Loop.Create(PollerBackend.Auto);
        var seen = new List<string>();
        var listener = manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind != EventKind.HttpMessage) return;
            var request = e.Request!;
            seen.Add($"{request.GetTrailer("X-Checksum")}|{request.Trailers.Count}|{(request.TryGetTrailer("x-checksum"u8, out var raw) ? raw.Length : -1)}");
            c.BeginResponse(200, -1, "text/plain", ("Trailer", "X-Body-Length, X-Status"));
            c.WriteBody("hello "u8);
            c.WriteBody("trailers"u8);
            c.EndResponse(("X-Body-Length", "14"), ("X-Status", "done"));
        });
        return (manager, listener.LocalEndPoint!.Port, seen);
    }

    [Fact]
    public void Request_trailers_are_readable_in_http_message()
    {
        var (manager, port, seen) = Start();
        using (manager)
        {
            var text = manager.Until(RawClient.ExchangeAsync(port,
                "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\nConnection: close\r\n\r\n",
                "5\r\nhello\r\n0\r\nX-Checksum: abc123\r\nX-Other: 1\r\n\r\n"));
            Assert.StartsWith("HTTP/1.1 200 OK", text, StringComparison.Ordinal);
            Assert.Equal(["abc123|2|6"], seen);
        }
    }

    [Fact]
    public void HttpClient_reads_response_trailers()
    {
        var (manager, port, _) = Start();
        using (manager)
        {
            using var client = new HttpClient();
            var response = manager.Until(client.GetAsync($"http://127.0.0.1:{port}/"));
            Assert.Equal("hello trailers", manager.Until(response.Content.ReadAsStringAsync()));
            Assert.Equal(["14"], response.TrailingHeaders.GetValues("X-Body-Length"));
            Assert.Equal(["done"], response.TrailingHeaders.GetValues("X-Status"));
        }
    }

    [Fact]
    public void Curl_reads_response_trailers()
    {
        string? curl = Peers.Find("curl");
        if (curl is null) { Peers.SkipOrFail("curl"); return; }
        var (manager, port, _) = Start();
        using (manager)
        {
            // -D - dumps the header section and, after the body, the trailer fields curl received.
            var output = manager.Until(Peers.RunAsync(curl, $"-s -D - -o /dev/null http://127.0.0.1:{port}/"));
            Assert.Contains("Transfer-Encoding: chunked", output, StringComparison.Ordinal);
            Assert.Contains("X-Body-Length: 14", output, StringComparison.Ordinal);
            Assert.Contains("X-Status: done", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Trailers_are_refused_for_a_response_with_a_length()
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        Exception? refused = null;
        var listener = manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind != EventKind.HttpMessage) return;
            c.BeginResponse(200, 2, "text/plain");
            c.WriteBody("ok"u8);
            refused = Record.Exception(() => c.EndResponse(("X-Late", "1")));
            c.EndResponse();
        });
        var text = manager.Until(RawClient.ExchangeAsync(listener.LocalEndPoint!.Port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        Assert.EndsWith("\r\n\r\nok", text, StringComparison.Ordinal);
        Assert.IsType<InvalidOperationException>(refused);
        Assert.Contains("chunked", refused!.Message, StringComparison.Ordinal);
    }
}
