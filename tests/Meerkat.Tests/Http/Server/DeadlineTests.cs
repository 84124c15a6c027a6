// Slow and stalled peers over real sockets: each is cut within its limit while another client on
// the same manager keeps being served.
using System.Diagnostics;
using System.Net.Sockets;
using Meerkat.Http;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Http.Server;

public class DeadlineTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMilliseconds(400);

    private static (Manager Manager, int Port, System.Collections.Concurrent.ConcurrentQueue<HttpOutcome> Outcomes) Start(HttpServerOptions options, PollerBackend backend)
    {
        var manager = Loop.Create(backend);
        var outcomes = new System.Collections.Concurrent.ConcurrentQueue<HttpOutcome>();
        var listener = manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind == EventKind.HttpDone) outcomes.Enqueue(e.Outcome);
            if (e.Kind != EventKind.HttpMessage) return;
            if (!e.Request!.PathIs("/big"u8))
            {
                c.Reply(200, "ok"u8, "text/plain");
                return;
            }
            long remaining = 256L * 1024 * 1024; // streamed: the transaction stays open until it is all sent
            c.StreamResponse(200, remaining, "application/octet-stream", destination =>
            {
                int n = (int)Math.Min(destination.Length, remaining);
                remaining -= n;
                return n;
            });
        }, options);
        return (manager, listener.LocalEndPoint!.Port, outcomes);
    }

    /// <summary>Runs <paramref name="slow"/> (which returns what the server sent) while a well-behaved
    /// client makes requests; returns the slow peer's result and how long it took.</summary>
    private static (string Text, TimeSpan Elapsed, int Served) WhileOthersAreServed(Manager manager, int port, Func<Socket, string> slow)
    {
        var clock = Stopwatch.StartNew();
        var cut = Task.Run(() =>
        {
            using var socket = RawClient.Connect(port);
            var text = slow(socket);
            return (text, clock.Elapsed);
        });
        int served = 0;
        var good = Task.Run(() =>
        {
            using var socket = RawClient.Connect(port);
            while ((!cut.IsCompleted || served < 3) && served < 10_000)
            {
                socket.Send("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"u8);
                RawClient.ReadUntil(socket, "ok");
                served++;
            }
        });
        var (text, elapsed) = manager.Until(cut);
        manager.Until(good);
        return (text, elapsed, served);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_slow_head_gets_408_within_its_deadline(PollerBackend backend)
    {
        var (manager, port, _) = Start(new HttpServerOptions { HeaderTimeout = Limit }, backend);
        using (manager)
        {
            var (text, elapsed, served) = WhileOthersAreServed(manager, port, socket =>
            {
                socket.Send("GET /slow HTTP/1.1\r\nHost: x\r\n"u8);
                return RawClient.ReadToEnd(socket);
            });
            Assert.StartsWith("HTTP/1.1 408 ", text, StringComparison.Ordinal);
            Assert.InRange(elapsed, Limit, Limit * 5);
            Assert.True(served > 0);
        }
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_slow_body_gets_408_after_the_grace_period_and_the_transaction_ends_with_deadline(PollerBackend backend)
    {
        var (manager, port, outcomes) = Start(new HttpServerOptions { MinRequestBodyDataRate = 240, MinRequestBodyDataRateGracePeriod = Limit }, backend);
        using (manager)
        {
            var (text, elapsed, served) = WhileOthersAreServed(manager, port, socket =>
            {
                socket.Send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123456789"u8);
                return RawClient.ReadToEnd(socket);
            });
            Assert.StartsWith("HTTP/1.1 408 ", text, StringComparison.Ordinal);
            Assert.InRange(elapsed, Limit, Limit * 5);
            Assert.True(served > 0);
            manager.Until(() => outcomes.Contains(HttpOutcome.Deadline), what: "the slow transaction's HttpDone");
        }
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_client_that_stops_reading_is_cut_after_the_send_stall_timeout(PollerBackend backend)
    {
        var (manager, port, outcomes) = Start(new HttpServerOptions { SendStallTimeout = Limit }, backend);
        using (manager)
        {
            var (_, elapsed, served) = WhileOthersAreServed(manager, port, socket =>
            {
                socket.ReceiveBufferSize = 4096;
                socket.Send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"u8);
                // Read nothing: the 32 MiB response backs up. Wait until the server gives up on us.
                while (!outcomes.Contains(HttpOutcome.Deadline)) Thread.Yield();
                return "";
            });
            Assert.InRange(elapsed, Limit, Limit * 5 + TimeSpan.FromSeconds(1));
            Assert.True(served > 0);
        }
    }
}
