using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Meerkat.Http;
using Meerkat.Tests.Core;
using Meerkat.Tls;

namespace Meerkat.Tests.Tls;

public class HttpsServerTests
{
    private static (Manager Manager, Connection Listener, EventLog Log) Start(TlsServerOptions? tls = null, PollerBackend backend = PollerBackend.Auto)
    {
        var manager = Loop.Create(backend);
        var log = new EventLog();
        log.Next = (c, e) =>
        {
            if (e.Kind != EventKind.HttpMessage) return;
            var request = e.Request!;
            if (request.PathIs("/echo"u8)) c.Reply(200, request.Body, "application/octet-stream");
            else c.Reply(200, c.TlsSession?.ApplicationProtocol.ToString() ?? "none", "text/plain");
        };
        var options = new HttpServerOptions { Tls = tls ?? new TlsServerOptions { Certificate = TestCertificates.Localhost } };
        var listener = manager.ListenHttp("https://127.0.0.1:0", log.Handler, options);
        return (manager, listener, log);
    }

    private static HttpClient Client(bool newConnectionEachRequest = false) => new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = newConnectionEachRequest ? TimeSpan.Zero : Timeout.InfiniteTimeSpan,
        SslOptions = new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate?.GetCertHashString() == TestCertificates.Localhost.GetCertHashString(),
        },
    });

    [Fact]
    public void Two_thousand_HttpClient_posts_each_on_a_new_connection_get_every_body_back()
    {
        var (manager, listener, log) = Start();
        using (manager)
        {
            int offLoop = TlsLayer.OffLoopContinuations;
            int port = listener.LocalEndPoint!.Port;
            using var client = Client(newConnectionEachRequest: true);
            var run = Task.Run(async () =>
            {
                int shortBodies = 0;
                for (int i = 0; i < 2000; i++)
                {
                    var payload = Encoding.ASCII.GetBytes($"request {i} " + new string('x', i % 700));
                    using var request = new HttpRequestMessage(HttpMethod.Post, $"https://127.0.0.1:{port}/echo") { Content = new ByteArrayContent(payload) };
                    request.Headers.ConnectionClose = true;
                    using var response = await client.SendAsync(request);
                    var body = await response.Content.ReadAsByteArrayAsync();
                    if (!body.AsSpan().SequenceEqual(payload)) shortBodies++;
                }
                return shortBodies;
            });
            // About 8 s alone; under the whole suite's parallel load on two cores it can take far longer.
            manager.Until(() => run.IsCompleted, TimeSpan.FromSeconds(180), "2,000 HTTPS posts");
            Assert.Equal(0, run.GetAwaiter().GetResult());
            manager.Until(() => log.Count(EventKind.Close) == 2000, what: "every server connection to close");
            Assert.Equal(2000, log.Count(EventKind.TlsHandshake));
            Assert.Equal(2000, log.Count(EventKind.HttpDone));
            Assert.Empty(log.Errors);
            log.AssertBalanced(listener);
            Assert.Equal(offLoop, TlsLayer.OffLoopContinuations);
        }
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void HttpClient_keeps_an_https_connection_alive_and_negotiates_http11_by_ALPN(PollerBackend backend)
    {
        var (manager, listener, log) = Start(backend: backend);
        using (manager)
        {
            using var client = Client();
            for (int i = 0; i < 10; i++)
            {
                var response = manager.Until(client.GetAsync($"https://127.0.0.1:{listener.LocalEndPoint!.Port}/alpn"));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
            Assert.Equal(1, log.Count(EventKind.TlsHandshake));
            // HttpClient offers ALPN only for HTTP/2; a client offering http/1.1 gets it (one offering h2
            // gets h2: tests/Meerkat.Tests/Http2/Http2ServerIntegrationTests.cs).
            var options = new TlsClientOptions { ServerName = "localhost", TrustedRoots = TestCertificates.Roots };
            options.ApplicationProtocols.Add(SslApplicationProtocol.Http11);
            var collector = new ResponseCollector("GET /alpn HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            manager.ConnectTls($"tls://127.0.0.1:{listener.LocalEndPoint!.Port}", collector.Handler, options);
            manager.Until(() => collector.IsClosed, what: "the ALPN request");
            Assert.Equal("http/1.1", Encoding.ASCII.GetString(collector.Body));
            Assert.Equal(SslApplicationProtocol.Http11, collector.Session!.ApplicationProtocol);
        }
    }

    [Fact]
    public void A_request_body_cut_short_without_close_notify_is_not_delivered_as_a_message()
    {
        var (manager, listener, log) = Start();
        using (manager)
        {
            int port = listener.LocalEndPoint!.Port;
            var peer = Task.Run(async () =>
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(IPAddress.Loopback, port);
                await using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: true);
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost", RemoteCertificateValidationCallback = (_, _, _, _) => true });
                await ssl.WriteAsync(Encoding.ASCII.GetBytes("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + new string('a', 400)));
                socket.Shutdown(SocketShutdown.Send);   // FIN without close_notify
                var rest = new byte[4096];
                try { while (await ssl.ReadAsync(rest) > 0) { } } catch (IOException) { }
            });
            manager.Until(peer);
            manager.Until(() => log.Count(EventKind.Close) == 1, what: "the server connection to close");
            Assert.Equal(1, log.Count(EventKind.HttpHeaders));
            Assert.Equal(0, log.Count(EventKind.HttpMessage));
            log.AssertBalanced(listener);
        }
    }

    [Fact]
    public void SNI_picks_the_certificate_by_host_name()
    {
        var tls = new TlsServerOptions { Certificate = TestCertificates.Localhost };
        var other = TestCertificates.Issue(["other.example"], DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        tls.AddCertificate("other.example", other);
        using var manager = Loop.Create(PollerBackend.Auto);
        var listener = manager.ListenTls("tls://127.0.0.1:0", null, tls);
        foreach (var (name, expected) in new[] { ("other.example", other), ("localhost", TestCertificates.Localhost) })
        {
            var collector = new ResponseCollector("x");
            manager.ConnectTls($"tls://127.0.0.1:{listener.LocalEndPoint!.Port}", collector.Handler, new TlsClientOptions { ServerName = name, TrustedRoots = TestCertificates.Roots });
            manager.Until(() => collector.Session is not null || collector.IsClosed, what: "the handshake");
            Assert.Empty(collector.Log.Errors);
            Assert.Equal(expected.Thumbprint, collector.Session!.RemoteCertificate!.Thumbprint);
        }
    }

    [Theory]
    [InlineData(ClientCertificateMode.Required, true, true)]
    [InlineData(ClientCertificateMode.Required, false, false)]
    [InlineData(ClientCertificateMode.Optional, false, true)]
    public void Client_certificates_are_asked_for_and_validated(ClientCertificateMode mode, bool send, bool accepted)
    {
        X509Certificate2? seen = null;
        var tls = new TlsServerOptions { Certificate = TestCertificates.Localhost, ClientCertificates = mode, ClientCertificateAuthorities = TestCertificates.Roots };
        using var manager = Loop.Create(PollerBackend.Auto);
        var serverLog = new EventLog();
        serverLog.Next = (c, e) => { if (e.Kind == EventKind.TlsHandshake) seen = c.TlsSession!.RemoteCertificate; };
        var listener = manager.ListenTls("tls://127.0.0.1:0", serverLog.Handler, tls);
        var client = new TlsClientOptions { ServerName = "localhost", TrustedRoots = TestCertificates.Roots, ClientCertificate = send ? TestCertificates.OtherHost : null };
        var collector = new ResponseCollector("x");
        manager.ConnectTls($"tls://127.0.0.1:{listener.LocalEndPoint!.Port}", collector.Handler, client);
        manager.Until(() => serverLog.Count(EventKind.TlsHandshake) + serverLog.Count(EventKind.Error) > 0, what: "the server handshake");
        if (accepted)
        {
            Assert.Empty(serverLog.Errors);
            Assert.Equal(send ? TestCertificates.OtherHost.Thumbprint : null, seen?.Thumbprint);
        }
        else
        {
            Assert.Equal(TlsFailure.CertificateMissing, Assert.IsType<TlsException>(Assert.Single(serverLog.Errors)).Reason);
        }
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_client_that_never_says_hello_times_out_and_the_lifecycle_balances(PollerBackend backend)
    {
        var tls = new TlsServerOptions { Certificate = TestCertificates.Localhost, HandshakeTimeout = TimeSpan.FromMilliseconds(300) };
        var (manager, listener, log) = Start(tls, backend);
        using (manager)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Connect(IPAddress.Loopback, listener.LocalEndPoint!.Port);
            manager.Until(() => log.Count(EventKind.Close) == 1, what: "the handshake timeout");
            var error = Assert.IsType<TlsException>(Assert.Single(log.Errors));
            Assert.Equal(TlsFailure.HandshakeTimeout, error.Reason);
            log.AssertBalanced(listener);
        }
    }

    [Fact]
    public void Https_listen_without_a_certificate_names_the_mistake()
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        var error = Assert.Throws<ArgumentException>(() => manager.ListenHttp("https://127.0.0.1:0", null));
        Assert.Contains("HttpServerOptions.Tls", error.Message);
    }

    [Fact]
    public void Pem_files_load_a_server_certificate()
    {
        var directory = Path.Combine(Path.GetTempPath(), "meerkat-tls-" + Guid.NewGuid().ToString("N"));
        try
        {
            var (cert, key) = TestCertificates.WritePem(TestCertificates.Localhost, directory);
            var (manager, listener, _) = Start(TlsServerOptions.FromPemFiles(cert, key));
            using (manager)
            {
                using var client = Client();
                var response = manager.Until(client.GetAsync($"https://127.0.0.1:{listener.LocalEndPoint!.Port}/"));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
