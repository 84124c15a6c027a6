using System.Net.Sockets;
using System.Text;
using Meerkat.Http;
using Meerkat.Http.Client;
using Meerkat.Tests.Core;
using Meerkat.Tests.Tls;
using Meerkat.Tls;

namespace Meerkat.Tests.Http.Client;

/// <summary>The HTTP client over TLS: Meerkat's own HTTPS server, certificate checks, and the
/// end of a body with and without close_notify (DESIGN.md §4.3).</summary>
public sealed class HttpsClientTests
{
    private static TlsClientOptions Trusting() => new() { TrustedRoots = TestCertificates.Roots };

    /// <summary>A Meerkat HTTPS server on the test's manager: /echo returns the body, anything else "hello".</summary>
    private static (Connection Listener, EventLog Log) Serve(Manager manager, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null)
    {
        var log = new EventLog();
        log.Next = (c, e) =>
        {
            if (e.Kind != EventKind.HttpMessage) return;
            var request = e.Request!;
            if (request.PathIs("/echo"u8)) c.Reply(200, request.Body, "application/octet-stream");
            else c.Reply(200, "hello", "text/plain");
        };
        var options = new HttpServerOptions { Tls = new TlsServerOptions { Certificate = certificate ?? TestCertificates.Localhost } };
        return (manager.ListenHttp("https://127.0.0.1:0", log.Handler, options), log);
    }

    private static MeerkatHttpClient Client(TlsClientOptions? tls, Action<MeerkatHttpClientOptions>? configure = null)
    {
        var options = new MeerkatHttpClientOptions { Tls = tls, Manager = new ManagerOptions { CheckInvariants = true } };
        configure?.Invoke(options);
        return new MeerkatHttpClient(options);
    }

    /// <summary>Collects the HTTP events of one loop-level connection.</summary>
    private sealed class Transcript
    {
        public readonly EventLog Log = new();
        public readonly MemoryStream Body = new();
        public readonly List<Meerkat.Http.Client.HttpResponse> Done = [];
        /// <summary>How each aborted transaction ended (its HttpDone said so).</summary>
        public readonly List<HttpOutcome> Aborted = [];
        public Exception? Error;
        public bool Closed;

        public Transcript(Action<Connection, Event>? next = null) => Log.Next = (c, e) =>
        {
            switch (e.Kind)
            {
                case EventKind.HttpBody: Body.Write(e.Data); break;
                case EventKind.HttpDone: if (e.IsAborted) Aborted.Add(e.Outcome); else Done.Add(e.Response!); break;
                case EventKind.Error: Error = e.Error; break;
                case EventKind.Close: Closed = true; break;
            }
            next?.Invoke(c, e);
        };
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_kept_alive_TLS_connection_to_Meerkats_server_carries_a_hundred_requests(PollerBackend backend)
    {
        using var manager = Loop.Create(backend);
        var (listener, serverLog) = Serve(manager);
        string url = $"https://127.0.0.1:{listener.LocalEndPoint!.Port}/echo";
        int sent = 0;
        Transcript? t = null;
        void Next(Connection c) => c.SendRequest(new HttpClientRequest("POST", url) { Content = Encoding.ASCII.GetBytes($"<{sent++}>") });
        t = new Transcript((c, e) => { if (e.Kind == EventKind.HttpDone && sent < 100) Next(c); });
        var connection = manager.ConnectHttp(url, t.Log.Handler, new HttpClientConnectionOptions { Tls = Trusting() });
        Next(connection);
        manager.Until(() => t.Done.Count == 100 || t.Closed, what: "100 responses");
        Assert.Null(t.Error);
        Assert.Equal(string.Concat(Enumerable.Range(0, 100).Select(i => $"<{i}>")), Encoding.ASCII.GetString(t.Body.ToArray()));
        Assert.Equal(1, t.Log.Count(EventKind.TlsHandshake));
        Assert.Equal(1, serverLog.Count(EventKind.Accept));
        Assert.NotNull(connection.TlsSession);
        connection.CloseAfterDrain();
        manager.Until(() => t.Closed && serverLog.Count(EventKind.Close) == 1, what: "both ends to close");
        t.Log.AssertBalanced();
        serverLog.AssertBalanced(listener);
    }

    [Fact]
    public void The_pooled_client_reuses_one_TLS_connection_and_keys_origins_on_the_scheme()
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        var (listener, serverLog) = Serve(manager);
        var plain = manager.ListenHttp("http://127.0.0.1:0", (c, e) => { if (e.Kind == EventKind.HttpMessage) c.Reply(200, "plain", "text/plain"); });
        using var client = Client(Trusting());
        string https = $"https://127.0.0.1:{listener.LocalEndPoint!.Port}/", http = $"http://127.0.0.1:{plain.LocalEndPoint!.Port}/";
        for (int i = 0; i < 30; i++) Assert.Equal("hello", manager.Until(client.GetStringAsync(https)));
        Assert.Equal("plain", manager.Until(client.GetStringAsync(http)));
        Assert.Equal(2, client.ConnectionsOpened);
        Assert.Equal(1, serverLog.Count(EventKind.Accept));
        Assert.Equal(1, serverLog.Count(EventKind.TlsHandshake));
    }

