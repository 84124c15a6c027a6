using System.Collections.Concurrent;
using Process = System.Diagnostics.Process;
using ProcessStartInfo = System.Diagnostics.ProcessStartInfo;
using System.Net;
using System.Net.Security;
using System.Text;
using Meerkat.Http;
using Meerkat.Http.StaticFiles;
using Meerkat.Tests.Core;
using Meerkat.Tests.Tls;
using Meerkat.Tests.WebSockets.Glue;
using Meerkat.Tls;

namespace Meerkat.Tests.Http2;

/// <summary>
/// The HTTP/2 server as users get it from <c>ListenHttp</c> (h2 by ALPN on https://, h2c by prior
/// knowledge and by Upgrade on http://, beside HTTP/1.1), against clients nobody here wrote: curl,
/// HttpClient with HttpVersion.Version20, Python's h2. Every test runs with the lifecycle checker on,
/// so every stream's HttpHeaders ... HttpDone set is checked as it interleaves with the others.
/// </summary>
public class Http2ServerIntegrationTests
{
    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Curl_gets_h2c_by_prior_knowledge_and_by_upgrade_and_http11_on_the_same_port(PollerBackend backend)
    {
        string curl = Curl();
        using var server = new H2Server(backend, (c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage) c.Reply(200, $"{e.Request!.MethodString} {e.Request!.PathString} {e.Request!.VersionMajor}\n");
        });
        string url = $"http://127.0.0.1:{server.Port}";
        string prior = server.Run(Peer(curl, "-s", "--http2-prior-knowledge", "-w", "%{http_version}", url + "/prior"));
        string upgrade = server.Run(Peer(curl, "-s", "--http2", "-w", "%{http_version}", url + "/upgrade"));
        string plain = server.Run(Peer(curl, "-s", "-w", "%{http_version}", url + "/plain"));
        Assert.Equal("GET /prior 2\n2", prior);
        Assert.Equal("GET /upgrade 2\n2", upgrade);
        Assert.Equal("GET /plain 1\n1.1", plain);
        server.WaitForCloses(3);
        Assert.Equal(3, server.Log.Count(EventKind.HttpDone));
        Assert.All(server.Outcomes, o => Assert.Equal(HttpOutcome.Completed, o));
        server.Log.AssertBalanced(server.Listener);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Curl_gets_h2_over_tls_chosen_by_alpn(PollerBackend backend)
    {
        string curl = Curl();
        using var server = new H2Server(backend, (c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage) c.Reply(200, $"{c.TlsSession!.ApplicationProtocol} {e.Request!.PathString}\n");
        }, tls: true);
        string ca = CaFile();
        string h2 = server.Run(Peer(curl, "-s", "--http2", "--cacert", ca, "-w", "%{http_version}", $"https://localhost:{server.Port}/a"));
        string h1 = server.Run(Peer(curl, "-s", "--http1.1", "--cacert", ca, "-w", "%{http_version}", $"https://localhost:{server.Port}/b"));
        Assert.Equal("h2 /a\n2", h2);
        Assert.Equal("http/1.1 /b\n1.1", h1);
        server.WaitForCloses(2);
        server.Log.AssertBalanced(server.Listener);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Deferred_responses_on_twenty_streams_at_once_are_answered_from_a_worker_through_their_request_ids(PollerBackend backend)
    {
        // Every request waits until all twenty are in: the streams are open together on one
        // connection; a worker thread answers them in reverse order by Wakeup to e.Request.Id.
        const int Count = 20;
        var waiting = new ConcurrentQueue<(long Id, string Path)>();
        int open = 0, mostOpen = 0;
        Manager? loop = null;
        using var server = new H2Server(backend, (c, e) =>
        {
            switch (e.Kind)
            {
                case EventKind.HttpHeaders:
                    mostOpen = Math.Max(mostOpen, ++open);
                    break;
                case EventKind.HttpMessage:
                    waiting.Enqueue((e.Request!.Id, e.Request!.PathString));
                    if (waiting.Count == Count)
                    {
                        var all = waiting.ToArray();
                        Task.Run(() =>
                        {
                            foreach (var (id, path) in all.Reverse()) Assert.True(loop!.Wakeup(id, Encoding.UTF8.GetBytes("answer to " + path)));
                        });
                    }
                    break;
                case EventKind.Wakeup:
                    c.Reply(200, e.Data, "text/plain", ("x-path", e.Request!.PathString));
                    break;
                case EventKind.HttpDone:
                    open--;
                    break;
            }
        });
        loop = server.Manager;
        using var client = H2cClient();
        var responses = Task.WhenAll(Enumerable.Range(0, Count).Select(i => client.GetAsync($"http://127.0.0.1:{server.Port}/r{i}")));
        var results = server.Run(responses);
        for (int i = 0; i < Count; i++)
        {
            Assert.Equal(HttpVersion.Version20, results[i].Version);
            Assert.Equal($"answer to /r{i}", results[i].Content.ReadAsStringAsync().GetAwaiter().GetResult());
            Assert.Equal($"/r{i}", results[i].Headers.GetValues("x-path").Single());
        }

        Assert.Equal(Count, mostOpen);
        Assert.Equal(1, server.Log.Count(EventKind.Accept));
        Assert.Equal(Count, server.Log.Count(EventKind.HttpDone));
        Assert.All(server.Outcomes, o => Assert.Equal(HttpOutcome.Completed, o));
    }

