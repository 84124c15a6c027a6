using System.Collections.Concurrent;
using System.Net.Sockets;
using Meerkat.Http;
using Meerkat.Tests.Core;
using Meerkat.Tests.Http.Server;
using Meerkat.Tests.Tls;
using Meerkat.Tls;

namespace Meerkat.Tests.Diagnostics;

/// <summary>What the manager's log hook tells an operator: each record's severity, event name,
/// message and connection id.</summary>
public sealed class LogEventTests
{
    private sealed class LogRecorder
    {
        public ConcurrentQueue<LogEntry> Entries { get; } = new();

        public void Record(in LogEntry entry) => Entries.Enqueue(entry);

        public LogEntry Single(string eventName) => Assert.Single(Entries, e => e.EventName == eventName);
    }

    private static Manager Create(PollerBackend backend, LogRecorder log, LogSeverity minimum = LogSeverity.Information, int maxConnections = 10_000) =>
        Loop.Create(backend, o =>
        {
            o.Log = log.Record;
            o.MinimumLogSeverity = minimum;
            o.MaxConnections = maxConnections;
        });

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Listening_and_a_failed_bind_are_logged(PollerBackend backend)
    {
        var log = new LogRecorder();
        using var manager = Create(backend, log);
        var listener = manager.ListenHttp("http://127.0.0.1:0", null);
        int port = listener.LocalEndPoint!.Port;
        // An address this host does not have (TEST-NET-1, RFC 5737): bind fails, nothing is sent.
        Assert.ThrowsAny<SocketException>(() => manager.ListenHttp("http://192.0.2.1:8080", null));

        var listen = log.Single("listen");
        Assert.Equal(LogSeverity.Information, listen.Severity);
        Assert.Equal($"listening on tcp://127.0.0.1:{port}", listen.Message);
        Assert.Equal(listener.Id, listen.ConnectionId);
        var failed = log.Single("listen-failed");
        Assert.Equal(LogSeverity.Error, failed.Severity);
        Assert.StartsWith("cannot listen on http://192.0.2.1:8080:", failed.Message);
        Assert.IsType<SocketException>(failed.Exception);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_handler_error_is_logged_with_its_exception_and_connection(PollerBackend backend)
    {
        var log = new LogRecorder();
        using var manager = Create(backend, log);
        long id = 0;
        var listener = manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind != EventKind.HttpMessage) return;
            id = c.Id;
            throw new InvalidOperationException("the handler broke");
        });
        var answer = manager.Until(RawClient.ExchangeAsync(listener.LocalEndPoint!.Port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        Assert.StartsWith("HTTP/1.1 500", answer);
        var entry = log.Single("handler-error");
        Assert.Equal(LogSeverity.Error, entry.Severity);
        Assert.Equal(id, entry.ConnectionId);
        Assert.Equal("the handler broke", entry.Exception!.Message);
        Assert.Contains("HttpMessage", entry.Message);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Hitting_the_connection_limit_is_logged_once_a_second_with_the_count(PollerBackend backend)
    {
        var log = new LogRecorder();
        using var manager = Create(backend, log, maxConnections: 1);
        int accepted = 0;
        var listener = manager.Listen("tcp://127.0.0.1:0", (c, e) => { if (e.Kind == EventKind.Accept) accepted++; });
        int port = listener.LocalEndPoint!.Port;
        using var first = RawClient.Connect(port);
        manager.Until(() => accepted == 1, what: "the first connection");
        using var second = RawClient.Connect(port);
        using var third = RawClient.Connect(port);
        manager.Until(() => log.Entries.Any(e => e.EventName == "connection-limit"), what: "the log record");
        var entry = log.Single("connection-limit");
        Assert.Equal(LogSeverity.Warning, entry.Severity);
        Assert.StartsWith("MaxConnections (1) reached: ", entry.Message);
        Assert.Equal(listener.Id, entry.ConnectionId);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_refused_request_is_logged_at_debug_only(PollerBackend backend)
    {
        var quiet = new LogRecorder();
        var verbose = new LogRecorder();
        using var manager = Create(backend, quiet);
        using var debugging = Create(backend, verbose, LogSeverity.Debug);
        int quietPort = manager.ListenHttp("http://127.0.0.1:0", null).LocalEndPoint!.Port;
        int verbosePort = debugging.ListenHttp("http://127.0.0.1:0", null).LocalEndPoint!.Port;
        Assert.StartsWith("HTTP/1.1 400", manager.Until(RawClient.ExchangeAsync(quietPort, "NOT HTTP\r\n\r\n")));
        Assert.StartsWith("HTTP/1.1 400", debugging.Until(RawClient.ExchangeAsync(verbosePort, "NOT HTTP\r\n\r\n")));
        Assert.DoesNotContain(quiet.Entries, e => e.EventName == "request-rejected");
        var entry = verbose.Single("request-rejected");
        Assert.Equal(LogSeverity.Debug, entry.Severity);
        Assert.Contains("refused with 400", entry.Message);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_failed_TLS_handshake_is_logged_with_the_reason(PollerBackend backend)
    {
        var log = new LogRecorder();
        using var manager = Create(backend, log);
        bool closed = false;
        var listener = manager.ListenHttp("https://127.0.0.1:0", (c, e) => { if (e.Kind == EventKind.Close) closed = true; },
            new HttpServerOptions { Tls = new TlsServerOptions { Certificate = TestCertificates.Localhost } });
        using var socket = RawClient.Connect(listener.LocalEndPoint!.Port);
        socket.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8); // plain text to a TLS port
        manager.Until(() => closed, what: "the close");
        var entry = log.Single("tls-failed");
        Assert.Equal(LogSeverity.Warning, entry.Severity);
        Assert.IsType<TlsException>(entry.Exception);
        Assert.Contains("TLS handshake", entry.Message);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_graceful_shutdown_is_logged_at_start_and_end(PollerBackend backend)
    {
        var log = new LogRecorder();
        using var manager = Create(backend, log);
        manager.ListenHttp("http://127.0.0.1:0", null);
        var done = manager.ShutdownAsync(TimeSpan.FromSeconds(5));
        manager.Until(() => done.IsCompleted, what: "the shutdown");
        var records = log.Entries.Where(e => e.EventName == "shutdown").ToList();
        Assert.Equal(2, records.Count);
        Assert.StartsWith("shutting down", records[0].Message);
        Assert.Equal("shutdown complete: every connection closed", records[1].Message);
    }

    [Fact]
    public void Nothing_below_the_minimum_severity_reaches_the_hook()
    {
        var log = new LogRecorder();
        using var manager = Create(PollerBackend.Epoll, log, LogSeverity.Warning);
        manager.ListenHttp("http://127.0.0.1:0", null);
        Assert.Empty(log.Entries); // "listen" is Information
    }
}
