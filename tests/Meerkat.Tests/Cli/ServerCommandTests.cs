using System.Net;
using Meerkat.Cli;

namespace Meerkat.Tests.Cli;

/// <summary>
/// <c>meerkat demo</c> and <c>serve</c> as real processes, stopped by signals as a user stops them;
/// each test runs on the JIT build and on the native binary (when .ci/run made one).
/// </summary>
public sealed class ServerCommandTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("meerkat-serve-").FullName;
    private readonly HttpClient client = new() { Timeout = TimeSpan.FromSeconds(60) };

    public static TheoryData<bool> Builds => new(false, true);

    public void Dispose()
    {
        client.Dispose();
        Directory.Delete(directory, recursive: true);
    }

    private static void SkipUnlessSignals() => Assert.SkipUnless(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "POSIX signals");

    [Theory, MemberData(nameof(Builds))]
    public async Task Demo_answers_logs_each_request_and_stops_on_SIGTERM(bool native)
    {
        SkipUnlessSignals();
        using var demo = MeerkatProcess.Start(native, "demo", "--listen", "http://127.0.0.1:0", "--threads", "2");
        string url = demo.WaitForListening();
        demo.WaitForLine(l => l.StartsWith("2 threads", StringComparison.Ordinal));
        Assert.Equal("Hello, World!", await client.GetStringAsync(url + "/plaintext", TestContext.Current.CancellationToken));
        demo.WaitForLine(l => l.Contains("\"GET /plaintext HTTP/1.1\" 200 ", StringComparison.Ordinal));
        demo.Signal(MeerkatProcess.SIGTERM);
        Assert.Equal(ExitCodes.Ok, demo.WaitForExit());
        Assert.EndsWith("stopped\n", demo.Output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("SIGTERM: stopping", demo.Errors, StringComparison.Ordinal);
    }

    [Theory, MemberData(nameof(Builds))]
    public async Task Serve_hints_at_listing_for_a_root_without_index_and_stops_on_ctrl_c(bool native)
    {
        SkipUnlessSignals();
        File.WriteAllText(Path.Combine(directory, "a.txt"), "a file\n");
        using var serve = MeerkatProcess.Start(native, "serve", directory, "--listen", "http://127.0.0.1:0", "--threads", "1");
        string url = serve.WaitForListening();
        using var root = await client.GetAsync(url + "/", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, root.StatusCode);
        Assert.Contains("--listing", await root.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Equal("a file\n", await client.GetStringAsync(url + "/a.txt", TestContext.Current.CancellationToken));
        serve.Signal(MeerkatProcess.SIGINT);
        Assert.Equal(ExitCodes.Ok, serve.WaitForExit());
        Assert.Contains("no index.html at /: add --listing", serve.Output, StringComparison.Ordinal);
    }

    [Theory, MemberData(nameof(Builds))]
    public async Task Serve_flags_mount_a_proxy_add_headers_and_refuse_bad_values(bool native)
    {
        SkipUnlessSignals();
        File.WriteAllText(Path.Combine(directory, "index.html"), "<h1>home</h1>");
        using var upstream = MeerkatProcess.Start(native, "demo", "--listen", "http://127.0.0.1:0", "--threads", "1");
        string upstreamUrl = upstream.WaitForListening();
        using var serve = MeerkatProcess.Start(native, "serve", directory, "--listen", "http://127.0.0.1:0", "--threads", "1",
            "--proxy", "/demo=" + upstreamUrl, "--header", "X-Served-By: meerkat", "--cors", "https://app.example");
        string url = serve.WaitForListening();
        using var proxied = await client.GetAsync(url + "/demo/plaintext", TestContext.Current.CancellationToken);
        Assert.Equal("Hello, World!", await proxied.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal("meerkat", proxied.Headers.GetValues("X-Served-By").Single());
        Assert.Equal("<h1>home</h1>", await client.GetStringAsync(url + "/", TestContext.Current.CancellationToken));
        Assert.Contains("proxying /demo to " + upstreamUrl, serve.Output, StringComparison.Ordinal);
        serve.Signal(MeerkatProcess.SIGINT);
        upstream.Signal(MeerkatProcess.SIGINT);
        Assert.Equal(ExitCodes.Ok, serve.WaitForExit());
        Assert.Equal(ExitCodes.Ok, upstream.WaitForExit());

        using var refused = MeerkatProcess.Start(native, "serve", directory, "--listen", "http://127.0.0.1:0", "--proxy", "api");
        Assert.Equal(ExitCodes.BadArguments, refused.WaitForExit());
        Assert.Contains("--proxy takes PREFIX=URL", refused.Errors, StringComparison.Ordinal);
    }

    [Theory, MemberData(nameof(Builds))]
    public async Task Serve_speaks_h2c_by_prior_knowledge_beside_http11_and_logs_each_stream(bool native)
    {
        SkipUnlessSignals();
        File.WriteAllText(Path.Combine(directory, "a.txt"), "a file\n");
        using var serve = MeerkatProcess.Start(native, "serve", directory, "--listen", "http://127.0.0.1:0", "--threads", "1");
        string url = serve.WaitForListening();
        var token = TestContext.Current.CancellationToken;
        async Task<(Version, string)> Get(string path, Version version)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url + path) { Version = version, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
            using var response = await client.SendAsync(request, token);
            return (response.Version, await response.Content.ReadAsStringAsync(token));
        }

        var answers = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Get("/a.txt", HttpVersion.Version20)));
        Assert.All(answers, a => Assert.Equal((HttpVersion.Version20, "a file\n"), a));
        Assert.Equal((HttpVersion.Version11, "a file\n"), await Get("/a.txt", HttpVersion.Version11));
        for (int i = 0; i < 4; i++) serve.WaitForLine(l => l.Contains("\"GET /a.txt HTTP/2\" 200 ", StringComparison.Ordinal));
        serve.WaitForLine(l => l.Contains("\"GET /a.txt HTTP/1.1\" 200 ", StringComparison.Ordinal));
        serve.Signal(MeerkatProcess.SIGINT);
        Assert.Equal(ExitCodes.Ok, serve.WaitForExit());
    }

    [Theory, MemberData(nameof(Builds))]
    public async Task A_second_server_on_a_busy_port_fails_and_the_first_keeps_every_request(bool native)
    {
        SkipUnlessSignals();
        using var first = MeerkatProcess.Start(native, "demo", "--listen", "http://127.0.0.1:0");
        string url = first.WaitForListening();
        using (var second = MeerkatProcess.Start(native, "serve", directory, "--listen", url))
        {
            Assert.Equal(ExitCodes.NetworkError, second.WaitForExit());
            Assert.Contains("address already in use", second.Errors, StringComparison.Ordinal);
        }
        const int Requests = 10;
        for (int i = 0; i < Requests; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url + "/plaintext");
            request.Headers.ConnectionClose = true; // a new connection each time
            using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
            Assert.Equal("Hello, World!", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        }
        for (int i = 0; i < Requests; i++) first.WaitForLine(l => l.Contains("\"GET /plaintext HTTP/1.1\" 200 ", StringComparison.Ordinal));
        first.Signal(MeerkatProcess.SIGTERM);
        Assert.Equal(ExitCodes.Ok, first.WaitForExit());
    }

    [Theory, MemberData(nameof(Builds))]
    public async Task Serve_with_metrics_answers_a_Prometheus_scrape_that_counts_each_request(bool native)
    {
        SkipUnlessSignals();
        File.WriteAllText(Path.Combine(directory, "a.txt"), "a file\n");
        File.WriteAllText(Path.Combine(directory, "metrics"), "a file the scrape goes before\n");
        using var serve = MeerkatProcess.Start(native, "serve", directory, "--metrics", "--listen", "http://127.0.0.1:0", "--threads", "2", "--quiet");
        string url = serve.WaitForListening();
        const int Files = 3;
        for (int i = 0; i < Files; i++) Assert.Equal("a file\n", await client.GetStringAsync(url + "/a.txt", TestContext.Current.CancellationToken));
        using var missing = await client.GetAsync(url + "/nothing-here", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        using var scrape = await client.GetAsync(url + "/metrics", TestContext.Current.CancellationToken);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", scrape.Content.Headers.ContentType!.ToString());
        var lines = (await scrape.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).Split('\n');
        // One series per status code (both loops add to the same series): 3 answered 200, 1 answered 404;
        // the scrape itself is still in flight, so it counts as an active request and not yet as a duration.
        double Count(string status) => lines.Where(l => l.StartsWith("http_server_request_duration_seconds_count{", StringComparison.Ordinal)
                && l.Contains($"http_response_status_code=\"{status}\"", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(Files, Count("200"));
        Assert.Equal(1, Count("404"));
        Assert.Contains("# TYPE http_server_request_duration_seconds histogram", lines);
        Assert.Contains(lines, l => l.StartsWith("http_server_active_requests", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal));
        serve.Signal(MeerkatProcess.SIGTERM);
        Assert.Equal(ExitCodes.Ok, serve.WaitForExit());
        Assert.Contains("metrics at /metrics", serve.Output, StringComparison.Ordinal);
    }

    [Theory, MemberData(nameof(Builds))]
    public async Task Get_fetches_from_the_demo_and_usage_errors_exit_2(bool native)
    {
        SkipUnlessSignals();
        using var demo = MeerkatProcess.Start(native, "demo", "--listen", "http://127.0.0.1:0", "--threads", "1");
        string url = demo.WaitForListening();
        using (var get = MeerkatProcess.Start(native, "get", url + "/json"))
        {
            Assert.Equal(ExitCodes.Ok, get.WaitForExit());
            Assert.Equal("""{"message":"Hello, World!"}""", get.Output.TrimEnd());
        }
        using (var wrong = MeerkatProcess.Start(native, "get", url + "/json", "--timout", "1"))
        {
            Assert.Equal(ExitCodes.BadArguments, wrong.WaitForExit());
            Assert.Equal("meerkat get: unknown option '--timout' (did you mean '--timeout'?)", wrong.Errors.TrimEnd());
        }
        using (var version = MeerkatProcess.Start(native, "--version"))
        {
            Assert.Equal(ExitCodes.Ok, version.WaitForExit());
            Assert.Equal($"meerkat {typeof(Manager).Assembly.GetName().Version!.ToString(3)}", version.Output.TrimEnd());
        }
        demo.Signal(MeerkatProcess.SIGTERM);
        Assert.Equal(ExitCodes.Ok, demo.WaitForExit());
        await Task.CompletedTask;
    }

    [Theory, MemberData(nameof(Builds))]
    public void SIGTERM_lets_a_request_in_flight_finish_and_a_second_signal_stops_at_once(bool native)
    {
        SkipUnlessSignals();
        Assert.SkipUnless(File.Exists("/proc/net/tcp"), "reads /proc/net/tcp to see the server take the request");
        using (var demo = MeerkatProcess.Start(native, "demo", "--listen", "http://127.0.0.1:0", "--threads", "2", "--quiet"))
        {
            int port = new Uri(demo.WaitForListening()).Port;
            using var request = SendRaw(port, "GET /delay/1500 HTTP/1.1\r\nHost: x\r\n\r\n");
            demo.Signal(MeerkatProcess.SIGTERM);
            string response = ReadToEnd(request);
            Assert.StartsWith("HTTP/1.1 200 ", response, StringComparison.Ordinal);
            Assert.Contains("Connection: close", response, StringComparison.OrdinalIgnoreCase);
            Assert.EndsWith("""{"delayed_ms":1500}""", response, StringComparison.Ordinal);
            Assert.Equal(ExitCodes.Ok, demo.WaitForExit());
        }
        using (var demo = MeerkatProcess.Start(native, "demo", "--listen", "http://127.0.0.1:0", "--threads", "1", "--quiet"))
        {
            int port = new Uri(demo.WaitForListening()).Port;
            using var request = SendRaw(port, "GET /delay/60000 HTTP/1.1\r\nHost: x\r\n\r\n");
            demo.Signal(MeerkatProcess.SIGTERM);
            demo.WaitForError("SIGTERM: stopping (again to stop at once)"); // two signals at once would merge into one
            demo.Signal(MeerkatProcess.SIGTERM);
            Assert.Equal(ExitCodes.Ok, demo.WaitForExit(TimeSpan.FromSeconds(8))); // well before the 10 s graceful deadline
            Assert.Contains("stopping now", demo.Errors, StringComparison.Ordinal);
            Assert.DoesNotContain("delayed_ms", ReadToEnd(request), StringComparison.Ordinal);
        }
    }

    /// <summary>Sends a request on a new connection and returns once the server has read it
    /// (its socket's receive queue in /proc/net/tcp is empty), so a signal sent next finds it in flight.</summary>
    private static System.Net.Sockets.Socket SendRaw(int port, string request)
    {
        var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { ReceiveTimeout = 60_000 };
        socket.Connect(IPAddress.Loopback, port);
        socket.Send(System.Text.Encoding.ASCII.GetBytes(request));
        int clientPort = ((IPEndPoint)socket.LocalEndPoint!).Port;
        string local = $":{port:X4} ", remote = $":{clientPort:X4} ";
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            // sl local_address rem_address st tx_queue:rx_queue ...: the server side of this connection, read dry
            bool read = File.ReadLines("/proc/net/tcp").Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Any(f => (f[1] + " ").EndsWith(local, StringComparison.Ordinal) && (f[2] + " ").EndsWith(remote, StringComparison.Ordinal) && f[4].EndsWith(":00000000", StringComparison.Ordinal));
            if (read) return socket;
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the server did not read the request");
            Thread.Yield();
        }
    }

    private static string ReadToEnd(System.Net.Sockets.Socket socket)
    {
        var all = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            for (int n; (n = socket.Receive(buffer)) > 0;) all.Write(buffer, 0, n);
        }
        catch (System.Net.Sockets.SocketException)
        {
            // reset: what arrived before it is the answer
        }
        return System.Text.Encoding.ASCII.GetString(all.ToArray());
    }
}
