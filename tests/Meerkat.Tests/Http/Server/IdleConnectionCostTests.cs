using System.Net.Sockets;
using Meerkat.Http;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Http.Server;

/// <summary>An idle keep-alive connection costs little (issue 11: at most 2 KiB of the server's memory):
/// between requests it holds no per-request state (that goes back to the listener's pool), and what
/// accepting it leaves behind on the loop thread stays within a budget.</summary>
[Collection(Serial.Name)]
public class IdleConnectionCostTests
{
    private static readonly byte[] Get = "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray();

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Connections_between_requests_hold_no_request_state_and_share_one_pooled_workspace(PollerBackend backend)
    {
        using var manager = Loop.Create(backend);
        var accepted = new List<Connection>();
        int done = 0;
        var listener = manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind == EventKind.Accept) accepted.Add(c);
            else if (e.Kind == EventKind.HttpMessage) c.Reply(200, "Hello, World!"u8, "text/plain");
            else if (e.Kind == EventKind.HttpDone) done++;
        });
        int port = listener.LocalEndPoint!.Port;
        var clients = new List<Socket>();
        try
        {
            for (int i = 0; i < 6; i++)
            {
                // Three connections, asked in turn, each idle before the next asks: one workspace serves them all.
                if (i < 3) clients.Add(RawClient.Connect(port));
                var client = clients[i % 3];
                client.Send(Get);
                Assert.EndsWith("Hello, World!", manager.Until(Task.Run(() => ReadResponse(client))));
                manager.Until(() => done == i + 1, what: $"request {i + 1}");
                foreach (var c in accepted) Assert.False(((HttpServerProtocol)c.Protocol!).Core.HoldsWorkspace, $"connection #{c.Id} holds request state while idle");
                Assert.Equal(1, ((HttpServerProtocol)accepted[0].Protocol!).Core.Pool.KeptCount);
            }
        }
        finally
        {
            foreach (var client in clients) client.Dispose();
        }
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void An_idle_connection_allocates_within_its_budget_on_the_loop_thread(PollerBackend backend)
    {
        if (backend == PollerBackend.Portable) Assert.Skip("Socket.Select builds its lists per wait; the budget is the epoll backend's");
        // Measured 2026-12-05: about 800 bytes (the connection and its empty buffers, the peer's address,
        // the HTTP protocol and its core, the manager's index entry). The budget leaves room for a few
        // fields, not for per-request state or a .NET Socket per connection coming back (each ~400 bytes and more).
        const int Budget = 1024, Count = 64;
        using var manager = Loop.Create(backend, o => o.CheckInvariants = false);
        int done = 0;
        var listener = manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage) c.Reply(200, "Hello, World!"u8, "text/plain");
            else if (e.Kind == EventKind.HttpDone) done++;
        });
        int port = listener.LocalEndPoint!.Port;
        // Warm-up: the code paths, the pools and the manager's tables grown past Count, then emptied.
        using (var warm = new ClientBatch(port, 2 * Count))
        {
            PollUntil(manager, () => done == 2 * Count);
            Assert.True(warm.Completed.Wait(Loop.Deadline));
        }
        PollUntil(manager, () => manager.Connections.Count == 1); // only the listener is left
        using var batch = new ClientBatch(port, Count);
        long before = GC.GetAllocatedBytesForCurrentThread();
        PollUntil(manager, () => done == 3 * Count);
        long perConnection = (GC.GetAllocatedBytesForCurrentThread() - before) / Count;
        Assert.True(batch.Completed.Wait(Loop.Deadline));
        Assert.True(perConnection <= Budget, $"an idle keep-alive connection allocated {perConnection} bytes on the loop thread (budget {Budget})");
    }

    /// <summary>Polls without allocating on this thread (no closure or stopwatch per call beyond the caller's).</summary>
    private static void PollUntil(Manager manager, Func<bool> condition)
    {
        long deadline = Environment.TickCount64 + (long)Loop.Deadline.TotalMilliseconds;
        while (!condition())
        {
            if (Environment.TickCount64 > deadline) Assert.Fail("timed out waiting for the connections");
            manager.Poll(10);
        }
    }

    private static string ReadResponse(Socket client)
    {
        var buffer = new byte[4096];
        int got = 0;
        while (!buffer.AsSpan(0, got).EndsWith("Hello, World!"u8))
        {
            int n = client.Receive(buffer, got, buffer.Length - got, SocketFlags.None);
            if (n == 0) throw new IOException("the server closed the connection");
            got += n;
        }
        return System.Text.Encoding.Latin1.GetString(buffer, 0, got);
    }

    /// <summary>Count keep-alive connections, opened off the loop thread, each making one request and
    /// then staying open until disposed.</summary>
    private sealed class ClientBatch : IDisposable
    {
        private readonly List<Socket> sockets = [];

        public ClientBatch(int port, int count) => Completed = Task.Run(() =>
        {
            for (int i = 0; i < count; i++)
            {
                var socket = RawClient.Connect(port);
                lock (sockets) sockets.Add(socket);
                socket.Send(Get);
                ReadResponse(socket);
            }
        });

        public Task Completed { get; }

        public void Dispose()
        {
            Completed.Wait(Loop.Deadline);
            lock (sockets) foreach (var socket in sockets) socket.Dispose();
        }
    }
}
