// Every transaction ends (DESIGN.md §3.4): each HttpHeaders gets exactly one HttpDone before Close,
// on every path, with the outcome that says how it ended. One test per path, over real sockets,
// with the lifecycle checker on (it fails the test if a Close comes before an open transaction's HttpDone).
using System.Net.Sockets;
using Meerkat.Http;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Http.Server;

public class TransactionEndTests
{
    /// <summary>A server whose handler is given; records the outcome of every HttpDone and counts heads.</summary>
    private sealed class Recorder
    {
        public readonly List<(HttpOutcome Outcome, Exception? Error)> Done = [];
        public readonly List<LogEntry> Log = [];
        public int Headers;
        public int Closes;

        public Manager Start(Action<Connection, Event> handler, out int port, HttpServerOptions? options = null, PollerBackend backend = PollerBackend.Auto)
        {
            var manager = Loop.Create(backend, o => { o.Log = (in LogEntry entry) => Log.Add(entry); });
            var listener = manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
            {
                if (e.Kind == EventKind.HttpHeaders) Headers++;
                if (e.Kind == EventKind.HttpDone) Done.Add((e.Outcome, e.Error));
                if (e.Kind == EventKind.Close && c.Role == ConnectionRole.Accepted) Closes++;
                handler(c, e);
            }, options);
            port = listener.LocalEndPoint!.Port;
            return manager;
        }

