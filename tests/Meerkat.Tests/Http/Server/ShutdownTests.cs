// Graceful shutdown (Manager.Shutdown): listeners close, in-flight requests (deferred ones too)
// are answered with Connection: close, idle kept-alive connections close at once, then the loop stops.
using System.Collections.Concurrent;
using System.Net.Sockets;
using Meerkat.Http;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Http.Server;

public class ShutdownTests
{
    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Fifty_in_flight_deferred_requests_are_all_answered_new_connections_refused_then_the_manager_stops(PollerBackend backend)
    {
        const int Count = 50;
        var log = new ConcurrentQueue<LogEntry>();
        using var manager = Loop.Create(backend, o => o.Log = (in LogEntry entry) => log.Enqueue(entry));
        var pending = new ConcurrentQueue<long>();
        var outcomes = new List<HttpOutcome>();
        var listener = manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage) pending.Enqueue(c.Id); // deferred: answered by a worker below
            else if (e.Kind == EventKind.Wakeup) c.Reply(200, e.Data, "text/plain");
            else if (e.Kind == EventKind.HttpDone) outcomes.Add(e.Outcome);
        });
        int port = listener.LocalEndPoint!.Port;
        var idle = RawClient.Connect(port); // a kept-alive connection with nothing in flight
        idle.Send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n"u8);
        manager.Until(() => pending.Count == 1, what: "the idle client's request");
        pending.TryDequeue(out long first);
        manager.Wakeup(first, "first"u8);
        manager.Until(() => outcomes.Count == 1, what: "the first answer");
        RawClient.ReadUntil(idle, "first");

        // Sockets made and requests sent from this thread (50 blocking tasks would starve the thread pool).
        var clients = Enumerable.Range(0, Count).Select(i =>
        {
            var socket = RawClient.Connect(port);
            socket.Send(System.Text.Encoding.ASCII.GetBytes($"GET /deferred/{i} HTTP/1.1\r\nHost: x\r\n\r\n"));
            return socket;
        }).ToArray();
        manager.Until(() => pending.Count == Count, what: "all 50 requests to arrive");

        var run = manager.RunAsync();
        var shutdown = manager.ShutdownAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(0, idle.Receive(new byte[100])); // the idle connection is closed at once
        idle.Dispose();
        Assert.True(SpinWait.SpinUntil(() => listener.State == ConnectionState.Closed, Loop.Deadline), "the listener closes");
        var refused = Assert.Throws<SocketException>(() => RawClient.Connect(port));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        foreach (long id in pending) Assert.True(manager.Wakeup(id, System.Text.Encoding.ASCII.GetBytes($"answer {id}")));

        foreach (var socket in clients)
        {
            string text = RawClient.ReadToEnd(socket); // the manager runs on its own thread now
            socket.Dispose();
            Assert.StartsWith("HTTP/1.1 200 OK", text, StringComparison.Ordinal);
            Assert.Contains("Connection: close", text, StringComparison.Ordinal);
            Assert.Contains("answer ", text, StringComparison.Ordinal);
        }
        Assert.True(shutdown.Wait(Loop.Deadline), "the shutdown completes");
        Assert.True(run.Wait(Loop.Deadline), "Run returns once the shutdown is complete");
        Assert.Equal(Count + 1, outcomes.Count(o => o == HttpOutcome.Completed));
        Assert.Contains(log, l => l.EventName == "shutdown" && l.Message.Contains("complete", StringComparison.Ordinal));
        Assert.Empty(manager.Connections);
    }

    [Fact]
    public void A_second_shutdown_with_a_zero_deadline_closes_what_is_left_at_once()
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        var outcomes = new List<HttpOutcome>();
        int heads = 0;
        var listener = manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind == EventKind.HttpHeaders) heads++;
            if (e.Kind == EventKind.HttpDone) outcomes.Add(e.Outcome);
        });
        var client = RawClient.ExchangeAsync(listener.LocalEndPoint!.Port, "GET /never HTTP/1.1\r\nHost: x\r\n\r\n");
        manager.Until(() => heads == 1, what: "the request");
        var first = manager.ShutdownAsync(TimeSpan.FromHours(1));
        manager.Poll(0);
        Assert.False(first.IsCompleted);
        var second = manager.ShutdownAsync(TimeSpan.Zero);
        Assert.Same(first, second);
        manager.Until(() => second.IsCompleted, what: "the shutdown");
        Assert.Equal([HttpOutcome.Shutdown], outcomes);
        Assert.Equal("", manager.Until(client));
    }
}