    [Theory]
    [InlineData("untrusted", TlsFailure.Untrusted, "not trusted")]
    [InlineData("expired", TlsFailure.Expired, "expired")]
    [InlineData("wrong-host", TlsFailure.NameMismatch, "name mismatch")]
    public void Bad_certificates_are_refused_by_the_client_with_the_reason_and_accepted_with_the_opt_out(string kind, TlsFailure reason, string words)
    {
        var certificate = kind switch
        {
            "untrusted" => TlsCertificates.CreateSelfSigned(["localhost", "127.0.0.1"]),
            "expired" => TestCertificates.Expired,
            _ => TestCertificates.OtherHost,
        };
        using var manager = Loop.Create(PollerBackend.Auto);
        var (listener, serverLog) = Serve(manager, certificate);
        string url = $"https://127.0.0.1:{listener.LocalEndPoint!.Port}/";
        using (var strict = Client(Trusting(), o => o.MaxRetries = 2))
        {
            var error = Assert.IsType<TlsException>(manager.Until(Catch(strict.GetStringAsync(url))));
            Assert.Equal(reason, error.Reason);
            Assert.Contains(words, error.Message, StringComparison.OrdinalIgnoreCase);
            Assert.Equal(1, strict.ConnectionsOpened);   // a refused certificate is not retried
        }
        using var insecure = Client(new TlsClientOptions { AllowInvalidCertificates = true });
        Assert.Equal("hello", manager.Until(insecure.GetStringAsync(url)));
        Assert.Equal(2, serverLog.Count(EventKind.Accept));
    }

    [Fact]
    public void A_custom_CA_from_a_PEM_file_is_trusted_and_the_system_store_alone_is_not()
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        var (listener, _) = Serve(manager);
        string url = $"https://127.0.0.1:{listener.LocalEndPoint!.Port}/";
        var directory = Directory.CreateTempSubdirectory("meerkat-ca-").FullName;
        try
        {
            string pem = Path.Combine(directory, "ca.pem");
            File.WriteAllText(pem, TestCertificates.Ca.ExportCertificatePem());
            using var custom = Client(new TlsClientOptions().TrustPemFile(pem));
            Assert.Equal("hello", manager.Until(custom.GetStringAsync(url)));
            using var system = Client(null);
            var error = Assert.IsType<TlsException>(manager.Until(Catch(system.GetStringAsync(url))));
            Assert.Equal(TlsFailure.Untrusted, error.Reason);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void TLS_settings_apply_per_origin()
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        var (listener, _) = Serve(manager, TestCertificates.OtherHost);
        int port = listener.LocalEndPoint!.Port;
        var asked = new List<Uri>();
        using var client = Client(Trusting(), o => o.TlsForOrigin = origin =>
        {
            asked.Add(origin);
            return new TlsClientOptions { TrustedRoots = TestCertificates.Roots, ServerName = "other.example" };
        });
        Assert.Equal("hello", manager.Until(client.GetStringAsync($"https://127.0.0.1:{port}/")));
        Assert.Equal("hello", manager.Until(client.GetStringAsync($"https://127.0.0.1:{port}/again")));
        Assert.Equal([new Uri($"https://127.0.0.1:{port}")], asked);
    }