        public void AssertEndedOnce(HttpOutcome outcome)
        {
            Assert.Equal(Headers, Done.Count);
            Assert.Equal(outcome, Assert.Single(Done).Outcome);
        }
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_completed_transaction_ends_completed(PollerBackend backend)
    {
        var r = new Recorder();
        using var manager = r.Start((c, e) => { if (e.Kind == EventKind.HttpMessage) c.Reply(200, "ok"u8); }, out int port, backend: backend);
        var text = manager.Until(RawClient.ExchangeAsync(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        Assert.StartsWith("HTTP/1.1 200 OK", text, StringComparison.Ordinal);
        manager.Until(() => r.Closes == 1, what: "the close");
        r.AssertEndedOnce(HttpOutcome.Completed);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_peer_that_closes_mid_request_ends_it_as_peer_closed(PollerBackend backend)
    {
        var r = new Recorder();
        using var manager = r.Start((_, _) => { }, out int port, backend: backend);
        manager.Until(Task.Run(() =>
        {
            using var socket = RawClient.Connect(port);
            socket.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part"u8);
            socket.Shutdown(SocketShutdown.Send);
            RawClient.ReadToEnd(socket);
        }));
        manager.Until(() => r.Closes == 1, what: "the close");
        r.AssertEndedOnce(HttpOutcome.PeerClosed);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_peer_that_resets_mid_response_ends_it_as_reset(PollerBackend backend)
    {
        var r = new Recorder();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var manager = r.Start((c, e) =>
        {
            if (e.Kind != EventKind.HttpMessage) return;
            c.StreamResponse(200, -1, "application/octet-stream", destination => destination.Length); // never ends
            started.TrySetResult();
        }, out int port, backend: backend);
        var client = Task.Run(async () =>
        {
            using var socket = RawClient.Connect(port);
            socket.Send("GET /endless HTTP/1.1\r\nHost: x\r\n\r\n"u8);
            await started.Task;
            socket.Receive(new byte[1024]);
            socket.LingerState = new LingerOption(true, 0); // close with RST
            socket.Close();
        });
        manager.Until(client);
        manager.Until(() => r.Closes == 1, what: "the close");
        r.AssertEndedOnce(HttpOutcome.Reset);
    }

    [Fact]
    public void A_protocol_error_after_the_head_gets_400_and_ends_it_as_a_protocol_error()
    {
        var r = new Recorder();
        using var manager = r.Start((_, _) => { }, out int port);
        var text = manager.Until(RawClient.ExchangeAsync(port, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX"));
        Assert.StartsWith("HTTP/1.1 400 ", text, StringComparison.Ordinal);
        manager.Until(() => r.Closes == 1, what: "the close");
        r.AssertEndedOnce(HttpOutcome.ProtocolError);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_handler_that_throws_gets_500_the_exception_in_done_and_a_log_record(PollerBackend backend)
    {
        var r = new Recorder();
        var bug = new InvalidOperationException("the handler's bug");
        using var manager = r.Start((_, e) => { if (e.Kind == EventKind.HttpMessage) throw bug; }, out int port, backend: backend);
        var text = manager.Until(RawClient.ExchangeAsync(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n"));
        Assert.StartsWith("HTTP/1.1 500 Internal Server Error", text, StringComparison.Ordinal);
        Assert.Contains("Connection: close", text, StringComparison.Ordinal);
        Assert.Equal(1, RawClient.Occurrences(text, "HTTP/1.1"));
        manager.Until(() => r.Closes == 1, what: "the close");
        r.AssertEndedOnce(HttpOutcome.HandlerError);
        Assert.Same(bug, r.Done[0].Error);
        var entry = Assert.Single(r.Log, l => l.EventName == "handler-error");
        Assert.Equal(LogSeverity.Error, entry.Severity);
        Assert.Same(bug, entry.Exception);
        Assert.NotEqual(0, entry.ConnectionId);
    }

    [Fact]
    public void A_handler_that_throws_mid_response_aborts_it()
    {
        var r = new Recorder();
        using var manager = r.Start((c, e) =>
        {
            if (e.Kind != EventKind.HttpMessage) return;
            c.BeginResponse(200, 1000, "text/plain");
            c.WriteBody("partial"u8);
            throw new InvalidOperationException("half way");
        }, out int port);
        var text = manager.Until(RawClient.ExchangeAsync(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        Assert.DoesNotContain("500", text, StringComparison.Ordinal);
        manager.Until(() => r.Closes == 1, what: "the close");
        r.AssertEndedOnce(HttpOutcome.HandlerError);
    }

    [Fact]
    public void A_handler_that_throws_on_a_wakeup_during_a_deferred_request_ends_it_before_error_and_close()
    {
        var r = new Recorder();
        var events = new List<EventKind>();
        using var manager = r.Start((c, e) =>
        {
            if (e.Kind is EventKind.HttpDone or EventKind.Error or EventKind.Close) events.Add(e.Kind);
            if (e.Kind == EventKind.HttpMessage) c.Manager.Wakeup(c.Id);
            if (e.Kind == EventKind.Wakeup) throw new InvalidOperationException("worker result broke");
        }, out int port);
        manager.Until(RawClient.ExchangeAsync(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        manager.Until(() => r.Closes == 1, what: "the close");
        r.AssertEndedOnce(HttpOutcome.HandlerError);
        Assert.Equal([EventKind.HttpDone, EventKind.Error, EventKind.Close], events);
        Assert.Contains(r.Log, l => l.EventName == "handler-error");
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Disposing_the_manager_ends_a_deferred_transaction_as_disposed(PollerBackend backend)
    {
        var r = new Recorder();
        var manager = r.Start((_, _) => { }, out int port, backend: backend);
        var socket = RawClient.Connect(port);
        socket.Send("GET /deferred HTTP/1.1\r\nHost: x\r\n\r\n"u8);
        manager.Until(() => r.Headers == 1, what: "the request");
        manager.Dispose();
        socket.Dispose();
        Assert.Equal(1, r.Closes);
        r.AssertEndedOnce(HttpOutcome.Disposed);
    }

    [Fact]
    public void The_application_closing_the_connection_ends_the_transaction_as_cancelled()
    {
        var r = new Recorder();
        using var manager = r.Start((c, e) => { if (e.Kind == EventKind.HttpMessage) c.Close(); }, out int port);
        manager.Until(RawClient.ExchangeAsync(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        manager.Until(() => r.Closes == 1, what: "the close");
        r.AssertEndedOnce(HttpOutcome.Cancelled);
    }

    [Fact]
    public void A_shutdown_that_runs_out_of_time_ends_the_transaction_as_shutdown()
    {
        var r = new Recorder();
        using var manager = r.Start((_, _) => { }, out int port);
        var client = RawClient.ExchangeAsync(port, "GET /never-answered HTTP/1.1\r\nHost: x\r\n\r\n");
        manager.Until(() => r.Headers == 1, what: "the request");
        var shutdown = manager.ShutdownAsync(TimeSpan.FromMilliseconds(100));
        manager.Until(() => shutdown.IsCompleted, what: "the shutdown");
        Assert.Equal("", manager.Until(client));
        r.AssertEndedOnce(HttpOutcome.Shutdown);
        Assert.Contains(r.Log, l => l.EventName == "shutdown" && l.Severity == LogSeverity.Warning);
    }
}