    [Fact]
    public void A_wakeup_to_a_finished_request_is_refused()
    {
        long id = 0;
        using var server = new H2Server(PollerBackend.Auto, (c, e) =>
        {
            if (e.Kind != EventKind.HttpMessage) return;
            id = e.Request!.Id;
            c.Reply(200, "done\n");
        });
        using var client = H2cClient();
        server.Run(client.GetStringAsync($"http://127.0.0.1:{server.Port}/"));
        server.Manager.Until(() => server.Log.Count(EventKind.HttpDone) == 1);
        Assert.NotEqual(0, id);
        Assert.False(server.Manager.Wakeup(id, "late"u8));
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void HttpClient_over_tls_streams_uploads_and_echoes_both_ways_on_concurrent_streams(PollerBackend backend)
    {
        // The handler streams each body (StreamBody) and echoes every piece as it comes (WriteBody),
        // so both directions run under HTTP/2 flow control at once, four streams side by side.
        using var server = new H2Server(backend, (c, e) =>
        {
            switch (e.Kind)
            {
                case EventKind.HttpHeaders:
                    e.Request!.StreamBody = true;
                    c.BeginResponse(200, -1, "application/octet-stream");
                    break;
                case EventKind.HttpBody:
                    c.WriteBody(e.Data);
                    break;
                case EventKind.HttpMessage:
                    c.EndResponse(("x-echoed", "yes"));
                    break;
            }
        }, tls: true);
        using var client = TlsClient();
        var bodies = Enumerable.Range(0, 4).Select(i => { var b = new byte[(i + 1) * 700_000]; new Random(i).NextBytes(b); return b; }).ToArray();
        var echoes = server.Run(Task.WhenAll(bodies.Select(async body =>
        {
            using var request = H2Request(HttpMethod.Post, $"https://localhost:{server.Port}/echo");
            request.Content = new ByteArrayContent(body);
            using var response = await client.SendAsync(request);
            var bytes = await response.Content.ReadAsByteArrayAsync();
            Assert.Equal(HttpVersion.Version20, response.Version);
            Assert.Equal("yes", response.TrailingHeaders.GetValues("x-echoed").Single());
            return bytes;
        })));
        for (int i = 0; i < bodies.Length; i++) Assert.True(bodies[i].AsSpan().SequenceEqual(echoes[i]), $"body {i}");
        Assert.Equal(4, server.Log.Count(EventKind.HttpDone));
        Assert.True(server.Log.Count(EventKind.HttpBody) > 4);
    }

    [Fact]
    public void A_large_StreamResponse_goes_out_under_flow_control_in_bounded_memory()
    {
        const long Length = 32L * 1024 * 1024;
        using var server = new H2Server(PollerBackend.Auto, (c, e) =>
        {
            if (e.Kind != EventKind.HttpMessage) return;
            long sent = 0;
            c.StreamResponse(200, Length, "application/octet-stream", destination =>
            {
                int n = (int)Math.Min(destination.Length, Length - sent);
                for (int i = 0; i < n; i++) destination[i] = (byte)((sent + i) % 251);
                sent += n;
                return n;
            });
        });
        using var client = H2cClient();
        long largestSendBuffer = 0;
        server.Log.Next = (c, e) => largestSendBuffer = Math.Max(largestSendBuffer, c.SendBufferedBytes);
        var download = Task.Run(async () =>
        {
            using var stream = await client.GetStreamAsync($"http://127.0.0.1:{server.Port}/big");
            var buffer = new byte[64 * 1024];
            long at = 0;
            int n;
            while ((n = await stream.ReadAsync(buffer)) > 0)
            {
                for (int i = 0; i < n; i++)
                    if (buffer[i] != (byte)((at + i) % 251)) throw new InvalidDataException($"byte {at + i}");
                at += n;
            }

            return at;
        });
        Assert.Equal(Length, server.Run(download));
        Assert.True(largestSendBuffer < 8 * 1024 * 1024, $"send buffer reached {largestSendBuffer} bytes");
    }

    /// <summary>A stream's Write means "you may write now": it never comes while the connection's send
    /// buffer is over its high-water mark. Here pieces are larger than the mark, so the part of a piece
    /// that waited for window fills the buffer past the mark when the window opens; a handler that
    /// writes only when <see cref="Connection.IsWritable"/> (as the reverse proxy does) then got its
    /// one Write too early, ignored it, and the response stalled for good.</summary>
    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_streams_Write_comes_only_when_the_connection_can_take_more(PollerBackend backend)
    {
        const int HighWater = 16 * 1024, Piece = 48 * 1024, Pieces = 64;
        var piece = Enumerable.Range(0, Piece).Select(i => (byte)(i % 251)).ToArray();
        int written = 0, earlyWrites = 0;
        void Pump(Connection c)
        {
            while (written < Pieces)
            {
                written++;
                bool more = c.WriteBody(piece);
                if (written == Pieces) c.EndResponse();
                if (!more) return;
            }
        }
        using var server = new H2Server(backend, (c, e) =>
        {
            switch (e.Kind)
            {
                case EventKind.HttpMessage:
                    c.BeginResponse(200, -1, "application/octet-stream");
                    Pump(c);
                    break;
                case EventKind.Write when e.Request is not null && written < Pieces:
                    if (c.IsWritable) Pump(c);
                    else earlyWrites++;
                    break;
            }
        }, manager: o => o.SendHighWaterMark = HighWater);
        using var client = H2cClient();
        var body = server.Run(client.GetByteArrayAsync($"http://127.0.0.1:{server.Port}/pieces"));
        Assert.Equal(Piece * Pieces, body.Length);
        for (int i = 0; i < body.Length; i += Piece) Assert.True(piece.AsSpan().SequenceEqual(body.AsSpan(i, Piece)), $"piece at {i}");
        Assert.Equal(0, earlyWrites);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void The_router_and_static_files_serve_concurrent_streams(PollerBackend backend)
    {
        string root = Directory.CreateTempSubdirectory("meerkat-h2-static-").FullName;
        try
        {
            var file = new byte[300_000];
            new Random(5).NextBytes(file);
            File.WriteAllBytes(Path.Combine(root, "data.bin"), file);
            File.WriteAllText(Path.Combine(root, "index.html"), "<h1>hi</h1>");
            var router = new Meerkat.Http.Routing.Router();
            router.MapGet("/hello/{name}", (c, e, route) => c.Reply(200, $"hello {route["name"]} over HTTP/{e.Request!.VersionMajor}\n"));
            router.MapStaticFiles("/files", new StaticFileOptions { Root = root });
            using var server = new H2Server(backend, router.Handle);
            using var client = H2cClient();
            string origin = $"http://127.0.0.1:{server.Port}";
            var work = Task.WhenAll(
                Enumerable.Range(0, 10).Select(i => client.GetStringAsync($"{origin}/hello/n{i}"))
                    .Concat(Enumerable.Range(0, 5).Select(async _ => Convert.ToBase64String(await client.GetByteArrayAsync($"{origin}/files/data.bin"))))
                    .Append(client.GetStringAsync($"{origin}/files/")));
            var results = server.Run(work);
            for (int i = 0; i < 10; i++) Assert.Equal($"hello n{i} over HTTP/2\n", results[i]);
            for (int i = 10; i < 15; i++) Assert.Equal(Convert.ToBase64String(file), results[i]);
            Assert.Equal("<h1>hi</h1>", results[15]);

            var missing = server.Run(client.GetAsync($"{origin}/nowhere"));
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            var etag = server.Run(client.GetAsync($"{origin}/files/data.bin")).Headers.ETag!;
            using var conditional = H2Request(HttpMethod.Get, $"{origin}/files/data.bin");
            conditional.Headers.IfNoneMatch.Add(etag);
            Assert.Equal(HttpStatusCode.NotModified, server.Run(client.SendAsync(conditional)).StatusCode);
            using var head = H2Request(HttpMethod.Head, $"{origin}/files/data.bin");
            var headResponse = server.Run(client.SendAsync(head));
            Assert.Equal(file.Length, headResponse.Content.Headers.ContentLength);
            Assert.Empty(server.Run(headResponse.Content.ReadAsByteArrayAsync()));
            Assert.All(server.Outcomes, o => Assert.Equal(HttpOutcome.Completed, o));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void A_handler_that_throws_fails_its_own_stream_only()
    {
        using var server = new H2Server(PollerBackend.Auto, (c, e) =>
        {
            if (e.Kind != EventKind.HttpMessage) return;
            if (e.Request!.PathIs("/boom"u8)) throw new InvalidOperationException("boom");
            c.Reply(200, "fine\n");
        });
        using var client = H2cClient();
        var results = server.Run(Task.WhenAll(client.GetAsync($"http://127.0.0.1:{server.Port}/boom"), client.GetAsync($"http://127.0.0.1:{server.Port}/ok")));
        Assert.Equal(HttpStatusCode.InternalServerError, results[0].StatusCode);
        Assert.Equal(HttpStatusCode.OK, results[1].StatusCode);
        server.Manager.Until(() => server.Outcomes.Count == 2);
        Assert.Contains(HttpOutcome.HandlerError, server.Outcomes);
        Assert.Contains(HttpOutcome.Completed, server.Outcomes);
        Assert.Equal(0, server.Log.Count(EventKind.Close));
    }

    [Fact]
    public void A_request_body_over_the_limit_gets_413_on_its_stream()
    {
        using var server = new H2Server(PollerBackend.Auto, (c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage) c.Reply(200, $"{e.Request!.Body.Length}\n");
        }, configure: o => o.MaxBufferedBodySize = 100_000);
        using var client = H2cClient();
        string origin = $"http://127.0.0.1:{server.Port}";
        var small = server.Run(client.PostAsync(origin, new ByteArrayContent(new byte[50_000])));
        var large = server.Run(client.PostAsync(origin, new ByteArrayContent(new byte[300_000])));
        var unknownLength = server.Run(client.PostAsync(origin, new StreamContent(new MemoryStream(new byte[300_000]))));
        Assert.Equal("50000\n", server.Run(small.Content.ReadAsStringAsync()));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large.StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, unknownLength.StatusCode);
        server.Manager.Until(() => server.Outcomes.Count == 3);
        Assert.Equal(2, server.Outcomes.Count(o => o == HttpOutcome.ProtocolError));
    }

    [Fact]
    public void Graceful_shutdown_sends_goaway_and_finishes_the_stream_in_flight()
    {
        string python = Http2PeerTests.PythonWithH2();
        long deferred = 0;
        using var server = new H2Server(PollerBackend.Auto, (c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage) deferred = e.Request!.Id;
            else if (e.Kind == EventKind.Wakeup) c.Reply(200, "finished after GOAWAY\n");
        });
        using var peer = new PeerProcess(python, ["-c", ShutdownScript, server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        server.Manager.Until(() => deferred != 0, what: "the request");
        var shutdown = server.Manager.ShutdownAsync(TimeSpan.FromSeconds(20));
        server.Manager.Until(() => peer.Output.Contains("GOAWAY 1", StringComparison.Ordinal), what: "the final GOAWAY");
        Assert.False(shutdown.IsCompleted);
        Assert.True(server.Manager.Wakeup(deferred, "go"u8));
        server.Manager.Until(() => shutdown.IsCompleted, what: "the shutdown");
        Assert.True(peer.Exited.Wait(TimeSpan.FromSeconds(20)), "the Python client did not finish");
        Assert.Equal(["GOAWAY 2147483647", "GOAWAY 1", "200 finished after GOAWAY", "closed"], peer.Output.Trim().Split('\n').Select(l => l.Trim()));
        Assert.Equal([HttpOutcome.Completed], server.Outcomes);
    }

    [Fact]
    public void Malformed_sequences_built_by_python_h2_get_the_right_codes_from_the_integrated_server()
    {
        string python = Http2PeerTests.PythonWithH2();
        using var server = new H2Server(PollerBackend.Auto, (c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage) c.Reply(200, ""u8);
        });
        var cases = Http2PeerTests.MalformedCases;
        using var peer = new PeerProcess(python, ["-c", Http2PeerTests.MalformedScript, server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. cases.Select(c => c.Case)]);
        server.Run(peer.Exited);
        Assert.Equal(cases.Select(c => $"{c.Case}: {c.Expected}"), peer.Output.Trim().Split('\n').Select(l => l.Trim()));
        server.WaitForCloses(cases.Length);
        server.Log.AssertBalanced(server.Listener);
    }

    [Fact]
    public void Python_h2_gets_sixty_concurrent_echoes_with_their_fields()
    {
        string python = Http2PeerTests.PythonWithH2();
        using var server = new H2Server(PollerBackend.Auto, (c, e) =>
        {
            if (e.Kind != EventKind.HttpMessage) return;
            var request = e.Request!;
            var fields = new List<(string, string)>();
            for (int i = 0; i < request.Headers.Count; i++)
                if (request.Headers.GetName(i).StartsWith("x-"u8)) fields.Add((request.Headers.GetNameString(i), request.Headers.GetValueString(i)));
            c.Reply(200, request.Body, "application/octet-stream", [.. fields]);
        });
        using var peer = new PeerProcess(python, ["-c", Http2PeerTests.ClientScript, server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "60"]);
        server.Run(peer.Exited);
        Assert.True(peer.ExitCode == 0, peer.Output + peer.Errors);
        Assert.Contains("OK 60", peer.Output, StringComparison.Ordinal);
        server.WaitForCloses(1);
        Assert.Equal(60, server.Outcomes.Count(o => o == HttpOutcome.Completed));
    }

    [Fact]
    public void Nghttp_sees_the_concurrency_limit_and_gets_every_stream_answered()
    {
        string? nghttp = Peers.Find("nghttp");
        if (nghttp is null) Peers.SkipOrFail("nghttp (nghttp2-client)");
        using var server = new H2Server(PollerBackend.Auto, (c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage) c.Reply(200, e.Request!.PathString);
        }, configure: o => o.Http2MaxConcurrentStreams = 5);
        var urls = Enumerable.Range(0, 30).Select(i => $"http://127.0.0.1:{server.Port}/s{i}");
        string output = server.Run(Peer(nghttp!, ["-nv", "-m", "1", .. urls]));
        Assert.Contains("[SETTINGS_MAX_CONCURRENT_STREAMS(0x03):5]", output, StringComparison.Ordinal);
        Assert.Equal(30, output.Split('\n').Count(l => l.Contains(":status: 200", StringComparison.Ordinal)));
        server.WaitForCloses(1);
        Assert.Equal(30, server.Outcomes.Count(o => o == HttpOutcome.Completed));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void H2load_runs_thousands_of_multiplexed_requests_without_a_failure(bool tls)
    {
        string? h2load = Peers.Find("h2load");
        if (h2load is null) Peers.SkipOrFail("h2load (nghttp2-client)");
        using var server = new H2Server(PollerBackend.Auto, (c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage) c.Reply(200, "Hello, World!"u8, "text/plain");
        }, tls: tls);
        string scheme = tls ? "https" : "http";
        string output = server.Run(Peer(h2load!, "-n", "4000", "-c", "4", "-m", "16", $"{scheme}://127.0.0.1:{server.Port}/plaintext"));
        Assert.Contains("4000 succeeded, 0 failed, 0 errored", output, StringComparison.Ordinal);
        Assert.Contains("4000 2xx", output, StringComparison.Ordinal);
        if (tls) Assert.Contains("Application protocol: h2", output, StringComparison.Ordinal);
        server.WaitForCloses(4);
        Assert.Equal(4000, server.Outcomes.Count(o => o == HttpOutcome.Completed));
    }

    [Fact]
    public void Without_EnableHttp2_the_preface_is_refused_and_alpn_offers_http11_only()
    {
        string curl = Curl();
        using var server = new H2Server(PollerBackend.Auto, (c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage) c.Reply(200, "one\n");
        }, configure: o => o.EnableHttp2 = false);
        string upgrade = server.Run(Peer(curl, "-s", "--http2", "-w", "%{http_version}", $"http://127.0.0.1:{server.Port}/"));
        Assert.Equal("one\n1.1", upgrade);
        string prior = server.Run(Peer(curl, "-s", "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code}", $"http://127.0.0.1:{server.Port}/"));
        Assert.NotEqual("200", prior);
    }

