using System.Net;
using System.Net.Sockets;
using System.Text;
using Meerkat.Http;
using Meerkat.Tests.Core;
using Meerkat.Tls;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Meerkat.Tests.Tls;

public class TlsClientTests
{
    private const string Get = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

    private static TlsClientOptions Trusting() => new() { TrustedRoots = TestCertificates.Roots, ServerName = "localhost" };

    private static ResponseCollector Fetch(Manager manager, int port, TlsClientOptions? options = null, string request = Get)
    {
        var collector = new ResponseCollector(request);
        manager.ConnectTls($"tls://127.0.0.1:{port}", collector.Handler, options ?? Trusting());
        manager.Until(() => collector.IsClosed, what: "the TLS connection to close");
        return collector;
    }

    [Fact]
    public async Task Two_thousand_requests_to_Kestrel_closing_at_once_lose_no_body_byte()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.UseUrls("https://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(o => o.ConfigureHttpsDefaults(h => h.ServerCertificate = TestCertificates.Localhost));
        await using var app = builder.Build();
        var body = SslStreamPeer.Body(3000);
        app.MapGet("/", (HttpContext context) =>
        {
            context.Response.Headers.Connection = "close";
            return context.Response.Body.WriteAsync(body).AsTask();
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        int port = new Uri(app.Urls.First()).Port;
        int offLoop = TlsLayer.OffLoopContinuations;
        using var manager = Loop.Create(PollerBackend.Auto);
        var log = new EventLog();
        int complete = 0;
        for (int i = 0; i < 2000; i++)
        {
            var collector = new ResponseCollector(Get, log);
            manager.ConnectTls($"tls://127.0.0.1:{port}", collector.Handler, Trusting());
            manager.Until(() => collector.IsClosed, what: $"request {i}");
            Assert.True(collector.IsComplete, $"request {i}: incomplete response ({collector.Body.Length} bytes, {collector.ParseError})");
            Assert.Equal(200, collector.Status);
            Assert.Equal(body, collector.Body);
            complete++;
        }
        Assert.Equal(2000, complete);
        Assert.Equal(2000, log.Count(EventKind.TlsHandshake));
        Assert.Empty(log.Errors);
        log.AssertBalanced();
        Assert.Equal(offLoop, TlsLayer.OffLoopContinuations);
        await app.StopAsync(TestContext.Current.CancellationToken);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_peer_sending_its_last_records_and_FIN_in_one_segment_is_read_to_the_end(PollerBackend backend)
    {
        using var peer = new SslStreamPeer();
        var body = SslStreamPeer.Body(100_000);
        var served = peer.ServeOnceAsync(async (socket, ssl, capture) =>
        {
            capture.IsCapturing = true;
            await ssl.WriteAsync(Encoding.ASCII.GetBytes(SslStreamPeer.Head(body.Length)));
            await ssl.WriteAsync(body);
            await ssl.ShutdownAsync();
            socket.Send(capture.Captured.ToArray());
            socket.Shutdown(SocketShutdown.Send);
        });
        using var manager = Loop.Create(backend);
        var collector = Fetch(manager, peer.Port);
        manager.Until(served);
        Assert.True(collector.IsComplete);
        Assert.Equal(body, collector.Body);
        collector.Log.AssertBalanced();
        // Handshake records raise Write events; TlsHandshake comes after Connect and before any Read.
        var kinds = collector.Kinds.Where(k => k != EventKind.Write).ToList();
        Assert.Equal([EventKind.Open, EventKind.Resolve, EventKind.Connect, EventKind.TlsHandshake, EventKind.Read], kinds.Take(5));
    }

    [Fact]
    public void A_peer_writing_one_record_per_body_byte_is_read_whole()
    {
        using var peer = new SslStreamPeer();
        var body = SslStreamPeer.Body(3000);
        var served = peer.ServeOnceAsync(async (socket, ssl, _) =>
        {
            await ssl.WriteAsync(Encoding.ASCII.GetBytes(SslStreamPeer.Head(body.Length)));
            for (int i = 0; i < body.Length; i++)
            {
                await ssl.WriteAsync(body.AsMemory(i, 1));
                await ssl.FlushAsync();
            }
            await ssl.ShutdownAsync();
            socket.Shutdown(SocketShutdown.Send);
        });
        using var manager = Loop.Create(PollerBackend.Auto);
        var collector = Fetch(manager, peer.Port);
        manager.Until(served);
        Assert.True(collector.IsComplete);
        Assert.Equal(body, collector.Body);
        collector.Log.AssertBalanced();
    }

    [Fact]
    public void A_peer_closing_without_close_notify_mid_body_is_an_incomplete_message_not_a_success()
    {
        using var peer = new SslStreamPeer();
        var body = SslStreamPeer.Body(1000);
        var served = peer.ServeOnceAsync(async (socket, ssl, _) =>
        {
            await ssl.WriteAsync(Encoding.ASCII.GetBytes(SslStreamPeer.Head(body.Length)));
            await ssl.WriteAsync(body.AsMemory(0, 400));
            socket.Shutdown(SocketShutdown.Send);   // FIN, no close_notify
        });
        using var manager = Loop.Create(PollerBackend.Auto);
        var collector = Fetch(manager, peer.Port);
        manager.Until(served);
        Assert.False(collector.IsComplete);
        Assert.Equal(400, collector.Body.Length);
        Assert.NotNull(collector.ParseError);
        collector.Log.AssertBalanced();
    }

    [Theory]
    [InlineData("untrusted", TlsFailure.Untrusted, "not trusted")]
    [InlineData("expired", TlsFailure.Expired, "expired")]
    [InlineData("wrong-host", TlsFailure.NameMismatch, "name mismatch")]
    public void Bad_server_certificates_are_refused_with_the_reason_and_accepted_only_with_the_opt_out(string kind, TlsFailure reason, string words)
    {
        var certificate = kind switch
        {
            "untrusted" => TlsCertificates.CreateSelfSigned(["localhost"]),
            "expired" => TestCertificates.Expired,
            _ => TestCertificates.OtherHost,
        };
        using var manager = Loop.Create(PollerBackend.Auto);
        var serverLog = new EventLog();
        serverLog.Next = (c, e) => { if (e.Kind == EventKind.Read) { c.Send(Encoding.ASCII.GetBytes(SslStreamPeer.Head(2) + "ok")); c.CloseAfterDrain(); } };
        var listener = manager.ListenTls("tls://127.0.0.1:0", serverLog.Handler, new TlsServerOptions { Certificate = certificate });
        int port = listener.LocalEndPoint!.Port;

        var refused = Fetch(manager, port);
        var error = Assert.IsType<TlsException>(Assert.Single(refused.Log.Errors));
        Assert.Equal(reason, error.Reason);
        Assert.Contains(words, error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(EventKind.TlsHandshake, refused.Kinds);
        Assert.Equal([EventKind.Error, EventKind.Close], refused.Kinds.TakeLast(2));

        var insecure = Fetch(manager, port, new TlsClientOptions { ServerName = "localhost", AllowInvalidCertificates = true });
        Assert.True(insecure.IsComplete);
        Assert.Equal("ok"u8.ToArray(), insecure.Body);
        Assert.Empty(insecure.Log.Errors);
        manager.Until(() => serverLog.Count(EventKind.Close) == 2, what: "the server connections to close");
        serverLog.AssertBalanced(listener);
        refused.Log.AssertBalanced();
    }

    [Fact]
    public void The_system_store_does_not_trust_a_test_CA_by_default()
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        var listener = manager.ListenTls("tls://127.0.0.1:0", null, new TlsServerOptions { Certificate = TestCertificates.Localhost });
        var refused = Fetch(manager, listener.LocalEndPoint!.Port, new TlsClientOptions { ServerName = "localhost" });
        Assert.Equal(TlsFailure.Untrusted, Assert.IsType<TlsException>(Assert.Single(refused.Log.Errors)).Reason);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_server_that_never_answers_the_handshake_times_out_and_the_lifecycle_balances(PollerBackend backend)
    {
        using var manager = Loop.Create(backend);
        var silent = manager.Listen("tcp://127.0.0.1:0", null);
        var collector = new ResponseCollector(Get);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        manager.ConnectTls($"tls://127.0.0.1:{silent.LocalEndPoint!.Port}", collector.Handler, new TlsClientOptions { HandshakeTimeout = TimeSpan.FromMilliseconds(300) });
        manager.Until(() => collector.IsClosed, what: "the handshake timeout");
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10));
        var error = Assert.IsType<TlsException>(Assert.Single(collector.Log.Errors));
        Assert.Equal(TlsFailure.HandshakeTimeout, error.Reason);
        Assert.Contains("timed out", error.Message);
        collector.Log.AssertBalanced();
    }
}
