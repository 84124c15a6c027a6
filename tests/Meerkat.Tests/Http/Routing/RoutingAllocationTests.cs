// A routed keep-alive request costs no allocation on the loop thread (DESIGN.md §6), with 50
// routes registered, measured with GC.GetAllocatedBytesForCurrentThread as for the plain server.
using System.Net.Sockets;
using Meerkat.Http;
using Meerkat.Http.Routing;
using Meerkat.Tests.Core;
using Meerkat.Tests.Http.Server;

namespace Meerkat.Tests.Http.Routing;

[Collection(Serial.Name)]
public class RoutingAllocationTests
{
    /// <summary>50 routes of every shape: literals, captures, catch-alls, several methods per path.</summary>
    internal static Router FiftyRoutes(out Func<int> answered)
    {
        var router = new Router();
        int count = 0;
        answered = () => count;
        RouteHandler ok = (c, e, route) => { count++; c.Reply(200, "ok"u8, "text/plain"); };
        for (int i = 0; i < 10; i++)
        {
            router.MapGet($"/api/v{i}/items", ok);
            router.MapPost($"/api/v{i}/items", ok);
            router.MapPut($"/api/v{i}/items/{{id}}", ok);
            router.MapDelete($"/api/v{i}/items/{{id}}", ok);
        }
        for (int i = 0; i < 6; i++) router.MapGet($"/static{i}/{{*path}}", ok);
        router.MapGet("/users/{user}/posts/{post}", ok);
        router.MapGet("/health", ok);
        router.MapGet("/api/v9/items/{id}", (c, e, route) =>
        {
            count++;
            c.Reply(route.TryGetInt64("id", out long id) && id == 42 ? 200 : 400, "item"u8, "text/plain");
        });
        router.MapGet("/plaintext", (c, e, route) =>
        {
            count++;
            c.Reply(200, "Hello, World!"u8, "text/plain");
        });
        return router;
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_routed_keep_alive_request_allocates_nothing_on_the_loop_thread_with_50_routes(PollerBackend backend)
    {
        if (backend == PollerBackend.Portable) Assert.Skip("Socket.Select builds its lists per wait; the zero-allocation path is the epoll backend");
        const int WarmUp = 2_000, Measured = 5_000;
        var router = FiftyRoutes(out var answered);
        Assert.Equal(50, router.Routes.Count);
        using var manager = Loop.Create(backend, o => o.CheckInvariants = false);
        var listener = manager.ListenHttp("http://127.0.0.1:0", router.Handle);
        int port = listener.LocalEndPoint!.Port;
        var go = new SemaphoreSlim(0);
        var client = Task.Run(() =>
        {
            using var socket = RawClient.Connect(port);
            byte[][] requests =
            [
                "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(),
                "GET /api/v9/items/42 HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(),
            ];
            var buffer = new byte[4096];
            int sent = 0;
            for (int round = 0; round < 2; round++)
            {
                go.Wait();
                for (int i = 0; i < (round == 0 ? WarmUp : Measured); i++)
                {
                    var request = requests[sent++ % 2];
                    socket.Send(request);
                    var end = request.Length > 40 ? "item"u8 : "Hello, World!"u8;
                    int got = 0;
                    do got += socket.Receive(buffer, got, buffer.Length - got, SocketFlags.None) is var n && n > 0 ? n : throw new IOException("closed");
                    while (!buffer.AsSpan(0, got).EndsWith(end));
                    if (!buffer.AsSpan(0, got).StartsWith("HTTP/1.1 200 "u8)) throw new IOException("not 200");
                }
            }
        });
        go.Release();
        manager.Until(() => answered() >= WarmUp || client.IsFaulted);
        long before = GC.GetAllocatedBytesForCurrentThread();
        go.Release();
        while (answered() < WarmUp + Measured && !client.IsFaulted) manager.Poll(100);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        client.Wait(Loop.Deadline);
        Assert.Equal(0, allocated);
    }
}