    // Sends one request with hyperframe and hpack (python-h2's connection object gives up after the
    // first GOAWAY), answers SETTINGS and PING, prints each GOAWAY's last stream id, then the
    // response, then "closed" when the server closes the connection.
    private const string ShutdownScript = """
import socket, sys
import hpack, hyperframe.frame as f

sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
sock.settimeout(30)
encoder, decoder = hpack.Encoder(), hpack.Decoder()
sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + f.SettingsFrame(0).serialize())
request = f.HeadersFrame(1, encoder.encode([(":method", "GET"), (":scheme", "http"), (":authority", "localhost"), (":path", "/slow")]))
request.flags = {"END_HEADERS", "END_STREAM"}
sock.sendall(request.serialize())
buffer, status, body = b"", None, b""
while True:
    data = sock.recv(65536)
    if not data:
        print("closed", flush=True)
        break
    buffer += data
    while len(buffer) >= 9:
        fr, length = f.Frame.parse_frame_header(buffer[:9])
        if len(buffer) < 9 + length:
            break
        fr.parse_body(memoryview(buffer[9:9 + length]))
        buffer = buffer[9 + length:]
        if isinstance(fr, f.SettingsFrame) and "ACK" not in fr.flags:
            sock.sendall(f.SettingsFrame(0, flags=["ACK"]).serialize())
        elif isinstance(fr, f.PingFrame) and "ACK" not in fr.flags:
            sock.sendall(f.PingFrame(0, fr.opaque_data, flags=["ACK"]).serialize())
        elif isinstance(fr, f.GoAwayFrame):
            print("GOAWAY %d" % fr.last_stream_id, flush=True)
        elif isinstance(fr, f.HeadersFrame):
            status = dict(decoder.decode(fr.data))[":status"]
        elif isinstance(fr, f.DataFrame):
            body += fr.data
        if fr.stream_id == 1 and "END_STREAM" in fr.flags:
            print("%s %s" % (status, body.decode().strip()), flush=True)
""";

