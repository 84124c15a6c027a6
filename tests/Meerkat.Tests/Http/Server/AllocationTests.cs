using System.Net.Sockets;
using Meerkat.Http;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Http.Server;

[Collection(Serial.Name)]
public class AllocationTests
{
    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_keep_alive_plaintext_request_allocates_nothing_on_the_loop_thread_after_warm_up(PollerBackend backend)
    {
        if (backend == PollerBackend.Portable) Assert.Skip("Socket.Select builds its lists per wait; the zero-allocation path is the epoll backend");
        const int WarmUp = 2_000, Measured = 5_000;
        using var manager = Loop.Create(backend, o => o.CheckInvariants = false);
        int done = 0;
        var listener = manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage) c.Reply(200, "Hello, World!"u8, "text/plain");
            else if (e.Kind == EventKind.HttpDone) done++;
        });
        int port = listener.LocalEndPoint!.Port;
        var go = new SemaphoreSlim(0);
        var client = Task.Run(() =>
        {
            using var socket = RawClient.Connect(port);
            var request = "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray();
            var buffer = new byte[4096];
            for (int round = 0; round < 2; round++)
            {
                go.Wait();
                for (int i = 0; i < (round == 0 ? WarmUp : Measured); i++)
                {
                    socket.Send(request);
                    int got = 0;
                    while (got < 100) got += socket.Receive(buffer, got, buffer.Length - got, SocketFlags.None) is var n && n > 0 ? n : throw new IOException("closed");
                    // Responses are fixed-size here except the Date header, always 29 bytes.
                    while (!buffer.AsSpan(0, got).EndsWith("Hello, World!"u8)) got += socket.Receive(buffer, got, buffer.Length - got, SocketFlags.None);
                }
            }
        });
        go.Release();
        while (done < WarmUp) manager.Poll(100);
        long before = GC.GetAllocatedBytesForCurrentThread();
        go.Release();
        while (done < WarmUp + Measured) manager.Poll(100);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        client.Wait(Loop.Deadline);
        Assert.Equal(0, allocated);
    }
}