    [Fact]
    public void A_redirect_from_https_to_http_is_refused_unless_allowed()
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        var plain = manager.ListenHttp("http://127.0.0.1:0", (c, e) => { if (e.Kind == EventKind.HttpMessage) c.Reply(200, "plain", "text/plain"); });
        string target = $"http://127.0.0.1:{plain.LocalEndPoint!.Port}/";
        var options = new HttpServerOptions { Tls = new TlsServerOptions { Certificate = TestCertificates.Localhost } };
        var secure = manager.ListenHttp("https://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind != EventKind.HttpMessage) return;
            c.Reply(302, "", "text/plain", ("Location", target));
        }, options);
        string url = $"https://127.0.0.1:{secure.LocalEndPoint!.Port}/";
        using var strict = Client(Trusting());
        var error = Assert.IsType<HttpClientException>(manager.Until(Catch(strict.GetStringAsync(url))));
        Assert.Contains("https:// to http://", error.Message);
        using var lenient = Client(Trusting(), o => o.AllowHttpsToHttpRedirect = true);
        Assert.Equal("plain", manager.Until(lenient.GetStringAsync(url)));
    }

    [Fact]
    public void A_body_cut_short_without_close_notify_is_an_error_not_a_short_success()
    {
        using var peer = new SslStreamPeer();
        var body = SslStreamPeer.Body(1000);
        var served = peer.ServeOnceAsync(async (socket, ssl, _) =>
        {
            await ssl.WriteAsync(Encoding.ASCII.GetBytes(SslStreamPeer.Head(body.Length)));
            await ssl.WriteAsync(body.AsMemory(0, 400));
            await ssl.FlushAsync();
            socket.Shutdown(SocketShutdown.Send);   // FIN, no close_notify
        });
        using var manager = Loop.Create(PollerBackend.Auto);
        var t = Fetch(manager, peer.Port);
        manager.Until(served);
        Assert.Empty(t.Done);
        Assert.Equal([HttpOutcome.PeerClosed], t.Aborted);
        Assert.Equal(400, t.Body.Length);
        var error = Assert.IsType<HttpClientException>(t.Error);
        Assert.Contains("400 of 1000", error.Message);
        t.Log.AssertBalanced();
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_read_until_close_body_ended_by_close_notify_is_complete(PollerBackend backend)
    {
        using var peer = new SslStreamPeer();
        var body = SslStreamPeer.Body(50_000);
        var served = peer.ServeOnceAsync(async (socket, ssl, capture) =>
        {
            // Head, body, close_notify and FIN in one segment: the hardest case for draining.
            capture.IsCapturing = true;
            await ssl.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"));
            await ssl.WriteAsync(body);
            await ssl.ShutdownAsync();
            socket.Send(capture.Captured.ToArray());
            socket.Shutdown(SocketShutdown.Send);
        });
        using var manager = Loop.Create(backend);
        var t = Fetch(manager, peer.Port);
        manager.Until(served);
        Assert.Null(t.Error);
        var done = Assert.Single(t.Done);
        Assert.Equal(HttpFraming.UntilClose, done.Framing);
        Assert.Equal(body, t.Body.ToArray());
        t.Log.AssertBalanced();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_read_until_close_body_ended_without_close_notify_is_an_error_unless_allowed(bool allow)
    {
        using var peer = new SslStreamPeer();
        var body = SslStreamPeer.Body(5000);
        var served = peer.ServeOnceAsync(async (socket, ssl, _) =>
        {
            await ssl.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"));
            await ssl.WriteAsync(body);
            await ssl.FlushAsync();
            socket.Shutdown(SocketShutdown.Send);   // FIN, no close_notify
        });
        using var manager = Loop.Create(PollerBackend.Auto);
        var t = Fetch(manager, peer.Port, new HttpClientConnectionOptions { Tls = Trusting(), AllowUntilCloseBodyWithoutCloseNotify = allow });
        manager.Until(served);
        Assert.Equal(body, t.Body.ToArray());
        if (allow)
        {
            Assert.Null(t.Error);
            Assert.Single(t.Done);
        }
        else
        {
            Assert.Empty(t.Done);
            Assert.Equal([HttpOutcome.PeerClosed], t.Aborted);
            Assert.Contains("close_notify", Assert.IsType<HttpClientException>(t.Error).Message);
        }
        t.Log.AssertBalanced();
    }

    [Fact]
    public void A_handshake_timeout_fails_the_request_with_the_reason()
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        var silent = manager.Listen("tcp://127.0.0.1:0", null);
        var t = new Transcript();
        string url = $"https://127.0.0.1:{silent.LocalEndPoint!.Port}/";
        var connection = manager.ConnectHttp(url, t.Log.Handler,
            new HttpClientConnectionOptions { Tls = new TlsClientOptions { HandshakeTimeout = TimeSpan.FromMilliseconds(300) } });
        connection.SendRequest(new HttpClientRequest("GET", url));
        manager.Until(() => t.Closed, what: "the handshake timeout");
        Assert.Equal(TlsFailure.HandshakeTimeout, Assert.IsType<TlsException>(t.Error).Reason);
        Assert.Empty(t.Done);
        t.Log.AssertBalanced();
    }

    private static Transcript Fetch(Manager manager, int port, HttpClientConnectionOptions? options = null)
    {
        var t = new Transcript();
        string url = $"https://localhost:{port}/";
        var connection = manager.ConnectHttp($"https://127.0.0.1:{port}/", t.Log.Handler, options ?? new HttpClientConnectionOptions { Tls = Trusting() });
        connection.SendRequest(new HttpClientRequest("GET", url));
        manager.Until(() => t.Closed, what: "the connection to close");
        return t;
    }

    private static async Task<Exception> Catch(Task task)
    {
        try
        {
            await task;
        }
        catch (Exception ex)
        {
            return ex;
        }
        throw new Xunit.Sdk.XunitException("the call succeeded");
    }
}