    private static string Curl()
    {
        string? curl = Peers.Find("curl");
        if (curl is null) Peers.SkipOrFail("curl");
        return curl!;
    }

    /// <summary>Runs a peer program to completion (60 s at most) and returns its standard output.</summary>
    private static Task<string> Peer(string program, params string[] arguments) => Task.Run(() =>
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000))
        {
            process.Kill();
            throw new TimeoutException($"{program} did not finish");
        }

        return output.Result + (process.ExitCode == 0 ? "" : $"\n[exit {process.ExitCode}] {errors.Result}");
    });

    private static string CaFile()
    {
        string path = Path.Combine(Path.GetTempPath(), "meerkat-h2-test-ca.pem");
        File.WriteAllText(path, TestCertificates.Ca.ExportCertificatePem());
        return path;
    }

    /// <summary>A request HttpClient sends with HTTP/2 only (its DefaultRequestVersion applies to GetAsync and the like, not to these).</summary>
    internal static HttpRequestMessage H2Request(HttpMethod method, string url) =>
        new(method, url) { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };

    /// <summary>HttpClient speaking HTTP/2 without TLS: prior knowledge, nothing else (RequestVersionExact).</summary>
    internal static HttpClient H2cClient() => new(new SocketsHttpHandler())
    {
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(60),
    };

    private static HttpClient TlsClient() => new(new SocketsHttpHandler
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate?.GetCertHashString() == TestCertificates.Localhost.GetCertHashString(),
        },
    })
    {
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(60),
    };
}

/// <summary>A manager with an HTTP listener (HTTP/2 on), its event log and the outcome of every transaction; the test thread polls it.</summary>
internal sealed class H2Server : IDisposable
{
    private readonly List<HttpOutcome> outcomes = [];

    public H2Server(PollerBackend backend, ConnectionHandler handler, bool tls = false, Action<HttpServerOptions>? configure = null, Action<ManagerOptions>? manager = null)
    {
        Manager = Loop.Create(backend, manager);
        Log = new EventLog();
        var options = new HttpServerOptions { Tls = tls ? new TlsServerOptions { Certificate = TestCertificates.Localhost } : null };
        configure?.Invoke(options);
        ConnectionHandler record = (c, e) =>
        {
            Log.Record(c, e);
            if (e.Kind == EventKind.HttpDone) outcomes.Add(e.Outcome);
            handler(c, e);
        };
        Listener = Manager.ListenHttp($"{(tls ? "https" : "http")}://127.0.0.1:0", record, options);
        Port = Listener.LocalEndPoint!.Port;
    }

    public Manager Manager { get; }

    public EventLog Log { get; }

    public Connection Listener { get; }

    public int Port { get; }

    public IReadOnlyList<HttpOutcome> Outcomes => outcomes;

    public T Run<T>(Task<T> task) => Manager.Until(task);

    public void Run(Task task) => Manager.Until(task);

    public void WaitForCloses(int count) => Manager.Until(() => Log.Count(EventKind.Close) >= count, what: $"{count} connections to close");

    public void Dispose() => Manager.Dispose();
}
